//! What a caller can ask of a conversion: segment length, ladder, encoder preset, audio bitrate.
//!
//! Plain data with sensible defaults; it never reads the environment.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, SourceLimits};

/// One rung of the ladder the caller asks for: a size class and its H.264 bitrate.
///
/// `height` is the short side of the picture, so `720` means 1280x720 for a landscape source
/// and 720x1280 for a portrait phone video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// Short side of the picture in pixels (`1080`, `720`, ...).
    pub height: u32,
    /// Target H.264 bitrate in bits per second.
    pub video_bitrate: u32,
}

impl Rung {
    /// A rung of `height` pixels (short side) with the bitrate our default ladder uses for it,
    /// or one scaled by pixel count for sizes the default ladder does not have.
    ///
    /// ```
    /// use hls_ladder::Rung;
    /// assert_eq!(Rung::with_default_bitrate(720).video_bitrate, 2_800_000);
    /// ```
    pub fn with_default_bitrate(height: u32) -> Rung {
        let video_bitrate = DEFAULT_LADDER
            .iter()
            .find(|r| r.height == height)
            .map(|r| r.video_bitrate)
            .unwrap_or_else(|| scaled_bitrate(height));
        Rung {
            height,
            video_bitrate,
        }
    }
}

/// A rung as people write one: a short-side height (`720`, or `720p`), optionally with a
/// bitrate in kb/s (`720:2500`); without one, [`Rung::with_default_bitrate`]'s.
///
/// ```
/// use hls_ladder::Rung;
///
/// assert_eq!("480p:1000".parse::<Rung>()?, Rung { height: 480, video_bitrate: 1_000_000 });
/// assert_eq!("720".parse::<Rung>()?, Rung::with_default_bitrate(720));
/// assert!("big".parse::<Rung>().is_err());
/// # Ok::<(), hls_ladder::Error>(())
/// ```
impl FromStr for Rung {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |s: &str| {
            s.trim().trim_end_matches('p').parse::<u32>().map_err(|_| {
                Error::InvalidOptions(format!("`{text}` is not a rung like 720 or 720:2500"))
            })
        };
        match text.split_once(':') {
            Some((height, kbps)) => Ok(Rung {
                height: number(height)?,
                video_bitrate: number(kbps)?.saturating_mul(1000),
            }),
            None => Ok(Rung::with_default_bitrate(number(text)?)),
        }
    }
}

/// 5 Mb/s at 1080p scaled by pixel count, never below 200 kb/s.
fn scaled_bitrate(height: u32) -> u32 {
    let ratio = f64::from(height) * f64::from(height) / (1080.0 * 1080.0);
    ((5_000_000.0 * ratio) as u32).max(200_000)
}

/// The default ladder, close to Apple's HLS authoring recommendations for H.264, with 2160p
/// and 1440p for sources that have them (never upscaled; `max_output_height` caps it). 4K in
/// H.264 stays within High profile level 5.1 (level 5.2 above 30 frames a second), the most
/// Apple's specification allows; its bitrates are above Apple's HEVC range for 2160p
/// (11.6–16.8 Mb/s), since H.264 needs more bits than HEVC for the same picture.
pub const DEFAULT_LADDER: [Rung; 6] = [
    Rung {
        height: 2160,
        video_bitrate: 18_000_000,
    },
    Rung {
        height: 1440,
        video_bitrate: 9_000_000,
    },
    Rung {
        height: 1080,
        video_bitrate: 5_000_000,
    },
    Rung {
        height: 720,
        video_bitrate: 2_800_000,
    },
    Rung {
        height: 480,
        video_bitrate: 1_400_000,
    },
    Rung {
        height: 360,
        video_bitrate: 800_000,
    },
];

/// An x264 speed/quality preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[expect(missing_docs, reason = "the variants are x264's own preset names")]
pub enum Preset {
    Ultrafast,
    Superfast,
    #[default]
    Veryfast,
    Faster,
    Fast,
    Medium,
    Slow,
    Slower,
    Veryslow,
}

