//! One claimed job: convert the upload on a blocking thread while a heartbeat keeps the lease,
//! progress is saved at most ten times a second, and segments upload to S3; then record the
//! outcome.
//!
//! A claim writes only under its own prefix, `videos/{id}/{claim}/`, and deletes only that
//! prefix or those of earlier claims of the video (which lost their lease, so none of them can
//! complete). A worker that cannot renew its lease stops converting before the lease runs out
//! (self-fencing), so by the time another worker may claim the job this one has stopped; and
//! whatever it still did could not reach the new claim's output.
//!
//! Resuming: a claim continues after the segments the resume point saved by an earlier claim
//! names (`resume_points.rs`), and its playlists name them where they are, under that claim's
//! prefix. Those segments are kept by every cleanup until the video completes, fails or is
//! canceled; a claim that lost its lease removes only what it wrote beyond the last point it
//! offered, which is the most a newer claim can be resuming from.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::lease_keeper::{LeaseKeeper, StopReason};
use super::progress_writer::save_progress;
use super::resume_points::{self, Start};
use super::worker_settings::WorkerSettings;
use crate::backoff::Backoff;
use crate::db::is_transient;
use crate::db::job_queue::{self, ClaimedJob, Completion, Requeue};
use crate::db::videos;
use crate::lease::{HeldLease, Renewal};
use crate::storage::{StorageError, StoreSink, claim_prefix};
use crate::uploads::{Upload, UploadLocation};
use crate::video_status::VideoStatus;
use hls_ladder::{
    CancelToken, ConvertReport, Error, MASTER_PLAYLIST, ObjectKind, Progress, ResumePoint,
    convert_with_cancel, resume_with_cancel,
};

/// What becomes of a failed job's upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterFailure {
    /// The failure was ours (a timeout, an outage): the upload stays for a retry.
    KeepUpload,
    /// The video itself cannot be converted, or its upload is gone: nothing to retry with.
    DiscardUpload,
}

/// How long the outcome of a finished conversion is retried during a database outage.
const PERSIST_PATIENCE: Duration = Duration::from_secs(600);

pub(super) struct ConversionJob {
    /// This claim's lease token: every owner-checked write names it.
    pub(super) lease_token: Uuid,
    /// The job's lease, from when the claim was asked for.
    pub(super) lease: HeldLease,
    pub(super) job: ClaimedJob,
    pub(super) settings: WorkerSettings,
    /// The newest resume point this claim's conversion offered (its segments stored).
    pub(super) offered: watch::Sender<Option<Arc<ResumePoint>>>,
}

