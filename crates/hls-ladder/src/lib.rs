//! # hls-ladder
//!
//! Converts a video file into an HTTP Live Streaming (HLS) ladder entirely in-process through
//! libav: decode once, scale and encode H.264 per rendition in parallel, encode AAC once, mux
//! MPEG-TS segments into memory and hand them to a [`Sink`] as they are produced.
//!
//! ```no_run
//! use hls_ladder::{convert, ConvertOptions, DirectorySink};
//!
//! let report = convert("input.mp4", &ConvertOptions::default(), DirectorySink::new("out")?, |progress| {
//!     eprintln!("{:?}% at {:.1}x realtime", progress.percent, progress.speed);
//! })?;
//! println!("master playlist: out/{}", report.master_playlist);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Start with [`convert`], [`plan`] and [`ConvertOptions`]; see [`Sink`] to publish elsewhere
//! (the crate's `examples/` has a progress bar and a sink that uploads to S3).
//!
//! ## Features
//!
//! None is needed: a plain dependency is the whole engine, with no async runtime, database,
//! HTTP or AWS crate in its tree. `openapi` (off by default) derives `utoipa::ToSchema` on the
//! report types, for a service that describes them in its OpenAPI document. The `hls-ladder`
//! command and the HTTP service are the `hls-ladder-server` package, built on this one.

mod cancel;
pub mod captions;
mod convert;
mod error;
mod error_code;
pub mod hls;
pub mod ladder;
mod limits;
mod media;
mod options;
mod plan;
mod progress;
mod publisher;
mod report;
mod resume;
mod segmenting;
pub mod sink;
mod source_info;
pub mod stills;

pub use cancel::CancelToken;
pub use convert::{convert, convert_with_cancel, resume_with_cancel};
pub use error::{Error, LibavError};
pub use error_code::{ErrorCode, Limit, UnknownErrorCode};
pub use ladder::Rendition;
pub use limits::SourceLimits;
pub use media::demuxers::ALLOWED_DEMUXERS;

pub use options::{ConvertOptions, DEFAULT_LADDER, Preset, Rung};
pub use plan::{Plan, PlannedRendition, plan, probe, probe_with_limits};
pub use progress::{Progress, RenditionProgress};
pub use report::{AudioReport, ConvertReport, DownloadReport, MASTER_PLAYLIST, RenditionReport};
pub use resume::ResumePoint;
pub use sink::{DirectorySink, FileObject, HlsObject, MemorySink, ObjectKind, Sink, SinkError};
pub use source_info::{AudioInfo, MAX_AUDIO_TRACKS, SourceInfo, SubtitleInfo};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
