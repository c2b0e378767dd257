//! RFC 6381 codec strings for the CODECS attribute, read from the encoder's real output.

/// The codec string of AAC Low Complexity audio, which is what we encode.
pub const AAC_LC: &str = "mp4a.40.2";

/// Reads the first sequence parameter set in an Annex B H.264 bitstream (the first keyframe
/// packet of an encoder) and returns its codec string, `avc1.PPCCLL`: profile, constraint
/// flags and level as the stream really declares them.
///
/// ```
/// use hls_ladder::hls::avc_codec_string;
/// let keyframe = [0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac];
/// assert_eq!(avc_codec_string(&keyframe).as_deref(), Some("avc1.64001f"));
/// ```
pub fn avc_codec_string(annex_b: &[u8]) -> Option<String> {
    let mut i = 0;
    while i + 3 < annex_b.len() {
        let start_code = annex_b[i] == 0 && annex_b[i + 1] == 0 && annex_b[i + 2] == 1;
        if start_code {
            let nal = &annex_b[i + 3..];
            if nal.first().map(|b| b & 0x1f) == Some(7) && nal.len() >= 4 {
                return Some(format!("avc1.{:02x}{:02x}{:02x}", nal[1], nal[2], nal[3]));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

/// (level_idc, max macroblocks per second, max frame size in macroblocks, max bitrate in kb/s
/// for Baseline/Main) from table A-1 of ITU-T H.264.
const LEVELS: [(u8, u64, u64, u64); 16] = [
    (10, 1_485, 99, 64),
    (11, 3_000, 396, 192),
    (12, 6_000, 396, 384),
    (13, 11_880, 396, 768),
    (20, 11_880, 396, 2_000),
    (21, 19_800, 792, 4_000),
    (22, 20_250, 1_620, 4_000),
    (30, 40_500, 1_620, 10_000),
    (31, 108_000, 3_600, 14_000),
    (32, 216_000, 5_120, 20_000),
    (40, 245_760, 8_192, 20_000),
    (41, 245_760, 8_192, 50_000),
    (42, 522_240, 8_704, 50_000),
    (50, 589_824, 22_080, 135_000),
    (51, 983_040, 36_864, 240_000),
    (52, 2_073_600, 36_864, 240_000),
];

/// Whether a picture of this size at this frame rate fits H.264 level 5.2, the highest
/// Apple's HLS authoring specification allows (4K up to 64 frames a second; 1440p up to 144).
///
/// ```
/// assert!(hls_ladder::hls::fits_level_5_2(3840, 2160, 60.0));
/// assert!(!hls_ladder::hls::fits_level_5_2(3840, 2160, 120.0));
/// assert!(hls_ladder::hls::fits_level_5_2(2560, 1440, 120.0));
/// ```
pub fn fits_level_5_2(width: u32, height: u32, fps: f64) -> bool {
    let (_, max_mbps, max_fs, _) = LEVELS[LEVELS.len() - 1];
    let (w, h) = (
        u64::from(width.div_ceil(16)),
        u64::from(height.div_ceil(16)),
    );
    let mbs = w * h;
    mbs <= max_fs
        && w * w <= 8 * max_fs
        && h * h <= 8 * max_fs
        && (mbs as f64 * fps).ceil() as u64 <= max_mbps
}

/// The lowest H.264 level a High-profile stream of this size, frame rate and peak bitrate fits
/// in, as x264 picks it. Used to predict the codec string before encoding; the published
/// playlist uses [`avc_codec_string`] on the real output instead.
///
/// ```
/// assert_eq!(hls_ladder::hls::h264_high_level(1280, 720, 30.0, 3_080_000), 31);
/// ```
pub fn h264_high_level(width: u32, height: u32, fps: f64, max_bitrate: u32) -> u8 {
    let mbs = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    let mb_rate = (mbs as f64 * fps).ceil() as u64;
    let kbps = u64::from(max_bitrate).div_ceil(1000);
    let side_fits = |max_fs: u64| {
        let (w, h) = (
            u64::from(width.div_ceil(16)),
            u64::from(height.div_ceil(16)),
        );
        w * w <= 8 * max_fs && h * h <= 8 * max_fs
    };
    LEVELS
        .iter()
        .find(|(_, max_mbps, max_fs, max_br)| {
            mbs <= *max_fs && side_fits(*max_fs) && mb_rate <= *max_mbps && kbps <= max_br * 5 / 4
        })
        .map(|(level, ..)| *level)
        .unwrap_or(52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sps_is_found_after_an_access_unit_delimiter_and_three_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x4d, 0x40, 0x28, 0x95,
        ];
        assert_eq!(avc_codec_string(&stream).as_deref(), Some("avc1.4d4028"));
    }

    #[test]
    fn a_stream_without_sps_has_no_codec_string() {
        assert_eq!(avc_codec_string(&[0, 0, 1, 0x41, 0x9a, 0, 0]), None);
        assert_eq!(avc_codec_string(&[]), None);
    }

    #[test]
    fn levels_match_what_x264_picks_for_common_ladders() {
        assert_eq!(h264_high_level(1920, 1080, 30.0, 5_500_000), 40);
        assert_eq!(h264_high_level(1920, 1080, 60.0, 5_500_000), 42);
        assert_eq!(h264_high_level(854, 480, 30.0, 1_540_000), 31);
        assert_eq!(h264_high_level(640, 360, 30.0, 880_000), 30);
        assert_eq!(h264_high_level(320, 240, 25.0, 300_000), 13);
    }
}