impl ConversionJob {
    #[tracing::instrument(skip_all, fields(video_id = %self.job.id, attempt = self.job.attempt))]
    pub(super) async fn run(self, hand_back: CancellationToken) {
        let id = self.job.id;
        let pool = self.settings.pool.clone();
        let mut lease = self.lease;
        let Some(path) = self.fetch_source(&mut lease).await else {
            return;
        };
        let start =
            resume_points::load(&pool, self.settings.store.as_ref(), id, self.job.claim).await;
        let (resume, refused_at_start) = match start {
            Start::Resume(resumable) => (Some(*resumable), None),
            Start::FromTheBeginning(reason) => (None, reason),
        };
        let kept = resume.as_ref().map(|r| r.keys.clone()).unwrap_or_default();
        // An earlier claim may have died mid-way, or been handed back at shutdown: what it
        // wrote is garbage now, but for the segments this claim resumes after. Removed beside
        // the conversion, so that a slow bucket cannot hold the job outside the lease keeping.
        {
            let (store, claim) = (Arc::clone(&self.settings.store), self.job.claim);
            let kept = kept.clone();
            tokio::spawn(async move {
                if let Err(error) = store.delete_claims_before(id, claim, &kept).await {
                    tracing::warn!(%error, "could not remove earlier claims' output");
                }
            });
        }
        tracing::info!("conversion started");
        let started = Instant::now();
        let cancel = CancelToken::new();
        let reason = Arc::new(Mutex::new(None));
        let done = CancellationToken::new();
        let (progress_tx, progress_rx) = watch::channel::<Option<Value>>(None);

        let heartbeat = tokio::spawn(
            LeaseKeeper {
                lease,
                time_limit: self.settings.job_timeout,
                pool: pool.clone(),
                id,
                lease_token: self.lease_token,
                cancel: cancel.clone(),
                reason: Arc::clone(&reason),
            }
            .run(hand_back, done.clone()),
        );
        let writer = tokio::spawn(save_progress(
            pool.clone(),
            id,
            self.lease_token,
            progress_rx,
            done.clone(),
        ));
        let point_saver = tokio::spawn(resume_points::save(
            pool.clone(),
            id,
            self.lease_token,
            self.job.claim,
            self.offered.subscribe(),
            done.clone(),
        ));

        // Publishing progressively, the video is playable once its first master playlist is
        // stored: the row says so at once (the `playable` event and webhook).
        let (playable, stored_master) = tokio::sync::oneshot::channel::<()>();
        let playable = Mutex::new(Some(playable));
        let sink = StoreSink::new(
            tokio::runtime::Handle::current(),
            Arc::clone(&self.settings.store),
            self.output_prefix(),
            self.settings.upload_concurrency,
        )
        .on_stored(move |kind| {
            if *kind == (ObjectKind::MasterPlaylist { growing: true }) {
                let sender = playable
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(sender) = sender {
                    let _ = sender.send(());
                }
            }
        })
        .on_resume_point({
            let offered = self.offered.clone();
            move |point| {
                offered.send_replace(Some(point));
            }
        });
        let announcer = tokio::spawn(announce_playable(
            pool.clone(),
            id,
            self.lease_token,
            self.playback_url(),
            self.output_prefix(),
            stored_master,
        ));
        let mut options = self.settings.options.clone();
        if let Some(asked) = self.job.mp4_download {
            options.mp4_download = asked;
        }
        let span = tracing::Span::current();
        let converted = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut sink = sink;
            let on_progress = |p: &Progress| {
                progress_tx.send_replace(serde_json::to_value(p).ok());
            };
            let result = match resume {
                Some(resumable) => resume_with_cancel(
                    &path,
                    &options,
                    &resumable.point,
                    &mut sink,
                    on_progress,
                    &cancel,
                ),
                None => convert_with_cancel(&path, &options, &mut sink, on_progress, &cancel),
            };
            (result, sink.uploaded_bytes())
        })
        .await;
        done.cancel();
        // Announced (or not to be) before the outcome, so `playable` never follows it; the
        // last resume point saved before a hand-back.
        let _ = announcer.await;
        let _ = heartbeat.await;
        let _ = point_saver.await;
        let last_progress = writer.await.ok().flatten();
        let stop_reason = *reason.lock().unwrap_or_else(PoisonError::into_inner);
        metrics::histogram!("hls_conversion_seconds").record(started.elapsed().as_secs_f64());

        match converted {
            Ok((Ok(mut report), uploaded)) => {
                if report.resume_refused.is_none() && report.resumed_from_segment.is_none() {
                    report.resume_refused = refused_at_start;
                }
                let kept = if report.resumed_from_segment.is_some() {
                    kept
                } else {
                    BTreeSet::new()
                };
                self.record_success(report, uploaded, last_progress, &kept)
                    .await
            }
            Ok((Err(Error::Canceled), _)) => self.record_stop(stop_reason).await,
            Ok((Err(error), _)) => self.record_error(&error).await,
            Err(panic) => {
                tracing::error!(%panic, "the conversion thread panicked");
                let message = "the conversion crashed; it will be retried";
                self.retry_or_fail("internal-error", message).await;
            }
        }
    }

    /// Records the completion; `kept` are the earlier claims' segments its playlists name.
    async fn record_success(
        &self,
        report: ConvertReport,
        uploaded: u64,
        progress: Option<Value>,
        kept: &BTreeSet<String>,
    ) {
        let id = self.job.id;
        let done = Completion {
            playback_url: self.playback_url(),
            output_prefix: self.output_prefix(),
            renditions: serde_json::to_value(&report.renditions).unwrap_or(Value::Null),
            duration_seconds: report.duration,
            output_bytes: i64::try_from(uploaded).unwrap_or(i64::MAX),
            progress: progress.unwrap_or(Value::Null),
            resumed_from_segment: report
                .resumed_from_segment
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            resume_refused: report.resume_refused.clone(),
            stills: report
                .stills
                .as_ref()
                .and_then(|stills| serde_json::to_value(stills).ok()),
            subtitles: serde_json::to_value(&report.subtitles).unwrap_or(Value::Null),
            downloads: serde_json::to_value(&report.downloads).unwrap_or(Value::Null),
        };
        let recorded = persist("recording the completion", || {
            job_queue::complete(&self.settings.pool, id, self.lease_token, &done)
        })
        .await;
        match recorded {
            Ok(true) => {
                tracing::info!(
                    seconds = report.elapsed.as_secs_f64(),
                    "conversion completed"
                );
                self.discard_source().await;
                // A worker that lost an earlier claim may have written after our start.
                self.remove_earlier_claims(kept).await;
            }
            Ok(false) => {
                tracing::warn!("completed, but the job was taken over meanwhile");
                self.remove_own_output_beyond_offered().await;
            }
            Err(error) => tracing::error!(%error, "completed, but the database did not record it"),
        }
    }

    async fn record_stop(&self, reason: Option<StopReason>) {
        let pool = &self.settings.pool;
        let id = self.job.id;
        match reason {
            Some(StopReason::ShuttingDown) => {
                tracing::info!("handing the job back to the queue");
                let released = persist("handing the job back", || {
                    job_queue::release(pool, id, self.lease_token, Requeue::ShuttingDown, None)
                })
                .await;
                if let Err(error) = released {
                    tracing::error!(%error, "could not hand the job back; its lease will expire");
                }
                self.drop_local_copy().await;
            }
            Some(StopReason::LeaseLost) => {
                // What this claim wrote is nobody's output: the job is another claim's now,
                // which may be resuming after the segments of our last resume point.
                match videos::get(pool, id).await {
                    // Deleted while running: nothing of it is needed any more.
                    Ok(None) => {
                        self.remove_own_output().await;
                        self.discard_source().await;
                    }
                    _ => {
                        tracing::warn!("lease lost; another worker owns the job, or will");
                        self.remove_own_output_beyond_offered().await;
                        self.drop_local_copy().await;
                    }
                }
            }
            Some(StopReason::TimedOut) => {
                let message = format!(
                    "the conversion ran longer than the limit of {} s (JOB_TIMEOUT_SECONDS) and was stopped; retry it, or raise the limit",
                    self.settings.job_timeout.as_secs()
                );
                self.record_failure("job-timeout", &message, AfterFailure::KeepUpload)
                    .await;
            }
            Some(StopReason::CancelRequested) | None => {
                // Clean up first: once the status is final, nothing of the video is public.
                self.remove_output_to_date().await;
                let recorded = persist("recording the cancel", || {
                    job_queue::finish_unsuccessfully(
                        pool,
                        id,
                        self.lease_token,
                        VideoStatus::Canceled,
                        None,
                    )
                })
                .await;
                if let Err(error) = recorded {
                    tracing::error!(%error, "could not record the cancel");
                }
                self.discard_source().await;
            }
        }
    }

    async fn record_error(&self, error: &Error) {
        if error.is_client_error() {
            tracing::info!(code = error.code(), %error, "the video cannot be converted");
            self.record_failure(
                error.code(),
                &error.to_string(),
                AfterFailure::DiscardUpload,
            )
            .await;
        } else if matches!(error, Error::Sink { .. }) {
            tracing::warn!(%error, "publishing to storage failed");
            let message = format!("storing the output failed: {error}");
            self.retry_or_fail("storage-unavailable", &message).await;
        } else {
            tracing::error!(code = error.code(), %error, "conversion failed");
            self.record_failure(error.code(), &error.to_string(), AfterFailure::KeepUpload)
                .await;
        }
    }

    /// Puts the job back with a backoff while attempts remain; else fails it.
    async fn retry_or_fail(&self, code: &str, message: &str) {
        if self.job.attempt < self.job.max_attempts {
            let delay = 5.0 * f64::from(self.job.attempt);
            let error = Some((code, message));
            let released = persist("putting the job back", || {
                job_queue::release(
                    &self.settings.pool,
                    self.job.id,
                    self.lease_token,
                    Requeue::Retry {
                        delay_seconds: delay,
                    },
                    error,
                )
            })
            .await;
            if let Err(db) = released {
                tracing::error!(error = %db, "could not put the job back; its lease will expire");
            }
            self.drop_local_copy().await;
        } else {
            let message = format!(
                "{message} (gave up after {} attempts; POST /v1/videos/{}/retry queues it again)",
                self.job.attempt, self.job.id
            );
            self.record_failure(code, &message, AfterFailure::KeepUpload)
                .await;
        }
    }

    /// Fails the job, keeping its upload for `POST /v1/videos/{id}/retry` (until the
    /// janitor's retention runs out) when the failure was not the video's fault.
    async fn record_failure(&self, code: &str, message: &str, upload: AfterFailure) {
        let keep_source = upload == AfterFailure::KeepUpload;
        let pool = &self.settings.pool;
        let error = Some((code, message));
        self.remove_output_to_date().await;
        // A source that cannot be converted goes before the status is final, so a client that
        // sees `failed` and asks for a retry at once is told the upload is gone, instead of
        // queueing a job whose source is being removed. A crash in between fails the next
        // attempt with `source-missing`, which asks for a new upload too.
        if !keep_source {
            self.discard_source().await;
        }
        let recorded = persist("recording the failure", || {
            job_queue::finish_unsuccessfully(
                pool,
                self.job.id,
                self.lease_token,
                VideoStatus::Failed,
                error,
            )
        })
        .await;
        if let Err(db) = recorded {
            tracing::error!(error = %db, "could not record the failure");
        }
        if keep_source {
            self.drop_local_copy().await;
        }
    }

    /// The file to convert: the local upload, or one staged in the bucket by an API on
    /// another machine, fetched here; `None` when the job ended here (its outcome recorded,
    /// or its lease lost).
    async fn fetch_source(&self, lease: &mut HeldLease) -> Option<PathBuf> {
        // A big upload may take longer than the lease to fetch: keep renewing it meanwhile, and
        // give up, as the conversion would, when it cannot be renewed in time.
        let upload = self.upload();
        let fetch = self.settings.uploads.fetch(&upload);
        tokio::pin!(fetch);
        let (pool, id, token) = (&self.settings.pool, self.job.id, self.lease_token);
        let seconds = lease.terms().seconds();
        let fetched = loop {
            tokio::select! {
                result = &mut fetch => break result,
                () = tokio::time::sleep(lease.terms().renew_every()) => {
                    let renewal = lease.renew(job_queue::heartbeat(pool, id, token, seconds)).await;
                    if renewal == Renewal::Lost {
                        tracing::warn!("lease lost while fetching the upload");
                        self.drop_local_copy().await;
                        return None;
                    }
                    if lease.expired(tokio::time::Instant::now()) {
                        tracing::warn!("the lease could not be renewed in time; leaving the job to another worker");
                        self.drop_local_copy().await;
                        return None;
                    }
                }
            }
        };
        match fetched {
            Ok(path) => return Some(path),
            Err(StorageError::NotFound { .. }) => {
                let message = match upload.location {
                    UploadLocation::Staged { .. } => {
                        "the staged upload is no longer in the bucket; upload the video again"
                    }
                    UploadLocation::Local => {
                        "the uploaded file is no longer on the server; upload the video again"
                    }
                };
                self.record_failure("source-missing", message, AfterFailure::DiscardUpload)
                    .await;
            }
            Err(error) => {
                tracing::warn!(%error, "fetching the staged upload failed");
                let message = format!("fetching the upload from storage failed: {error}");
                self.retry_or_fail("storage-unavailable", &message).await;
            }
        }
        None
    }

    /// The job's upload, where its row says it is.
    fn upload(&self) -> Upload {
        Upload::of(self.job.id, self.job.source_key.as_deref())
    }

    /// The upload is needed no more: removes the local file and the staged object, if any.
    async fn discard_source(&self) {
        self.settings.uploads.discard(&self.upload()).await;
    }

    /// For a staged upload, removes this machine's copy: the next attempt may run anywhere and
    /// fetches it again.
    async fn drop_local_copy(&self) {
        self.settings.uploads.drop_local_copy(&self.upload()).await;
    }

    /// Where players find this claim's master playlist.
    fn playback_url(&self) -> String {
        let key = format!("{}{MASTER_PLAYLIST}", self.output_prefix());
        self.settings.store.public_url(&key)
    }

    /// Where this claim writes: `videos/{id}/{claim}/`.
    fn output_prefix(&self) -> String {
        claim_prefix(self.job.id, self.job.claim)
    }

    /// Removes what this claim wrote: after a failure or a cancel, so no half video stays
    /// public, or after losing the lease. Never anything of another claim.
    async fn remove_own_output(&self) {
        if let Err(error) = self
            .settings
            .store
            .delete_prefix(&self.output_prefix())
            .await
        {
            tracing::warn!(%error, "could not remove partial output");
        }
    }

    /// Removes what this claim and the earlier ones wrote, the segments it resumed after
    /// included: the video fails or is canceled, nothing of it stays public or resumable.
    async fn remove_output_to_date(&self) {
        let store = &self.settings.store;
        let (id, claim) = (self.job.id, self.job.claim);
        let nothing = BTreeSet::new();
        if let Err(error) = store.delete_claims_before(id, claim + 1, &nothing).await {
            tracing::warn!(%error, "could not remove partial output");
        }
    }

    /// After losing the job: removes what this claim wrote but for the segments of the last
    /// resume point it offered, which the claim that took the job over may be resuming after
    /// (the point it reads was saved at the latest as this one was offered).
    async fn remove_own_output_beyond_offered(&self) {
        let offered = self.offered.borrow().clone();
        let keep = offered
            .and_then(|point| resume_points::segment_keys(&point, self.job.id, self.job.claim))
            .unwrap_or_default();
        if keep.is_empty() {
            return self.remove_own_output().await;
        }
        let store = &self.settings.store;
        let keys = match store.list(&self.output_prefix()).await {
            Ok(objects) => objects
                .into_iter()
                .map(|o| o.key)
                .filter(|key| !keep.contains(key))
                .collect::<Vec<_>>(),
            Err(error) => {
                tracing::warn!(%error, "could not list this claim's output");
                return;
            }
        };
        if let Err(error) = store.delete_keys(&keys).await {
            tracing::warn!(%error, "could not remove partial output");
        }
    }

    /// Removes what earlier claims of the video wrote, but for the segments in `kept` (which
    /// the completed playlists name): those claims lost their lease, so none of them is the
    /// output, and a later claim's is never touched.
    async fn remove_earlier_claims(&self, kept: &BTreeSet<String>) {
        let store = &self.settings.store;
        if let Err(error) = store
            .delete_claims_before(self.job.id, self.job.claim, kept)
            .await
        {
            tracing::warn!(%error, "could not remove earlier claims' output");
        }
    }
}

