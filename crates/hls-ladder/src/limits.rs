//! Limits on what a single input may demand, checked against the probe before any decoding,
//! so that one upload cannot occupy a worker for hours or exhaust its memory.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error_code::Limit;
use crate::source_info::SourceInfo;

/// The largest input accepted. [`SourceLimits::default`] is generous (8K, 4 hours,
/// a million frames); [`SourceLimits::unlimited`] turns every check off.
///
/// ```
/// use hls_ladder::SourceLimits;
///
/// let limits = SourceLimits { max_duration_seconds: 600.0, ..SourceLimits::default() };
/// assert_eq!(limits.max_width, 7680);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SourceLimits {
    /// Longest input, in seconds: the longer of the video stream's and the container's
    /// declared durations.
    pub max_duration_seconds: f64,
    /// Widest picture, in pixels; a portrait picture is compared with its sides swapped.
    pub max_width: u32,
    /// Tallest picture, in pixels; a portrait picture is compared with its sides swapped.
    pub max_height: u32,
    /// Most video frames (declared by the container, else duration x frame rate).
    pub max_frames: u64,
}

impl Default for SourceLimits {
    fn default() -> Self {
        SourceLimits {
            max_duration_seconds: 4.0 * 3600.0,
            max_width: 7680,
            max_height: 4320,
            max_frames: 1_000_000,
        }
    }
}

impl SourceLimits {
    /// No limit at all.
    pub fn unlimited() -> SourceLimits {
        SourceLimits {
            max_duration_seconds: f64::MAX,
            max_width: u32::MAX,
            max_height: u32::MAX,
            max_frames: u64::MAX,
        }
    }

    /// The largest picture in pixels (width x height): decoders refuse a bigger picture before
    /// they allocate it, which holds the size limit even where the header does not tell.
    pub(crate) fn max_pixels(&self) -> u64 {
        u64::from(self.max_width).saturating_mul(u64::from(self.max_height))
    }

