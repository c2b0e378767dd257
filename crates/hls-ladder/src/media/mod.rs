//! The media core: libav demuxing, decoding, filtering, scaling, encoding and MPEG-TS muxing.
//!
//! Synchronous and self-contained: it knows nothing of HTTP, SQL, S3 or async runtimes. It
//! hands finished segments to its caller through a bounded channel ([`pipeline`]).

mod audio_lane;
pub(crate) mod audio_track;
mod continuity;
mod demux_thread;
pub(crate) mod demuxers;
pub(crate) mod ffi;
mod file_layout;
pub(crate) mod input_file;
mod interleave;
pub(crate) mod messages;
mod mp4_clock;
pub(crate) mod mp4_writer;
mod picture_filter;
pub(crate) mod pipeline;
pub(crate) mod rung_encoder;
pub(crate) mod source;
pub(crate) mod still_maker;
mod subtitle_track;
mod thread_budget;
pub(crate) mod timeline;
pub(crate) mod ts_continuity;
pub(crate) mod ts_segmenter;
mod undeclared_length;
mod video_decoder;

/// Whether a libav receive call failed only because there is nothing more to take now
/// (`EAGAIN`: feed more input) or ever (`EOF`: flushed).
pub(crate) fn drained(error: &ffmpeg_next::Error) -> bool {
    match error {
        ffmpeg_next::Error::Eof => true,
        ffmpeg_next::Error::Other { errno } => *errno == ffmpeg_next::error::EAGAIN,
        _ => false,
    }
}
