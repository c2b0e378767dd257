//! What travels between the threads of a conversion (see [`pipeline`](super::pipeline)): the
//! demux thread's frames and packets to the renditions, the audio lanes and the stills
//! thread, the segments they hand back, and why a thread stopped.

use ffmpeg_next::Packet;

use crate::Error;
use crate::media::ts_segmenter::FinishedSegment;

/// A finished segment of one rendition, as it travels to the caller.
#[derive(Debug)]
pub(crate) struct SegmentReady {
    pub(crate) of: SegmentOf,
    pub(crate) segment: FinishedSegment,
}

/// Which output a segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SegmentOf {
    /// The rendition at this index in the list given to [`start`](super::pipeline::start).
    Rendition(usize),
    /// The audio rendition of the source's audio track at this index (of
    /// `SourceInfo::audio_tracks`), when the source has several.
    Audio(usize),
}

/// What the demux thread tells an audio track's own rendition.
pub(crate) enum LaneInput {
    /// A video frame at this time (90 kHz) went to the renditions; it opens a segment.
    Video {
        pts: i64,
        opens: bool,
    },
    Audio(Packet),
    End,
}

/// What the demux thread tells a rendition's thread.
pub(crate) enum RungInput {
    Frame {
        frame: ffmpeg_next::frame::Video,
        pts: i64,
        duration: i64,
        key: bool,
    },
    Audio(Packet),
    /// The default audio track's AAC for the MP4 download only, when the segments have none.
    DownloadAudio(Packet),
    End,
}

/// What the demux thread tells the stills thread.
pub(crate) enum StillInput {
    /// A sampled frame and its time on the output clock.
    Frame {
        frame: ffmpeg_next::frame::Video,
        pts: i64,
    },
    /// The video ends here (output clock).
    End { video_end: i64 },
}

/// Why a thread stopped early: its own failure, or because another one did.
pub(crate) enum Stop {
    Failed(Error),
    Disconnected,
}

impl From<Error> for Stop {
    fn from(error: Error) -> Stop {
        Stop::Failed(error)
    }
}
