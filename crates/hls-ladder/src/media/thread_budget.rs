//! How many threads each rendition's x264 encoder gets, and the video decoder.
//!
//! Every encoder left at x264's default (1.5 threads per core each) oversubscribes the machine
//! several times over when renditions encode in parallel: more context switches, more frames
//! in flight, more memory. Instead the machine's budget (x264's own 1.5 per core) is shared
//! among renditions by pixel count, so the largest one, which bounds the wall time, gets most.

/// x264 threads for renditions of these pixel counts on a machine with `cores` cores.
pub(crate) fn x264_threads(pixels: &[u64], cores: usize) -> Vec<usize> {
    let budget = (cores * 3).div_ceil(2).max(2) as f64;
    let total: u64 = pixels.iter().sum::<u64>().max(1);
    pixels
        .iter()
        .map(|&p| ((budget * p as f64 / total as f64).round() as usize).max(1))
        .collect()
}

/// The memory the decoder's frame threads may hold in pictures being decoded, one each.
pub(crate) const DECODER_FRAME_BUDGET: u64 = 1 << 30;

/// Frame threads for decoding pictures of `frame_bytes` on `cores` cores: libav's own choice
/// (one per core and one more, at most 16), but no more than [`DECODER_FRAME_BUDGET`] holds,
/// so that a many-core machine decoding 8K 4:4:4 10-bit (200 MB a picture) does not keep 16
/// of them in flight.
pub(crate) fn decoder_threads(frame_bytes: u64, cores: usize) -> usize {
    let by_memory = (DECODER_FRAME_BUDGET / frame_bytes.max(1)).max(1) as usize;
    (cores + 1).min(16).min(by_memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_threads_follow_the_cores_until_big_pictures_fill_the_budget() {
        let yuv420_1080p = 1920 * 1080 * 3 / 2;
        let yuv444_10bit_8k = 7680 * 4320 * 3 * 2;
        assert_eq!(decoder_threads(yuv420_1080p, 2), 3);
        assert_eq!(decoder_threads(yuv420_1080p, 64), 16);
        assert_eq!(decoder_threads(yuv444_10bit_8k, 2), 3);
        assert_eq!(decoder_threads(yuv444_10bit_8k, 64), 5);
        assert_eq!(decoder_threads(u64::MAX, 64), 1);
    }

    const P1080: u64 = 1920 * 1080;
    const P720: u64 = 1280 * 720;
    const P480: u64 = 854 * 480;
    const P360: u64 = 640 * 360;

    #[test]
    fn on_two_cores_the_largest_rendition_gets_two_threads_and_the_rest_one() {
        assert_eq!(x264_threads(&[P720, P480, P360], 2), [2, 1, 1]);
        assert_eq!(x264_threads(&[P1080, P720, P480, P360], 2), [2, 1, 1, 1]);
    }

    #[test]
    fn on_a_big_machine_threads_follow_pixel_counts() {
        assert_eq!(x264_threads(&[P1080, P720, P480, P360], 16), [14, 6, 3, 2]);
    }

    #[test]
    fn a_single_rendition_gets_the_whole_budget() {
        assert_eq!(x264_threads(&[P360], 2), [3]);
        assert_eq!(x264_threads(&[P360], 1), [2]);
    }
}
