//! Keeping a running job's lease: renewed every third of it, checked for a cancel twice a
//! second, and the conversion stopped in time when the lease is lost, a cancel is asked for,
//! the time limit passes or the service hands its jobs back.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::PgPool;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::job_queue;
use crate::lease::{HeldLease, Renewal};
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

/// Holds a running job's lease: renews it every third of it and stops the conversion when the
/// lease is lost, cannot be renewed in time, a cancel is requested, the time limit passes, or
/// the service hands jobs back.
pub(super) struct LeaseKeeper {
    /// The job's lease, as the claim (or the fetch of its upload) left it.
    pub(super) lease: HeldLease,
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
            // Cancels are looked for twice a second; the lease is renewed when due. Either
            // query answers whether a cancel was asked for, or that the lease is lost.
            let (pool, id, token) = (&self.pool, self.id, self.lease_token);
            let renewal = if self.lease.due(Instant::now()) {
                let seconds = self.lease.terms().seconds();
                self.lease
                    .renew(job_queue::heartbeat(pool, id, token, seconds))
                    .await
            } else {
                let deadline = self.lease.deadline();
                match tokio::time::timeout_at(
                    deadline,
                    job_queue::cancel_requested(pool, id, token),
                )
                .await
                {
                    Ok(Ok(Some(cancel))) => Renewal::Held(cancel),
                    Ok(Ok(None)) => Renewal::Lost,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "could not look for a cancel request");
                        Renewal::Failed
                    }
                    Err(_) => Renewal::Failed,
                }
            };
            match renewal {
                Renewal::Held(true) => self.stop(StopReason::CancelRequested),
                Renewal::Held(false) | Renewal::Failed => {}
                Renewal::Lost => self.stop(StopReason::LeaseLost),
            }
            if self.lease.expired(Instant::now()) {
                // Another worker may claim the job once the lease runs out: stop before that.
                tracing::warn!(
                    seconds = self.lease.since_renewal().as_secs_f64(),
                    "the lease could not be renewed in time; stopping the conversion"
                );
                self.stop(StopReason::LeaseLost);
                return;
            }
        }
    }
}