const PRESETS: [(Preset, &str); 9] = [
    (Preset::Ultrafast, "ultrafast"),
    (Preset::Superfast, "superfast"),
    (Preset::Veryfast, "veryfast"),
    (Preset::Faster, "faster"),
    (Preset::Fast, "fast"),
    (Preset::Medium, "medium"),
    (Preset::Slow, "slow"),
    (Preset::Slower, "slower"),
    (Preset::Veryslow, "veryslow"),
];

impl Preset {
    /// The name x264 knows the preset by.
    pub fn as_str(self) -> &'static str {
        PRESETS
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
            .unwrap_or("veryfast")
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Preset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PRESETS
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(p, _)| *p)
            .ok_or_else(|| {
                let names: Vec<&str> = PRESETS.iter().map(|(_, n)| *n).collect();
                Error::InvalidOptions(format!(
                    "unknown x264 preset `{s}`; use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// How to convert: the knobs a caller may turn. `ConvertOptions::default()` is a good start.
///
/// ```
/// use hls_ladder::{ConvertOptions, Preset, Rung};
/// let options = ConvertOptions {
///     segment_seconds: 4.0,
///     ladder: vec![Rung::with_default_bitrate(720), Rung::with_default_bitrate(360)],
///     preset: Preset::Faster,
///     ..ConvertOptions::default()
/// };
/// assert!(options.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConvertOptions {
    /// Target segment duration in seconds (EXT-X-TARGETDURATION); segments are cut at the first
    /// frame at or after each multiple of it. Default 6.
    pub segment_seconds: f64,
    /// The first segment's duration in seconds, when shorter than `segment_seconds`: the
    /// second then ends at the first multiple of `segment_seconds`. A short first segment
    /// lets a player start sooner, and a progressive conversion become playable sooner, for
    /// the cost of one more keyframe. Default 2; `segment_seconds` or more for none.
    pub first_segment_seconds: f64,
    /// The rungs to produce, any order. Rungs larger than the source are dropped; a source
    /// smaller than every rung gets one rendition at its own size. Default [`DEFAULT_LADDER`].
    pub ladder: Vec<Rung>,
    /// The largest rendition, by its short side as rungs are named (e.g. `1080` for no 4K
    /// and no 1440p): rungs above it are dropped, and a source smaller than every rung left
    /// is not produced above it either. Default `None`: the ladder's own top.
    pub max_output_height: Option<u32>,
    /// The x264 preset. Default `veryfast`.
    pub preset: Preset,
    /// AAC bitrate in bits per second, shared by every rendition. Default 128 000.
    pub audio_bitrate: u32,
    /// How many finished segments may wait for the sink before encoding pauses. Default 8.
    pub segment_queue: usize,
    /// The largest input converted; a larger one fails before decoding with
    /// [`Error::LimitExceeded`]. Default [`SourceLimits::unlimited`]: limits protect a
    /// service from hostile uploads, and a caller converting its own files needs none.
    pub limits: SourceLimits,
    /// Publish while converting: as soon as every rendition has its first segment, growing
    /// `EVENT` media playlists and a master playlist ([`ObjectKind`](crate::ObjectKind)s
    /// marked `growing`) make the video playable, and each media playlist is published again
    /// after every segment it gains; at the end, the final playlists replace them, the same
    /// a run without it publishes. Default `false`: playlists only once every segment is.
    pub progressive: bool,
    /// Make a poster (at the top rendition's size and a small one) and a storyboard (sprite
    /// sheets of thumbnails and their WebVTT file) from the decoded frames, in the same pass
    /// (see [`stills`](crate::stills)). Default `true`.
    pub stills: bool,
    /// Also mux a progressive MP4 with its index at the front (`faststart`) of one
    /// rendition, the highest up to 1080p, from the same encoded packets as its segments (no
    /// second encode): `download/{rendition}.mp4`, handed to
    /// [`Sink::put_file`](crate::Sink::put_file) before the final playlists. The file needs
    /// every packet from the start, so such a conversion offers no resume points and is not
    /// resumed. Default `false`.
    pub mp4_download: bool,
    /// Where the MP4 download is written while it is muxed (moving its index to the front
    /// needs a seekable file). Default `None`: the system's temporary folder.
    pub scratch_dir: Option<std::path::PathBuf>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            segment_seconds: 6.0,
            first_segment_seconds: 2.0,
            ladder: DEFAULT_LADDER.to_vec(),
            max_output_height: None,
            preset: Preset::default(),
            audio_bitrate: 128_000,
            segment_queue: 8,
            limits: SourceLimits::unlimited(),
            progressive: false,
            stills: true,
            mp4_download: false,
            scratch_dir: None,
        }
    }
}

impl ConvertOptions {
    /// How the output is cut.
    pub(crate) fn segmenting(&self) -> crate::segmenting::Segmenting {
        crate::segmenting::Segmenting {
            seconds: self.segment_seconds,
            first_seconds: self.first_segment_seconds.min(self.segment_seconds),
        }
    }

    /// Checks the options, saying which one is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::InvalidOptions(msg));
        if !(self.segment_seconds.is_finite() && (1.0..=60.0).contains(&self.segment_seconds)) {
            return bad(format!(
                "segment_seconds must be between 1 and 60, got {}",
                self.segment_seconds
            ));
        }
        if !(self.first_segment_seconds.is_finite() && self.first_segment_seconds >= 0.5) {
            return bad(format!(
                "first_segment_seconds must be at least 0.5, got {}",
                self.first_segment_seconds
            ));
        }
        if self.ladder.is_empty() {
            return bad("the ladder needs at least one rung".into());
        }
        if let Some(max) = self.max_output_height.filter(|h| !(16..=4320).contains(h)) {
            return bad(format!(
                "max_output_height must be between 16 and 4320 pixels, got {max}"
            ));
        }
        if let Some(r) = self
            .ladder
            .iter()
            .find(|r| !(16..=4320).contains(&r.height))
        {
            return bad(format!(
                "rung height must be between 16 and 4320 pixels, got {}",
                r.height
            ));
        }
        if let Some(r) = self
            .ladder
            .iter()
            .find(|r| !(50_000..=100_000_000).contains(&r.video_bitrate))
        {
            return bad(format!(
                "video bitrate must be between 50 kb/s and 100 Mb/s, got {}",
                r.video_bitrate
            ));
        }
        if !(32_000..=512_000).contains(&self.audio_bitrate) {
            return bad(format!(
                "audio bitrate must be between 32 and 512 kb/s, got {}",
                self.audio_bitrate
            ));
        }
        if self.segment_queue == 0 {
            return bad("segment_queue must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_case_insensitively_and_unknown_ones_are_rejected() {
        assert_eq!("VeryFast".parse::<Preset>().unwrap(), Preset::Veryfast);
        assert_eq!(Preset::Slow.to_string(), "slow");
        let err = "turbo".parse::<Preset>().unwrap_err();
        assert!(err.to_string().contains("ultrafast"), "{err}");
    }

    #[test]
    fn defaults_are_valid_and_a_zero_segment_length_is_not() {
        assert!(ConvertOptions::default().validate().is_ok());
        let zero = ConvertOptions {
            segment_seconds: 0.0,
            ..Default::default()
        };
        assert!(matches!(zero.validate(), Err(Error::InvalidOptions(_))));
    }

    #[test]
    fn unknown_rung_heights_get_a_bitrate_scaled_by_pixels() {
        assert_eq!(Rung::with_default_bitrate(1080).video_bitrate, 5_000_000);
        let r540 = Rung::with_default_bitrate(540).video_bitrate;
        assert_eq!(r540, 1_250_000);
        assert_eq!(Rung::with_default_bitrate(100).video_bitrate, 200_000);
    }
}