/// Records that the video became playable once `stored_master` says its first master playlist
/// is stored; nothing when the conversion ends without one (publishing at the end, a failure).
async fn announce_playable(
    pool: sqlx::PgPool,
    id: Uuid,
    lease_token: Uuid,
    playback_url: String,
    output_prefix: String,
    stored_master: tokio::sync::oneshot::Receiver<()>,
) {
    if stored_master.await.is_err() {
        return;
    }
    match job_queue::mark_playable(&pool, id, lease_token, &playback_url, &output_prefix).await {
        Ok(true) => tracing::info!("playable"),
        Ok(false) => tracing::debug!("not marked playable: the job is no longer this worker's"),
        Err(error) => tracing::warn!(%error, "could not record that the video is playable"),
    }
}

/// Runs a database write again while the database is unreachable (for up to
/// [`PERSIST_PATIENCE`]), so that an outage delays recording an outcome instead of losing it.
async fn persist<T, F, Fut>(what: &str, write: F) -> sqlx::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<T>>,
{
    let backoff = Backoff {
        patience: PERSIST_PATIENCE,
        first_delay: Duration::from_millis(250),
    };
    let on_retry = |error: &sqlx::Error, _| {
        tracing::warn!(%error, "{what}: the database is unavailable; trying again");
    };
    backoff.run(is_transient, on_retry, write).await.outcome
}
