//! # hls-ladder-server
//!
//! The service behind `hls-ladder serve` (the upload API, the PostgreSQL job queue, the
//! workers, S3 publishing, webhooks) and the `hls-ladder` command, built on the engine, the
//! [`hls_ladder`] library, through its public API only.
//!
//! This library exists for the binary and for the service's integration tests; its items may
//! change in any release. To convert videos from Rust, depend on `hls-ladder` instead.
//!
//! Each adapter sits in its own module: [`api`] (HTTP), [`db`] (SQL), [`storage`] (S3),
//! [`jobs`] (workers and the janitor), [`imports`] (URL imports), [`webhooks`]; [`server`]
//! wires them together, [`config`] is what the command line gives it, and [`cli`] is the
//! command. [`video_resource`] is a video as clients see it, in API answers and webhook
//! payloads alike, and [`playback_links`] signs the links of private playback; neither knows
//! HTTP, so webhooks do not depend on the API.

pub mod api;
pub mod background;
pub(crate) mod backoff;
pub mod cli;
pub mod config;
pub mod db;
pub mod health_probe;
pub mod http_server;
pub mod imports;
pub mod intake;
pub mod jobs;
pub mod lease;
pub mod playback_links;
pub mod probe_protocol;
pub mod server;
pub mod storage;
pub mod units;
pub mod upload_parts;
pub mod uploads;
pub mod video_resource;
pub mod video_status;
pub mod webhooks;

/// The README's Rust examples, compiled and run as doc tests (its shell sessions are run by
/// `tests/api`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
