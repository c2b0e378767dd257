//! LISTEN/NOTIFY: a listener on a connection of its own that reconnects after a database
//! outage and says when notifications may have been missed, and on it, waking idle tasks
//! when something is queued (a job, a webhook; they also poll).

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What a listener hears.
pub(crate) enum Heard<'a> {
    /// A notification, with its payload.
    Notification(&'a str),
    /// Listening (again), at the start or after a lost connection: notifications sent
    /// meanwhile are gone.
    MayHaveMissed,
}

/// Listens on `channel` until `stop`, handing `on` what it hears; reconnects after a database
/// outage (a second later, and again until it can).
pub(crate) async fn listen(
    pool: PgPool,
    channel: &'static str,
    stop: CancellationToken,
    mut on: impl FnMut(Heard<'_>),
) {
    while !stop.is_cancelled() {
        tokio::select! {
            () = stop.cancelled() => return,
            error = forward(&pool, channel, &mut on) => {
                tracing::warn!(%error, channel, "notifications interrupted; reconnecting");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Wakes one waiter per notification on `channel` until `stop`. Waiters also poll, so a
/// missed notification only delays them.
pub(crate) async fn wake_on(
    pool: PgPool,
    channel: &'static str,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    listen(pool, channel, stop, |heard| {
        if let Heard::Notification(_) = heard {
            wake.notify_one();
        }
    })
    .await;
}

async fn forward(pool: &PgPool, channel: &str, on: &mut impl FnMut(Heard<'_>)) -> sqlx::Error {
    let mut listener = match connect(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(channel).await {
        return error;
    }
    on(Heard::MayHaveMissed);
    loop {
        // `try_recv` rather than `recv`: both reconnect by themselves after a lost connection,
        // but only this one says so (`None`).
        match listener.try_recv().await {
            Ok(Some(notification)) => on(Heard::Notification(notification.payload())),
            Ok(None) => {
                tracing::warn!(channel, "notifications interrupted; listening again");
                on(Heard::MayHaveMissed);
            }
            Err(error) => return error,
        }
    }
}

/// A LISTEN connection of its own, outside `pool`: a listener holds its connection for as
/// long as it runs, and the pool's few connections are for queries. A process opens up to
/// three (jobs, video changes, webhooks) besides its pool.
async fn connect(pool: &PgPool) -> sqlx::Result<PgListener> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with((*pool.connect_options()).clone());
    PgListener::connect_with(&own).await
}
