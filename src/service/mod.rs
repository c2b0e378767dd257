//! The service behind `hls-ladder serve`: the upload API, the PostgreSQL job queue, the
//! workers, S3 publishing and webhooks, built on the library's engine.
//!
//! It exists only with the `server` feature and is not part of the library's API: it is
//! public so that the command and the service's integration tests can start it, and hidden
//! from the documentation because its items may change in any release. Integrators use the
//! engine at the crate's root.
//!
//! Each adapter sits in its own module: [`api`] (HTTP), [`db`] (SQL), [`storage`] (S3),
//! [`jobs`] (workers and the janitor), [`webhooks`]; [`server`] wires them together and
//! [`config`] is what the command line gives it. [`video_resource`] is a video as clients
//! see it, in API answers and webhook payloads alike, and [`playback_links`] signs the links
//! of private playback; neither knows HTTP, so webhooks do not depend on the API.

pub mod api;
pub(crate) mod backoff;
pub mod config;
pub mod db;
pub mod health_probe;
pub mod http_server;
pub mod imports;
pub mod jobs;
pub mod playback_links;
pub mod server;
pub mod storage;
pub mod upload_parts;
pub mod uploads;
pub mod video_resource;
pub mod video_status;
pub mod webhooks;