    /// `Ok` when `source` is within every limit; else the first limit it exceeds, as
    /// [`Error::LimitExceeded`] (a client error).
    pub fn check(&self, source: &SourceInfo) -> Result<(), Error> {
        let longest = source
            .duration
            .into_iter()
            .chain(source.container_duration)
            .reduce(f64::max);
        if let Some(duration) = longest {
            if duration > self.max_duration_seconds {
                return Err(exceeded(
                    Limit::Duration,
                    format!(
                        "it lasts {duration:.0} s and the limit is {:.0} s",
                        self.max_duration_seconds
                    ),
                ));
            }
        }
        self.check_picture(source.width, source.height)?;
        if let Some(frames) = source.frames_expected {
            if frames > self.max_frames {
                return Err(exceeded(
                    Limit::Frames,
                    format!(
                        "it has about {frames} frames and the limit is {}",
                        self.max_frames
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `Ok` when a picture of `width` x `height` is within the resolution limit, in either
    /// orientation.
    pub(crate) fn check_picture(&self, width: u32, height: u32) -> Result<(), Error> {
        let (long, short) = sides(width, height);
        let (max_long, max_short) = sides(self.max_width, self.max_height);
        if long > max_long || short > max_short {
            return Err(exceeded(
                Limit::Resolution,
                format!(
                    "it is {width}x{height} and the limit is {}x{}",
                    self.max_width, self.max_height
                ),
            ));
        }
        Ok(())
    }

    /// While reading or decoding: `Ok` while the `frames` counted so far and the `seconds` of
    /// media time reached are within the limits, whatever the header declared (or did not).
    pub(crate) fn check_decoded(&self, frames: u64, seconds: f64) -> Result<(), Error> {
        if frames > self.max_frames {
            return Err(exceeded(
                Limit::Frames,
                format!(
                    "it has more than {} frames, the limit (counted in its data, not taken from its header)",
                    self.max_frames
                ),
            ));
        }
        if seconds > self.max_duration_seconds {
            return Err(exceeded(
                Limit::Duration,
                format!(
                    "it lasts more than {:.0} s, the limit (measured in its data, not taken from its header)",
                    self.max_duration_seconds
                ),
            ));
        }
        Ok(())
    }
}

fn exceeded(limit: Limit, reason: String) -> Error {
    Error::LimitExceeded { limit, reason }
}

/// (longer side, shorter side).
fn sides(width: u32, height: u32) -> (u32, u32) {
    (width.max(height), width.min(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(width: u32, height: u32, duration: f64, frames: u64) -> SourceInfo {
        SourceInfo {
            container: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            duration: Some(duration),
            container_duration: Some(duration),
            width,
            height,
            display_width: width,
            display_height: height,
            sample_aspect_ratio: "1:1".into(),
            rotation: 0,
            interlaced: false,
            frame_rate: 30.0,
            frames: Some(frames),
            frames_expected: Some(frames),
            video_codec: "h264".into(),
            pixel_format: "yuv420p".into(),
            audio: None,
            audio_tracks: Vec::new(),
            subtitles: Vec::new(),
        }
    }

    #[test]
    fn an_ordinary_video_passes_the_defaults() {
        let limits = SourceLimits::default();
        assert!(limits.check(&source(1920, 1080, 600.0, 18_000)).is_ok());
        assert!(limits.check(&source(2160, 3840, 600.0, 18_000)).is_ok());
    }

    #[test]
    fn each_limit_is_reported_by_name() {
        let limits = SourceLimits {
            max_duration_seconds: 60.0,
            max_width: 1920,
            max_height: 1080,
            max_frames: 1000,
        };
        let code = |s: &SourceInfo| match limits.check(s) {
            Err(Error::LimitExceeded { limit, .. }) => limit,
            other => panic!("expected a limit error, got {other:?}"),
        };
        assert_eq!(code(&source(1280, 720, 61.0, 900)), Limit::Duration);
        assert_eq!(code(&source(2560, 1440, 30.0, 900)), Limit::Resolution);
        assert_eq!(code(&source(1080, 1921, 30.0, 900)), Limit::Resolution);
        assert_eq!(code(&source(1280, 720, 30.0, 1001)), Limit::Frames);
        let mut lying_header = source(1280, 720, 30.0, 900);
        lying_header.container_duration = Some(4_000_000.0);
        assert_eq!(code(&lying_header), Limit::Duration);
        assert!(limits.check(&source(1080, 1920, 60.0, 1000)).is_ok());
    }

    #[test]
    fn a_limit_error_is_the_clients_fault_with_a_stable_code() {
        let error = SourceLimits {
            max_frames: 1,
            ..SourceLimits::default()
        }
        .check(&source(64, 64, 1.0, 30))
        .unwrap_err();
        assert!(error.is_client_error());
        assert_eq!(error.code(), "too-many-frames");
        assert!(error.to_string().contains("30 frames"), "{error}");
    }

    #[test]
    fn decoded_frames_and_time_are_held_to_the_limits_too() {
        let limits = SourceLimits {
            max_duration_seconds: 60.0,
            max_frames: 1000,
            ..SourceLimits::default()
        };
        assert!(limits.check_decoded(1000, 60.0).is_ok());
        let frames = limits.check_decoded(1001, 1.0).unwrap_err();
        assert_eq!(frames.code(), "too-many-frames");
        assert!(
            frames.to_string().contains("counted in its data"),
            "{frames}"
        );
        let time = limits.check_decoded(10, 60.5).unwrap_err();
        assert_eq!(time.code(), "input-too-long");
        let picture = limits.check_picture(4320, 7681).unwrap_err();
        assert_eq!(picture.code(), "resolution-too-high");
        assert!(limits.check_picture(4320, 7680).is_ok());
    }

    #[test]
    fn unlimited_accepts_anything() {
        let huge = source(100_000, 100_000, 1e9, u64::MAX);
        assert!(SourceLimits::unlimited().check(&huge).is_ok());
    }
}
