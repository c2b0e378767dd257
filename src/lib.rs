//! # hls-transcoder
//!
//! Converts a video file into an HTTP Live Streaming (HLS) ladder entirely in-process through
//! libav: decode once, scale and encode H.264 per rendition in parallel, encode AAC once, mux
//! MPEG-TS segments into memory and hand them to a [`Sink`] as they are produced.
//!
//! ```no_run
//! use hls_transcoder::{convert, ConvertOptions, DirectorySink};
//!
//! let report = convert("input.mp4", &ConvertOptions::default(), DirectorySink::new("out")?, |progress| {
//!     eprintln!("{:?}% at {:.1}x realtime", progress.percent, progress.speed);
//! })?;
//! println!("master playlist: out/{}", report.master_playlist);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Start with [`convert`], [`plan`] and [`ConvertOptions`]; see [`Sink`] to publish elsewhere.

pub mod api;
mod backoff;
mod cancel;
pub mod cli;
pub mod config;
mod convert;
pub mod db;
mod error;
pub mod hls;
pub mod http_server;
pub mod jobs;
pub mod ladder;
mod limits;
mod media;
mod options;
mod plan;
mod progress;
pub mod server;
pub mod sink;
pub mod storage;
pub mod webhooks;

pub use cancel::CancelToken;
pub use convert::{ConvertReport, MASTER_PLAYLIST, RenditionReport, convert, convert_with_cancel};
pub use error::Error;
pub use ladder::Rendition;
pub use limits::{Limit, SourceLimits};
pub use media::source::{AudioInfo, SourceInfo};
pub use options::{ConvertOptions, DEFAULT_LADDER, Preset, Rung};
pub use plan::{Plan, PlannedRendition, plan, probe, probe_with_limits};
pub use progress::{Progress, RenditionProgress};
pub use sink::{DirectorySink, HlsObject, MemorySink, ObjectKind, Sink, SinkError};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
