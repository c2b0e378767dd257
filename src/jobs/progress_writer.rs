//! Writing a running job's progress to its row: the newest value, at most every
//! [`PROGRESS_INTERVAL`] (so clients polling or streaming see about ten updates a second).

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::job_queue;

/// How often a job's progress is written at most.
pub(super) const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Writes the newest progress at most every [`PROGRESS_INTERVAL`]; returns the last one.
pub(super) async fn save_progress(
    pool: PgPool,
    id: Uuid,
    worker: Uuid,
    mut updates: watch::Receiver<Option<Value>>,
    done: CancellationToken,
) -> Option<Value> {
    let mut last = None;
    loop {
        tokio::select! {
            () = done.cancelled() => return updates.borrow().clone().or(last),
            changed = updates.changed() => if changed.is_err() { return last; },
        }
        let progress = updates.borrow_and_update().clone();
        if let Some(progress) = &progress {
            if let Err(error) = job_queue::save_progress(&pool, id, worker, progress).await {
                tracing::debug!(%error, "progress not saved");
            }
        }
        last = progress;
        // The pause must end with the conversion: the job records its outcome only after
        // this task returns, and an uninterrupted sleep delayed it by up to the interval.
        tokio::select! {
            () = done.cancelled() => return updates.borrow().clone().or(last),
            () = tokio::time::sleep(PROGRESS_INTERVAL) => {}
        }
    }
}
