//! The conversion workers: claim jobs from PostgreSQL, convert on blocking threads, publish to
//! S3, record the outcome.
//!
//! anyhow inside; the outcome a client sees is a stable code and a message on the row.

mod conversion_job;
pub mod janitor;
mod lease_keeper;
mod progress_writer;
mod resume_points;
mod worker_pool;
mod worker_settings;

pub use worker_pool::{WorkerPool, run_next_job};
pub use worker_settings::WorkerSettings;
