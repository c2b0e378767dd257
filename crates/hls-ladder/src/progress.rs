//! Per-frame progress of a conversion: what the callback receives, and the arithmetic behind it.
//!
//! Pure: counts and clocks in, figures out. The pipeline feeds it frame counts per rendition.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How far one rendition is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenditionProgress {
    /// The rendition's name, e.g. `"720p"`.
    pub name: String,
    /// Frames encoded so far.
    pub frames_done: u64,
}

/// A snapshot of a running conversion, given to the progress callback after each frame.
///
/// Serialised with durations in seconds (`eta`, `elapsed`), as the service stores and sends it;
/// read back leniently (`serde(default)`), so that a stored snapshot missing a field (written
/// by an earlier version) still reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    /// Frames encoded by every rendition (the slowest one's count).
    pub frames_done: u64,
    /// Frames the source holds: from the container when it says, else duration x frame rate.
    pub frames_expected: Option<u64>,
    /// `frames_done / frames_expected` in percent, at most 100.
    pub percent: Option<f64>,
    /// Frames encoded per second of wall time so far.
    pub fps: f64,
    /// Seconds of media converted per second of wall time (1.0 is realtime).
    pub speed: f64,
    /// Estimated time left.
    #[serde(with = "opt_secs", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub eta: Option<Duration>,
    /// Wall time since the conversion started.
    #[serde(with = "secs")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, default = 0.0))]
    pub elapsed: Duration,
    /// Progress of each rendition.
    pub renditions: Vec<RenditionProgress>,
}

mod secs {
    use serde::Deserialize;

    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<std::time::Duration, D::Error> {
        let seconds = f64::deserialize(d)?;
        std::time::Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

mod opt_secs {
    use serde::Deserialize;

    pub fn serialize<S: serde::Serializer>(
        d: &Option<std::time::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<std::time::Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|seconds| {
                std::time::Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// Turns frame counts into [`Progress`] figures.
#[derive(Debug, Clone)]
pub(crate) struct ProgressMeter {
    frames_expected: Option<u64>,
    frame_rate: f64,
    names: Vec<String>,
    /// Frames an earlier run did (resumed): counted as done, not in this run's speed.
    frames_before: u64,
}

impl ProgressMeter {
    pub(crate) fn new(frames_expected: Option<u64>, frame_rate: f64, names: Vec<String>) -> Self {
        ProgressMeter {
            frames_expected,
            frame_rate,
            names,
            frames_before: 0,
        }
    }

    /// A meter for a run resumed after `frames` that an earlier run encoded.
    pub(crate) fn resumed_after(self, frames: u64) -> Self {
        ProgressMeter {
            frames_before: frames,
            ..self
        }
    }

    /// The snapshot for these per-rendition frame counts after `elapsed` of wall time.
    pub(crate) fn measure(&self, counts: &[u64], elapsed: Duration) -> Progress {
        let frames_done = counts.iter().copied().min().unwrap_or(0);
        let seconds = elapsed.as_secs_f64();
        let fps = if seconds > 0.0 {
            frames_done.saturating_sub(self.frames_before) as f64 / seconds
        } else {
            0.0
        };
        let speed = if self.frame_rate > 0.0 {
            fps / self.frame_rate
        } else {
            0.0
        };
        let percent = self
            .frames_expected
            .filter(|&e| e > 0)
            .map(|e| (frames_done as f64 * 100.0 / e as f64).min(100.0));
        let eta = match self.frames_expected {
            Some(e) if fps > 0.0 => Some(Duration::from_secs_f64(
                e.saturating_sub(frames_done) as f64 / fps,
            )),
            _ => None,
        };
        let renditions = self
            .names
            .iter()
            .zip(counts)
            .map(|(name, &frames_done)| RenditionProgress {
                name: name.clone(),
                frames_done,
            })
            .collect();
        Progress {
            frames_done,
            frames_expected: self.frames_expected,
            percent,
            fps,
            speed,
            eta,
            elapsed,
            renditions,
        }
    }

    /// The final snapshot: everything the source had is done, whatever the estimate said.
    pub(crate) fn finished(&self, counts: &[u64], elapsed: Duration) -> Progress {
        let done = counts.iter().copied().min().unwrap_or(0);
        let meter = ProgressMeter {
            frames_expected: Some(done),
            ..self.clone()
        };
        meter.measure(counts, elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_back_from_its_json_and_a_partial_snapshot_reads_with_defaults() {
        let progress = Progress {
            frames_done: 31,
            frames_expected: Some(250),
            percent: Some(12.4),
            fps: 61.0,
            speed: 2.44,
            eta: Some(Duration::from_millis(3600)),
            elapsed: Duration::from_millis(508),
            renditions: vec![RenditionProgress {
                name: "720p".into(),
                frames_done: 31,
            }],
        };
        let json = serde_json::to_value(&progress).unwrap();
        assert_eq!(json["eta"], 3.6);
        assert_eq!(json["elapsed"], 0.508);
        assert_eq!(serde_json::from_value::<Progress>(json).unwrap(), progress);

        let partial: Progress = serde_json::from_str(r#"{"frames_done": 7, "eta": null}"#).unwrap();
        assert_eq!(partial.frames_done, 7);
        assert_eq!((partial.eta, partial.frames_expected), (None, None));
        assert!(serde_json::from_str::<Progress>(r#"{"elapsed": -1}"#).is_err());
    }

    fn meter(expected: Option<u64>) -> ProgressMeter {
        ProgressMeter::new(expected, 25.0, vec!["720p".into(), "360p".into()])
    }

    #[test]
    fn progress_follows_the_slowest_rendition() {
        let p = meter(Some(200)).measure(&[100, 50], Duration::from_secs(1));
        assert_eq!(p.frames_done, 50);
        assert_eq!(p.percent, Some(25.0));
        assert_eq!(p.fps, 50.0);
        assert_eq!(p.speed, 2.0);
        assert_eq!(p.eta, Some(Duration::from_secs(3)));
        assert_eq!(
            p.renditions[0],
            RenditionProgress {
                name: "720p".into(),
                frames_done: 100
            }
        );
    }

    #[test]
    fn an_unknown_frame_count_gives_no_percent_and_no_eta() {
        let p = meter(None).measure(&[10, 10], Duration::from_millis(500));
        assert_eq!((p.percent, p.eta), (None, None));
        assert_eq!(p.fps, 20.0);
    }

    #[test]
    fn percent_never_passes_100_and_the_final_snapshot_is_100() {
        let m = meter(Some(100));
        assert_eq!(
            m.measure(&[120, 130], Duration::from_secs(2)).percent,
            Some(100.0)
        );
        let last = m.finished(&[97, 97], Duration::from_secs(2));
        assert_eq!(
            (last.percent, last.frames_expected),
            (Some(100.0), Some(97))
        );
    }

    #[test]
    fn no_time_elapsed_means_zero_rates_not_infinity() {
        let p = meter(Some(10)).measure(&[0, 0], Duration::ZERO);
        assert_eq!((p.fps, p.speed, p.eta), (0.0, 0.0, None));
    }
}
