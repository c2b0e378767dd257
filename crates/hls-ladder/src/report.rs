//! What a conversion produced: the report [`convert`](crate::convert) returns, one part per
//! rendition, audio rendition and download, and where the master playlist is. Plain data,
//! serialisable, shared by the conversion and the publisher that fills it in.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::captions::SubtitleReport;
use crate::ladder::Rendition;
use crate::source_info::SourceInfo;
use crate::stills::StillsReport;

/// Path of the master playlist, relative to the output root.
pub const MASTER_PLAYLIST: &str = "master.m3u8";

/// What one rendition came to. Read back leniently (`serde(default)`), like [`Progress`](crate::Progress).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenditionReport {
    /// Name, size and target bitrate.
    #[serde(flatten)]
    pub rendition: Rendition,
    /// RFC 6381 codec strings as published, read from the encoded stream.
    pub codecs: Vec<String>,
    /// Path of the media playlist, relative to the output root.
    pub playlist: String,
    /// Number of segments.
    pub segments: u64,
    /// Total bytes of the segments.
    pub bytes: u64,
    /// Duration in seconds.
    pub duration: f64,
    /// Frames encoded.
    pub frames: u64,
    /// Peak segment bitrate (BANDWIDTH), bits per second.
    pub bandwidth: u64,
    /// Average bitrate (AVERAGE-BANDWIDTH), bits per second.
    pub average_bandwidth: u64,
}

/// An audio rendition of its own: one of the source's audio tracks, when it has several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudioReport {
    /// What a player lists: the track's title, else its language, else `Audio {n}`.
    pub name: String,
    /// The track's language tag as the source has it, if any.
    pub language: Option<String>,
    /// AAC channels: 1 or 2.
    pub channels: u16,
    /// The rendition players choose when the viewer did not (the source's default track).
    pub default: bool,
    /// Path of the media playlist, relative to the output root (`audio/{language}/index.m3u8`).
    pub playlist: String,
    /// Number of segments.
    pub segments: u64,
    /// Total bytes of the segments.
    pub bytes: u64,
    /// Peak segment bitrate, bits per second.
    pub bandwidth: u64,
}

/// The MP4 download of one rendition ([`ConvertOptions::mp4_download`](crate::ConvertOptions::mp4_download)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadReport {
    /// The rendition it holds, e.g. `1080p`.
    pub rendition: String,
    /// Its path relative to the output root: `download/{rendition}.mp4`.
    pub path: String,
    /// Its size.
    pub bytes: u64,
}

/// What a finished conversion produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvertReport {
    /// Facts about the input.
    pub source: SourceInfo,
    /// The renditions, largest first.
    pub renditions: Vec<RenditionReport>,
    /// Path of the master playlist, relative to the output root.
    pub master_playlist: String,
    /// Duration of the output in seconds.
    pub duration: f64,
    /// Wall time the conversion took.
    #[serde(serialize_with = "as_secs")]
    pub elapsed: Duration,
    /// Resumed: how many segments of each rendition an earlier run had published, which this
    /// one kept. `None` for a run from the beginning.
    pub resumed_from_segment: Option<u64>,
    /// Asked to resume, why this run started from the beginning instead.
    pub resume_refused: Option<String>,
    /// The poster and the storyboard, when [`ConvertOptions::stills`](crate::ConvertOptions::stills) asked for them.
    pub stills: Option<StillsReport>,
    /// The subtitle renditions made from the source's text subtitle tracks.
    pub subtitles: Vec<SubtitleReport>,
    /// The audio renditions, one per audio track, when the source has several; empty when
    /// its one track's audio is in every rendition's segments.
    pub audio: Vec<AudioReport>,
    /// The MP4 download, when [`ConvertOptions::mp4_download`](crate::ConvertOptions::mp4_download) asked for one.
    pub downloads: Vec<DownloadReport>,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
