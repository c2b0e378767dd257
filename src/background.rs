//! The service's background work, and a handle to run it on demand.
//!
//! A process runs four kinds of work besides answering requests: conversions (the workers),
//! URL imports (the import pool), the janitor's sweeps, and webhook deliveries. By default
//! each runs by itself ([`FreeRunning::all`]). A test can take some into its own hands
//! ([`FreeRunning`] with them off) and run them when it says so with [`BackgroundJobs`], as
//! zero2prod's `dispatch_all_pending_emails` and crates.io's `run_pending_background_jobs`
//! do: what it then checks happened because it asked, not because a worker was quick.

use std::time::Duration;

use uuid::Uuid;

use crate::imports::import_pool::{self, ImportPool};
use crate::jobs::{WorkerSettings, janitor, run_next_job};

/// Which background work runs by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeRunning {
    /// The workers claim and convert jobs (`WORKERS` of them, on converting processes).
    pub conversions: bool,
    /// The import pool downloads imports (on API processes).
    pub imports: bool,
    /// The janitor sweeps uploads no job needs every minute.
    pub janitor: bool,
    /// The dispatcher sends webhooks (on converting processes).
    pub webhooks: bool,
}

impl FreeRunning {
    /// Everything runs by itself: what `hls-ladder serve` does.
    pub const fn all() -> FreeRunning {
        FreeRunning {
            conversions: true,
            imports: true,
            janitor: true,
            webhooks: true,
        }
    }
}

impl Default for FreeRunning {
    fn default() -> FreeRunning {
        FreeRunning::all()
    }
}

/// Runs the service's background work when its holder says so (see [`FreeRunning`]).
#[derive(Clone)]
pub struct BackgroundJobs {
    pub(crate) workers: WorkerSettings,
    pub(crate) imports: ImportPool,
}

impl BackgroundJobs {
    /// Claims the next conversion job (pending, or one whose worker's lease ran out) and runs
    /// it to its end, as a worker does; its video id, or `None` when no job was waiting.
    pub async fn run_next_job(&self) -> sqlx::Result<Option<Uuid>> {
        run_next_job(&self.workers, Default::default()).await
    }

    /// Runs conversion jobs until none is waiting; the ids of the videos they were for.
    pub async fn run_pending_jobs(&self) -> sqlx::Result<Vec<Uuid>> {
        let mut ran = Vec::new();
        while let Some(id) = self.run_next_job().await? {
            ran.push(id);
        }
        Ok(ran)
    }

    /// Claims the next import and downloads, examines and queues it (or fails it), as the
    /// import pool does; its video id, or `None` when no import was waiting.
    pub async fn run_next_import(&self) -> sqlx::Result<Option<Uuid>> {
        import_pool::run_next(&self.imports).await
    }

    /// One round of the janitor, counting as orphans the uploads with no video untouched for
    /// `orphan_age`; how many uploads it removed.
    pub async fn sweep_uploads(&self, orphan_age: Duration) -> anyhow::Result<usize> {
        let (pool, uploads) = (&self.workers.pool, &self.workers.uploads);
        janitor::sweep_all(pool, uploads, self.workers.keep_failed_uploads, orphan_age).await
    }
}
