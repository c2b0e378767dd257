//! The conversion workers: claim jobs from PostgreSQL, convert on blocking threads, publish to
//! S3, record the outcome.
//!
//! anyhow inside; the outcome a client sees is a stable code and a message on the row.

mod conversion_job;
pub mod janitor;
mod worker_pool;

pub(crate) use conversion_job::upload_path;
pub use worker_pool::{WorkerPool, WorkerSettings};
