//! What an input holds, as far as a conversion cares: [`SourceInfo`] and its audio and
//! subtitle tracks. Plain data, read by the probe (`media::source`) and stored, shown and
//! checked (against [`SourceLimits`](crate::SourceLimits)) by everything else.

use serde::{Deserialize, Serialize};

/// What the input holds, as far as the conversion cares.
///
/// Read back leniently (`serde(default)`): facts stored by an earlier version that lacked a
/// field come back with its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceInfo {
    /// The container as libav names it, e.g. `"mov,mp4,m4a,3gp,3g2,mj2"` or `"matroska,webm"`.
    pub container: String,
    /// Duration in seconds of the video stream, when the input says or libav can estimate it.
    pub duration: Option<f64>,
    /// Duration in seconds the container as a whole declares, which may be longer (an audio
    /// track running on, or a header that lies).
    pub container_duration: Option<f64>,
    /// The video stream's coded width in pixels.
    pub width: u32,
    /// The video stream's coded height in pixels.
    pub height: u32,
    /// Width as shown: after the pixel aspect ratio and the rotation.
    pub display_width: u32,
    /// Height as shown: after the pixel aspect ratio and the rotation.
    pub display_height: u32,
    /// Sample (pixel) aspect ratio as `"num:den"`, `"1:1"` for square pixels.
    pub sample_aspect_ratio: String,
    /// Clockwise rotation in degrees to apply for display: 0, 90, 180 or 270.
    pub rotation: u32,
    /// Whether the stream declares interlaced (field) coding; such frames are deinterlaced.
    /// Frames flagged interlaced are deinterlaced even when the stream does not declare it.
    pub interlaced: bool,
    /// Frames per second of the output: the source's cadence. That is its average rate, or
    /// its base rate when frames were skipped (a screen recording or a capture tool that
    /// stores a picture only when it changes has a base rate of 15 or 30 and an average far
    /// below).
    pub frame_rate: f64,
    /// Number of frames the container declares, if it does.
    pub frames: Option<u64>,
    /// Frames we expect to encode: the more of `frames` and duration x frame rate (a picture
    /// held across a gap is repeated at the frame rate).
    pub frames_expected: Option<u64>,
    /// The video codec's libav name, e.g. `"h264"`.
    pub video_codec: String,
    /// The decoded pixel format, e.g. `"yuv420p"`.
    pub pixel_format: String,
    /// The audio track that will be used, if any: with several, the default one.
    pub audio: Option<AudioInfo>,
    /// Every audio track that will be used, in the source's order (at most
    /// [`MAX_AUDIO_TRACKS`]). With one, its AAC is muxed into every variant's segments; with
    /// more, each becomes an audio rendition of its own (see ARCHITECTURE.md).
    pub audio_tracks: Vec<AudioInfo>,
    /// The text subtitle tracks, which become WebVTT subtitle renditions (picture-based
    /// subtitles, DVD and Blu-ray's, are not read).
    pub subtitles: Vec<SubtitleInfo>,
}

/// A text subtitle track of the source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubtitleInfo {
    /// The subtitle codec's libav name: `subrip`, `ass`, `ssa`, `mov_text`, `webvtt` or `text`.
    pub codec: String,
    /// The track's language as the container tags it (ISO 639-2, e.g. `eng`), if it does.
    pub language: Option<String>,
    /// The track's title, if any.
    pub title: Option<String>,
    /// Marked as the default track.
    pub default: bool,
    /// Marked as forced (only the parts in another language, or signs).
    pub forced: bool,
}

/// The most audio tracks a conversion encodes: one AAC encoder each. Tracks beyond are left
/// out (a file with dozens of tracks would otherwise cost dozens of encoders).
pub const MAX_AUDIO_TRACKS: usize = 8;

/// How many audio renditions of their own a conversion of a source described by `info`
/// publishes: one per audio track when it has several, none when its one track is muxed into
/// every rendition's segments.
pub(crate) fn separate_audio_tracks(info: &SourceInfo) -> usize {
    match info.audio_tracks.len() {
        0 | 1 => 0,
        n => n,
    }
}

/// An audio track a conversion uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudioInfo {
    /// The audio codec's libav name, e.g. `"aac"`.
    pub codec: String,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count (6 for 5.1).
    pub channels: u16,
    /// The track's language as the container tags it (ISO 639-2, e.g. `eng`), if it does.
    pub language: Option<String>,
    /// The track's title, if any.
    pub title: Option<String>,
    /// The source marks it as its default track.
    pub default: bool,
}

/// The picture size as shown, in square pixels, before any rounding (see [`shown_size`]),
/// from what [`SourceInfo`] records.
pub(crate) fn exact_display_size(info: &SourceInfo) -> (f64, f64) {
    let ratio = info
        .sample_aspect_ratio
        .split_once(':')
        .and_then(|(n, d)| Some((n.parse::<f64>().ok()?, d.parse::<f64>().ok()?)))
        .filter(|&(n, d)| n > 0.0 && d > 0.0)
        .map_or(1.0, |(n, d)| n / d);
    shown_size(info.width, info.height, ratio, info.rotation)
}

/// The exact size as shown: `width` times the pixel aspect `ratio`, by `height`, sides
/// swapped for 90 and 270 degrees.
pub(crate) fn shown_size(width: u32, height: u32, ratio: f64, rotation: u32) -> (f64, f64) {
    let shown_width = f64::from(width) * ratio;
    let height = f64::from(height);
    if rotation % 180 == 90 {
        (height, shown_width)
    } else {
        (shown_width, height)
    }
}
