//! Waking idle workers when a job is queued: LISTEN/NOTIFY, with polling as a fallback.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::videos::JOBS_CHANNEL;

/// Listens on the jobs channel and wakes one worker per notification; reconnects after a
/// database outage. Workers also poll, so a missed notification only delays a job.
pub(super) async fn listen(pool: PgPool, wake: Arc<Notify>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        tokio::select! {
            () = stop.cancelled() => return,
            error = forward_notifications(&pool, &wake) => {
                tracing::warn!(%error, "job notifications interrupted; reconnecting");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn forward_notifications(pool: &PgPool, wake: &Notify) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(JOBS_CHANNEL).await {
        return error;
    }
    loop {
        match listener.recv().await {
            Ok(_) => wake.notify_one(),
            Err(error) => return error,
        }
    }
}
