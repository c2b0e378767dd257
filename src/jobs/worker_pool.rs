//! A pool of workers, each claiming one job at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::conversion_job::ConversionJob;
use super::janitor;
use super::worker_settings::WorkerSettings;
use crate::db::channels::JOBS_CHANNEL;
use crate::db::job_queue;
use crate::db::notifications;
use crate::lease::HeldLease;

/// How often an idle worker looks for work when no notification comes.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long after a lease runs out a waiting worker looks again (clocks of the database and
/// the worker differ by the query's time).
const LEASE_EXPIRY_MARGIN: Duration = Duration::from_millis(50);

/// Running workers.
pub struct WorkerPool {
    tasks: JoinSet<()>,
    /// Stop taking jobs.
    stop_claiming: CancellationToken,
    /// Hand running jobs back to the queue.
    hand_back: CancellationToken,
}

impl WorkerPool {
    /// Starts `count` workers (and, with any, the notification listener), and the janitor of
    /// the uploads when `janitor` says so.
    pub fn start(settings: WorkerSettings, count: usize, janitor: bool) -> WorkerPool {
        let stop_claiming = CancellationToken::new();
        let hand_back = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        if count > 0 {
            tasks.spawn(notifications::wake_on(
                settings.pool.clone(),
                JOBS_CHANNEL,
                Arc::clone(&wake),
                stop_claiming.clone(),
            ));
        }
        if janitor {
            tasks.spawn(janitor::run(
                settings.pool.clone(),
                settings.uploads.clone(),
                settings.keep_failed_uploads,
                stop_claiming.clone(),
            ));
        }
        for _ in 0..count {
            let worker = Worker {
                id: Uuid::new_v4(),
                settings: settings.clone(),
                wake: Arc::clone(&wake),
                stop_claiming: stop_claiming.clone(),
                hand_back: hand_back.clone(),
            };
            tasks.spawn(worker.run());
        }
        WorkerPool {
            tasks,
            stop_claiming,
            hand_back,
        }
    }

    /// Stops claiming, lets running jobs finish within `grace`, then hands the rest back to
    /// the queue, and waits for every worker to stop.
    pub async fn shut_down(mut self, grace: Duration) {
        self.stop_claiming.cancel();
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!("grace period over; handing running jobs back to the queue");
            self.hand_back.cancel();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

struct Worker {
    id: Uuid,
    settings: WorkerSettings,
    wake: Arc<Notify>,
    stop_claiming: CancellationToken,
    hand_back: CancellationToken,
}

impl Worker {
    async fn run(self) {
        tracing::debug!(worker = %self.id, "worker started");
        while !self.stop_claiming.is_cancelled() {
            match run_next_job(&self.settings, self.hand_back.clone()).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "cannot claim jobs (database unavailable?)"),
            }
            // A job whose worker died is taken over as soon as its lease runs out, not up to
            // a poll interval later: a crash then costs the lease and no more.
            let pause = match job_queue::next_lease_expiry(&self.settings.pool).await {
                Ok(Some(seconds)) => {
                    POLL_INTERVAL.min(Duration::from_secs_f64(seconds) + LEASE_EXPIRY_MARGIN)
                }
                _ => POLL_INTERVAL,
            };
            tokio::select! {
                () = self.stop_claiming.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Claims the next job (pending, or one whose worker's lease ran out) and runs it to its end;
/// its video id, or `None` when no job was waiting. `hand_back` stops the job and gives it
/// back to the queue (the service shutting down).
pub async fn run_next_job(
    settings: &WorkerSettings,
    hand_back: CancellationToken,
) -> sqlx::Result<Option<Uuid>> {
    // Their uploads stay for a retry (the janitor removes them after the retention).
    for id in job_queue::fail_abandoned(&settings.pool).await? {
        tracing::warn!(video_id = %id, "job abandoned by its workers on every attempt; failed");
    }
    // A token of its own for every claim: a later claim of the same job by this worker must
    // not pass for this one.
    let lease_token = Uuid::new_v4();
    let claimed_at = tokio::time::Instant::now();
    let claimed = job_queue::claim(&settings.pool, lease_token, settings.lease.seconds()).await?;
    let Some(job) = claimed else {
        return Ok(None);
    };
    let id = job.id;
    tracing::debug!(video_id = %id, claim = job.claim, "job claimed");
    let job = ConversionJob {
        lease_token,
        lease: HeldLease::claimed(settings.lease, claimed_at),
        job,
        settings: settings.clone(),
        offered: tokio::sync::watch::Sender::new(None),
    };
    job.run(hand_back).await;
    Ok(Some(id))
}
