//! Waking idle tasks when something is queued (a job, a webhook): LISTEN/NOTIFY, with
//! polling in the caller as a fallback.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Listens on `channel` and wakes one waiter per notification; reconnects after a database
/// outage. Waiters also poll, so a missed notification only delays them.
pub(crate) async fn listen(
    pool: PgPool,
    channel: &'static str,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        tokio::select! {
            () = stop.cancelled() => return,
            error = forward_notifications(&pool, channel, &wake) => {
                tracing::warn!(%error, channel, "notifications interrupted; reconnecting");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn forward_notifications(pool: &PgPool, channel: &str, wake: &Notify) -> sqlx::Error {
    let mut listener = match super::listener(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(channel).await {
        return error;
    }
    loop {
        match listener.recv().await {
            Ok(_) => wake.notify_one(),
            Err(error) => return error,
        }
    }
}
