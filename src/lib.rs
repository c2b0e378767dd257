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
//! The library is the engine documented here, and needs no feature: depend on it with
//! `default-features = false` to leave out the command (`cli`) and the service (`server`),
//! which are on by default for `cargo install` and the repository's own builds. Without them
//! the crate pulls no async runtime, database, HTTP or AWS crate.

mod cancel;
pub mod captions;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
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
mod resume;
#[cfg(feature = "server")]
#[doc(hidden)]
pub mod service;
pub mod sink;
pub mod stills;

pub use cancel::CancelToken;
pub use convert::{
    AudioReport, ConvertReport, DownloadReport, MASTER_PLAYLIST, RenditionReport, convert,
    convert_with_cancel, resume_with_cancel,
};
pub use error::{Error, LibavError};
pub use error_code::{ErrorCode, UnknownErrorCode};
pub use ladder::Rendition;
pub use limits::{Limit, SourceLimits};
pub use media::source::{AudioInfo, MAX_AUDIO_TRACKS, SourceInfo};
pub use options::{ConvertOptions, DEFAULT_LADDER, Preset, Rung};
pub use plan::{Plan, PlannedRendition, plan, probe, probe_with_limits};
pub use progress::{Progress, RenditionProgress};
pub use resume::ResumePoint;
pub use sink::{DirectorySink, FileObject, HlsObject, MemorySink, ObjectKind, Sink, SinkError};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
