//! Where a conversion can be resumed: the segments every rendition has published, and what a
//! new run needs to continue right after them as if it had never stopped.
//!
//! A conversion hands one to its sink ([`Sink::resume_point`](crate::Sink::resume_point))
//! each time every rendition has published one more segment; a later run given it
//! ([`resume_with_cancel`](crate::resume_with_cancel)) keeps those segments, drops what
//! lies before the point, and continues the clock, the segment numbering, the TS continuity
//! counters and the frame count from there.
//!
//! How a resumed run joins the earlier one:
//! - **video**: where every timestamp before the point was the input's own (the usual case),
//!   the input is read from its start but video is decoded only from the keyframe before the
//!   point (a second ahead of it at least), each frame on its own timestamp as in the full
//!   run; where the earlier run repaired the clock, video is decoded from the start, with
//!   every repair of a full run, so each frame lands where it did. Either way nothing before
//!   the point is scaled or encoded, and the first frame at the point must be the keyframe
//!   that opened the next segment in the earlier run, at that time (and, decoding from the
//!   start, after that many frames), or the run starts over;
//! - **audio**: AAC is encoded once from the start, as in a full run: libav's AAC encoder is
//!   deterministic, so the packets after the point are bit for bit those an uninterrupted
//!   run muxes there, and each rendition keeps exactly the packets it would have put after
//!   the join (by decode time, as its interleaver orders them). No gap, no overlap, no second
//!   encoder warming up;
//! - **MPEG-TS**: a new muxer, with sequence numbers and continuity counters renumbered to go
//!   on from the last published segment.

use serde::{Deserialize, Serialize};

/// A point a conversion can be resumed from: plain data, to be stored (it serializes with
/// serde) beside the segments it names, and given back to
/// [`resume_with_cancel`](crate::resume_with_cancel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumePoint {
    /// What must be the same for a run to continue this one: input, ladder, settings, version.
    pub(crate) settings: String,
    /// Segments every rendition has published.
    pub(crate) segments: u64,
    /// Video frames in those segments, per rendition.
    pub(crate) frames: u64,
    /// Where the next segment starts, in 90 kHz ticks on the output clock.
    pub(crate) pts: i64,
    /// Whether every timestamp before the point was the input's own (no repair): a resumed
    /// run then decodes video only from the keyframe before the point.
    #[serde(default)]
    pub(crate) clean: bool,
    pub(crate) renditions: Vec<RenditionPoint>,
    /// The audio renditions of a source with several audio tracks, in the order of
    /// `SourceInfo::audio_tracks` (their `audio_dts` is where the next segment starts).
    #[serde(default)]
    pub(crate) audio: Vec<RenditionPoint>,
}

/// One rendition at a resume point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RenditionPoint {
    pub(crate) name: String,
    /// The RFC 6381 string of its video.
    pub(crate) video_codec: Option<String>,
    /// Its published segments, in order.
    pub(crate) segments: Vec<PublishedSegment>,
    /// The decode time (90 kHz) of the next segment's first frame: audio before it is
    /// published.
    pub(crate) audio_dts: i64,
    /// TS continuity counters the next segment continues: (PID, counter).
    pub(crate) continuity: Vec<(u16, u8)>,
}

/// A segment listed by a resume point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PublishedSegment {
    /// As the media playlist names it, relative to the playlist.
    pub(crate) uri: String,
    pub(crate) duration: f64,
    pub(crate) bytes: u64,
    /// Bytes up to the end of its first keyframe, for the I-frame playlist (0: unknown).
    #[serde(default)]
    pub(crate) keyframe_bytes: u64,
}

impl ResumePoint {
    /// How many segments each rendition has published: a resumed run starts with the next.
    pub fn segments(&self) -> u64 {
        self.segments
    }

    /// Video frames (per rendition) in those segments: where a resumed run's progress starts.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Seconds of output published: where a resumed run starts encoding.
    pub fn seconds(&self) -> f64 {
        crate::segmenting::seconds(self.pts)
    }

    /// The published segments this point names, as paths relative to the output root the
    /// conversion published under (`{rendition}/{uri}`, e.g. `720p/segment_00003.ts`, or,
    /// after [`ResumePoint::rebase`], `720p/../../old/720p/segment_00003.ts`): what must be
    /// kept for a run resumed from it.
    pub fn segment_paths(&self) -> impl Iterator<Item = String> + '_ {
        self.renditions
            .iter()
            .chain(&self.audio)
            .flat_map(|rendition| {
                rendition
                    .segments
                    .iter()
                    .map(move |segment| format!("{}/{}", rendition.name, segment.uri))
            })
    }

    /// Makes the point usable by a run that publishes under another output root than the
    /// run that made it: `earlier_root` is that run's output root, relative to the new one
    /// (e.g. `../3/` when output roots are sibling folders). Segments it published are then
    /// named through it (`../../3/720p/segment_00001.ts` from `720p/index.m3u8`); segments
    /// an even earlier run published, already named that way, are left as they are, which
    /// is right when all output roots are siblings.
    pub fn rebase(&mut self, earlier_root: &str) {
        let root = if earlier_root.is_empty() || earlier_root.ends_with('/') {
            earlier_root.to_string()
        } else {
            format!("{earlier_root}/")
        };
        for rendition in self.renditions.iter_mut().chain(&mut self.audio) {
            // Up from the playlist's folder (`720p/`, `audio/eng/`) to the output root.
            let up = "../".repeat(rendition.name.split('/').count());
            for segment in &mut rendition.segments {
                if !segment.uri.starts_with("../") {
                    segment.uri = format!("{up}{root}{}/{}", rendition.name, segment.uri);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> ResumePoint {
        let segment = |uri: &str| PublishedSegment {
            uri: uri.into(),
            duration: 2.0,
            bytes: 10,
            keyframe_bytes: 4,
        };
        ResumePoint {
            settings: "s".into(),
            segments: 2,
            frames: 96,
            pts: 4 * 90_000,
            clean: true,
            renditions: vec![RenditionPoint {
                name: "360p".into(),
                video_codec: None,
                segments: vec![
                    segment("../../1/360p/segment_00001.ts"),
                    segment("segment_00002.ts"),
                ],
                audio_dts: 0,
                continuity: vec![],
            }],
            audio: vec![RenditionPoint {
                name: "audio/eng".into(),
                video_codec: None,
                segments: vec![segment("segment_00001.ts"), segment("segment_00002.ts")],
                audio_dts: 4 * 90_000,
                continuity: vec![],
            }],
        }
    }

    #[test]
    fn rebasing_names_the_earlier_runs_segments_through_its_root_once() {
        let mut point = point();
        point.rebase("../2");
        let paths: Vec<String> = point.segment_paths().collect();
        assert_eq!(
            paths,
            [
                "360p/../../1/360p/segment_00001.ts",
                "360p/../../2/360p/segment_00002.ts",
                "audio/eng/../../../2/audio/eng/segment_00001.ts",
                "audio/eng/../../../2/audio/eng/segment_00002.ts",
            ]
        );
        assert_eq!(point.seconds(), 4.0);
        let json = serde_json::to_string(&point).unwrap();
        assert_eq!(serde_json::from_str::<ResumePoint>(&json).unwrap(), point);
    }
}
