//! Keeping a running job's lease: renewed every third of it, checked for a cancel twice a
//! second, and the conversion stopped in time when the lease is lost, a cancel is asked for,
//! the time limit passes or the service hands its jobs back.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::videos;
use hls_ladder::CancelToken;

/// Why a conversion was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopReason {
    /// A client asked.
    CancelRequested,
    /// The service is shutting down: hand the job back.
    ShuttingDown,
    /// Another worker holds the lease now, or may soon: it could not be renewed in time.
    LeaseLost,
    /// It ran past the job time limit.
    TimedOut,
}

/// How long after the last successful renewal a worker stops converting: before the lease
/// can run out, with a sixth of it to spare for the stop itself (at most a packet's decode).
pub(super) fn fence_after(lease_seconds: f64) -> Duration {
    Duration::from_secs_f64(lease_seconds * 5.0 / 6.0)
}

/// Holds a running job's lease: renews it every third of it and stops the conversion when the
/// lease is lost, cannot be renewed in time, a cancel is requested, the time limit passes, or
/// the service hands jobs back.
pub(super) struct LeaseKeeper {
    pub(super) lease_seconds: f64,
    /// When the last renewal that succeeded was asked for (or the claim).
    pub(super) last_renewal: Instant,
    pub(super) time_limit: Duration,
    pub(super) pool: PgPool,
    pub(super) id: Uuid,
    pub(super) lease_token: Uuid,
    pub(super) cancel: CancelToken,
    pub(super) reason: Arc<Mutex<Option<StopReason>>>,
}

impl LeaseKeeper {
    fn stop(&self, why: StopReason) {
        self.reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(why);
        self.cancel.cancel();
    }

    pub(super) async fn run(mut self, hand_back: CancellationToken, done: CancellationToken) {
        let started = Instant::now();
        let period = Duration::from_secs_f64(self.lease_seconds / 3.0);
        let fence = fence_after(self.lease_seconds);
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                () = hand_back.cancelled() => { self.stop(StopReason::ShuttingDown); return; }
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            if started.elapsed() > self.time_limit {
                self.stop(StopReason::TimedOut);
                return;
            }
            // Cancels are looked for twice a second; the lease is renewed every third of it.
            // A query may hang (a partition drops packets rather than refusing them): none may
            // outlive the moment this worker must stop.
            let deadline = self.last_renewal + fence;
            let asked = Instant::now();
            let renew = asked.duration_since(self.last_renewal) >= period;
            let query = async {
                if renew {
                    videos::heartbeat(&self.pool, self.id, self.lease_token, self.lease_seconds)
                        .await
                } else {
                    videos::cancel_requested(&self.pool, self.id, self.lease_token).await
                }
            };
            let outcome = tokio::time::timeout_at(deadline.into(), query).await;
            match outcome {
                Ok(Ok(Some(true))) => self.stop(StopReason::CancelRequested),
                Ok(Ok(Some(false))) => {
                    if renew {
                        self.last_renewal = asked;
                    }
                }
                Ok(Ok(None)) => self.stop(StopReason::LeaseLost),
                Ok(Err(error)) => tracing::warn!(%error, "heartbeat failed"),
                Err(_) => tracing::warn!("heartbeat timed out"),
            }
            if Instant::now() >= self.last_renewal + fence {
                // Another worker may claim the job once the lease runs out: stop before that.
                tracing::warn!(
                    seconds = self.last_renewal.elapsed().as_secs_f64(),
                    "the lease could not be renewed in time; stopping the conversion"
                );
                self.stop(StopReason::LeaseLost);
                return;
            }
        }
    }
}
