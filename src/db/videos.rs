//! The `videos` table: one row per upload, which is also its conversion job.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::video_status::VideoStatus;
use hls_ladder::captions::SubtitleReport;
use hls_ladder::stills::StillsReport;
use hls_ladder::{DownloadReport, Progress, RenditionReport, SourceInfo};

/// The channel workers LISTEN on; a new job NOTIFYs it.
pub const JOBS_CHANNEL: &str = "hls_transcoder_jobs";
/// The channel a trigger NOTIFYs on every change a client can see (see the migration
/// `events_and_webhooks`): `{"id", "kind": "status"|"progress"|"deleted", "version", ...}`.
pub const VIDEO_EVENTS_CHANNEL: &str = "hls_transcoder_video_events";
/// The channel a trigger NOTIFYs when a webhook event is written to the outbox.
pub const WEBHOOKS_CHANNEL: &str = "hls_transcoder_webhooks";

/// A video as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
#[expect(missing_docs, reason = "the columns are documented in the migration")]
pub struct VideoRow {
    pub id: Uuid,
    pub status: VideoStatus,
    pub original_filename: Option<String>,
    pub content_type: Option<String>,
    pub source_bytes: i64,
    pub source: Option<Json<SourceInfo>>,
    pub progress: Option<Json<Progress>>,
    pub renditions: Option<Json<Vec<RenditionReport>>>,
    pub playback_url: Option<String>,
    pub playable_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    pub output_bytes: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub source_key: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub resumed_from_segment: Option<i64>,
    pub resume_refused: Option<String>,
    #[serde(default)]
    pub stills: Option<Json<StillsReport>>,
    #[serde(default)]
    pub subtitles: Option<Json<Vec<SubtitleReport>>>,
    #[serde(default)]
    pub downloads: Option<Json<Vec<DownloadReport>>>,
}

/// What a new upload records.
#[derive(Debug)]
pub struct NewVideo<'a> {
    /// Server-made id.
    pub id: Uuid,
    /// The client's file name, sanitised.
    pub original_filename: Option<&'a str>,
    /// The client's content type.
    pub content_type: Option<&'a str>,
    /// Size of the upload.
    pub source_bytes: i64,
    /// Probe facts; none yet for an import.
    pub source: Option<Value>,
    /// Attempts the job gets.
    pub max_attempts: i32,
    /// The S3 key of the staged upload, when the workers run elsewhere.
    pub source_key: Option<&'a str>,
    /// A URL to import from: the video is `importing` until the import pool has it.
    pub import_url: Option<&'a str>,
    /// Whether to publish an MP4 download too; `None`: the server's default.
    pub mp4_download: Option<bool>,
}

/// What [`insert`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// The video is recorded.
    New,
    /// The client's idempotency key already made this video: nothing was recorded.
    Existing(super::idempotency::Remembered),
}

/// Records a pending video and wakes the workers (or an importing one, for the import pool),
/// in one transaction; with an idempotency
/// key, records the key too, unless the key made a video already (a concurrent request with
/// the same key won), whose id it returns.
#[tracing::instrument(skip(pool, video, idempotency), fields(video_id = %video.id))]
pub async fn insert(
    pool: &PgPool,
    video: &NewVideo<'_>,
    idempotency: Option<super::idempotency::IdempotencyKey<'_>>,
) -> sqlx::Result<Inserted> {
    let mut tx = pool.begin().await?;
    if let Some(key) = idempotency {
        // Taken by the first request to commit; a later one waits on the row lock, then
        // sees the winner's video.
        let taken = sqlx::query_as!(
            super::idempotency::Remembered,
            "INSERT INTO idempotency_keys (client, key, video_id, request) VALUES ($1, $2, $3, $5)
             ON CONFLICT (client, key) DO UPDATE SET
                 video_id = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $4::float8::int)
                                 THEN EXCLUDED.video_id ELSE idempotency_keys.video_id END,
                 request = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $4::float8::int)
                                THEN EXCLUDED.request ELSE idempotency_keys.request END,
                 created_at = CASE WHEN idempotency_keys.created_at < now() - make_interval(hours => $4::float8::int)
                                 THEN now() ELSE idempotency_keys.created_at END
             RETURNING video_id, request",
            key.client,
            key.key,
            video.id,
            super::idempotency::KEY_HOURS,
            key.request,
        )
        .fetch_one(&mut *tx)
        .await?;
        if taken.video_id != video.id {
            let alive = sqlx::query_scalar!("SELECT id FROM videos WHERE id = $1", taken.video_id)
                .fetch_optional(&mut *tx)
                .await?;
            if alive.is_some() {
                return Ok(Inserted::Existing(taken));
            }
            // The key's video was deleted: the key is this upload's now.
            sqlx::query!(
                "UPDATE idempotency_keys SET video_id = $3, request = $4, created_at = now()
                 WHERE client = $1 AND key = $2",
                key.client,
                key.key,
                video.id,
                key.request,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query!(
        "INSERT INTO videos (id, status, original_filename, content_type, source_bytes, source, max_attempts, source_key, import_url, mp4_download)
         VALUES ($1, CASE WHEN $8::text IS NULL THEN 'pending' ELSE 'importing' END, $2, $3, $4, $5, $6, $7, $8, $9)",
        video.id,
        video.original_filename,
        video.content_type,
        video.source_bytes,
        video.source,
        video.max_attempts,
        video.source_key,
        video.import_url,
        video.mp4_download,
    )
    .execute(&mut *tx)
    .await?;
    if video.import_url.is_none() {
        sqlx::query!(
            "SELECT pg_notify($1, $2)",
            JOBS_CHANNEL,
            video.id.to_string()
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Inserted::New)
}

/// One video.
#[tracing::instrument(level = "debug", skip(pool))]
pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<VideoRow>> {
    sqlx::query_as!(VideoRow, "SELECT id, status AS \"status: VideoStatus\", original_filename, content_type, source_bytes, source AS \"source: Json<SourceInfo>\", progress AS \"progress: Json<Progress>\", renditions AS \"renditions: Json<Vec<RenditionReport>>\", playback_url, playable_at, duration_seconds, output_bytes, error_code, error_message, attempts, max_attempts, source_key, version, created_at, updated_at, started_at, finished_at, resumed_from_segment, resume_refused, stills AS \"stills: Json<StillsReport>\", subtitles AS \"subtitles: Json<Vec<SubtitleReport>>\", downloads AS \"downloads: Json<Vec<DownloadReport>>\" FROM videos WHERE id = $1", id)
        .fetch_optional(pool)
        .await
}

/// Where a playable video's objects are, and whether they are final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedOutput {
    /// The prefix of the claim that published them, `videos/{id}/{claim}/`.
    pub prefix: String,
    /// Completed: the playlists are final. Else they still grow.
    pub completed: bool,
}

/// What changing a video's sidecar captions needs of its row.
#[derive(Debug)]
pub struct CaptionTarget {
    /// Captions go on completed videos only.
    pub status: VideoStatus,
    /// The completed claim's prefix (`None` for rows from before claims had prefixes).
    pub output_prefix: Option<String>,
    /// The renditions: the first one's playlist gives the segment boundaries.
    pub renditions: Option<Json<Vec<RenditionReport>>>,
    /// The subtitle renditions so far.
    pub subtitles: Option<Json<Vec<SubtitleReport>>>,
}

/// Locks the video's row until `tx` ends, so that changes to its captions (each rewrites its
/// master playlist) happen one at a time; `None` when there is no such video.
pub async fn lock_for_captions(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
) -> sqlx::Result<Option<CaptionTarget>> {
    sqlx::query_as!(
        CaptionTarget,
        "SELECT status AS \"status: VideoStatus\", output_prefix, renditions AS \"renditions: Json<Vec<RenditionReport>>\", subtitles AS \"subtitles: Json<Vec<SubtitleReport>>\"
         FROM videos WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Records the video's subtitle renditions (hls_ladder::SubtitleReport as JSON).
pub async fn set_subtitles(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
    subtitles: Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE videos SET subtitles = $2, updated_at = now() WHERE id = $1",
        id,
        subtitles
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where a playable video's objects are: the prefix of the claim that published them
/// (`None` while nothing is playable). Rows completed before claims had prefixes have none
/// recorded: their objects are directly under `videos/{id}/`.
pub async fn published_output(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<PublishedOutput>> {
    let row = sqlx::query!(
        "SELECT output_prefix, status = 'completed' AS \"completed!\" FROM videos
         WHERE id = $1 AND (status = 'completed' OR (status = 'processing' AND playable_at IS NOT NULL))",
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| PublishedOutput {
        prefix: r
            .output_prefix
            .unwrap_or_else(|| crate::storage::video_prefix(id)),
        completed: r.completed,
    }))
}

/// Records that the job's video became playable (progressive publishing): its master
/// playlist is at `playback_url`, under `output_prefix`. False when this worker no longer
/// holds the job, or it was playable already.
pub async fn mark_playable(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
    playback_url: &str,
    output_prefix: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE videos SET playable_at = now(), playback_url = $3, output_prefix = $4, updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing' AND playable_at IS NULL",
        id,
        lease_token,
        playback_url,
        output_prefix,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Newest first, after the `(created_at, id)` cursor, optionally of one status.
#[tracing::instrument(skip(pool))]
pub async fn list(
    pool: &PgPool,
    status: Option<VideoStatus>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<VideoRow>> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        VideoRow,
        "SELECT id, status AS \"status: VideoStatus\", original_filename, content_type, source_bytes, source AS \"source: Json<SourceInfo>\", progress AS \"progress: Json<Progress>\", renditions AS \"renditions: Json<Vec<RenditionReport>>\", playback_url, playable_at, duration_seconds, output_bytes, error_code, error_message, attempts, max_attempts, source_key, version, created_at, updated_at, started_at, finished_at, resumed_from_segment, resume_refused, stills AS \"stills: Json<StillsReport>\", subtitles AS \"subtitles: Json<Vec<SubtitleReport>>\", downloads AS \"downloads: Json<Vec<DownloadReport>>\"
         FROM videos
         WHERE ($1::text IS NULL OR status = $1)
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC
         LIMIT $4",
        status.map(VideoStatus::as_str),
        after_time,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await
}

/// A job a worker now holds.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// The video.
    pub id: Uuid,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// The limit.
    pub max_attempts: i32,
    /// The S3 key of the staged upload; `None`: in the local upload directory.
    pub source_key: Option<String>,
    /// This claim's number (from 1, never reused for the video): its output goes under
    /// `videos/{id}/{claim}/` and nowhere else.
    pub claim: i64,
    /// Whether the upload asked for an MP4 download; `None`: the server's default.
    pub mp4_download: Option<bool>,
}

/// Takes the oldest pending job, or a processing one whose worker's lease ran out, and leases
/// it for `lease_seconds` under `lease_token`, which must be new for every claim: every
/// owner-checked write names it, so a worker that lost this claim can write nothing with it.
/// `FOR UPDATE SKIP LOCKED` lets many workers claim at once.
pub async fn claim(
    pool: &PgPool,
    lease_token: Uuid,
    lease_seconds: f64,
) -> sqlx::Result<Option<ClaimedJob>> {
    let row = sqlx::query!(
        "UPDATE videos SET status = 'processing', attempts = attempts + 1, claims = claims + 1,
                lease_owner = $1,
                lease_expires_at = now() + make_interval(secs => $2), started_at = coalesce(started_at, now()),
                error_code = NULL, error_message = NULL, updated_at = now()
         WHERE id = (
             SELECT id FROM videos
             WHERE ((status = 'pending' AND (run_after IS NULL OR run_after <= now()))
                    OR (status = 'processing' AND lease_expires_at < now()))
               AND attempts < max_attempts AND NOT cancel_requested
             ORDER BY created_at
             FOR UPDATE SKIP LOCKED
             LIMIT 1)
         RETURNING id, attempts, max_attempts, source_key, claims, mp4_download",
        lease_token,
        lease_seconds,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| ClaimedJob {
        id: r.id,
        attempt: r.attempts,
        max_attempts: r.max_attempts,
        source_key: r.source_key,
        claim: r.claims,
        mp4_download: r.mp4_download,
    }))
}

/// Seconds until the earliest lease of a running job that may be taken over runs out (0 when
/// one already has): a worker with nothing to do waits no longer than that to claim it.
pub async fn next_lease_expiry(pool: &PgPool) -> sqlx::Result<Option<f64>> {
    sqlx::query_scalar!(
        "SELECT greatest(extract(epoch FROM min(lease_expires_at) - now()), 0)::float8
         FROM videos
         WHERE status = 'processing' AND attempts < max_attempts AND NOT cancel_requested"
    )
    .fetch_one(pool)
    .await
}

/// Fails the jobs whose worker vanished on their last attempt; returns their ids.
pub async fn fail_abandoned(pool: &PgPool) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        "UPDATE videos SET status = CASE WHEN cancel_requested THEN 'canceled' ELSE 'failed' END,
                error_code = CASE WHEN cancel_requested THEN NULL ELSE 'attempts-exhausted' END,
                error_message = CASE WHEN cancel_requested THEN NULL
                    ELSE 'the conversion was interrupted on every attempt (worker lost); upload the video again or retry' END,
                lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
         WHERE status = 'processing' AND lease_expires_at < now()
           AND (attempts >= max_attempts OR cancel_requested)
         RETURNING id"
    )
    .fetch_all(pool)
    .await
}

/// Extends the lease; `None` when the worker lost it, else whether a cancel was requested.
pub async fn heartbeat(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
    lease_seconds: f64,
) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar!(
        "UPDATE videos SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'
         RETURNING cancel_requested",
        id,
        lease_token,
        lease_seconds,
    )
    .fetch_optional(pool)
    .await
}

/// Whether a cancel was requested for a job this worker holds; `None` when it lost the lease.
pub async fn cancel_requested(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar!(
        "SELECT cancel_requested FROM videos WHERE id = $1 AND lease_owner = $2",
        id,
        lease_token
    )
    .fetch_optional(pool)
    .await
}

/// The status of each of these videos that exists, and when it ended.
pub async fn statuses(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<Vec<VideoStatusRow>> {
    sqlx::query_as!(
        VideoStatusRow,
        "SELECT id, status AS \"status: VideoStatus\", finished_at FROM videos WHERE id = ANY($1)",
        ids
    )
    .fetch_all(pool)
    .await
}

/// A video's status and when it reached a final one: what the janitor needs to know.
#[derive(Debug, Clone)]
pub struct VideoStatusRow {
    /// The video.
    pub id: Uuid,
    /// Its status.
    pub status: VideoStatus,
    /// When it ended, if it has.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Saves the latest progress of a job this worker holds.
pub async fn save_progress(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
    progress: &Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE videos SET progress = $3, updated_at = now() WHERE id = $1 AND lease_owner = $2",
        id,
        lease_token,
        progress,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// What a finished conversion records.
#[derive(Debug)]
pub struct Completion {
    /// Absolute URL of the master playlist.
    pub playback_url: String,
    /// The key prefix of the completed claim's output, `videos/{id}/{claim}/`.
    pub output_prefix: String,
    /// The renditions (hls_ladder::RenditionReport) as JSON.
    pub renditions: Value,
    /// Seconds.
    pub duration_seconds: f64,
    /// Bytes uploaded.
    pub output_bytes: i64,
    /// Final progress.
    pub progress: Value,
    /// Segments of each rendition kept from an earlier attempt, when resumed.
    pub resumed_from_segment: Option<i64>,
    /// Why an earlier attempt's output could not be resumed.
    pub resume_refused: Option<String>,
    /// The poster and storyboard (hls_ladder::StillsReport) as JSON, when made.
    pub stills: Option<Value>,
    /// The subtitle renditions (hls_ladder::SubtitleReport) as JSON.
    pub subtitles: Value,
    /// The MP4 downloads (hls_ladder::DownloadReport) as JSON.
    pub downloads: Value,
}

/// Marks a job completed; false when this worker no longer held it.
pub async fn complete(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
    done: &Completion,
) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE videos SET status = 'completed', playback_url = $3, renditions = $4, duration_seconds = $5,
                output_bytes = $6, progress = $7, output_prefix = $8, lease_owner = NULL,
                playable_at = coalesce(playable_at, now()),
                resumed_from_segment = $9, resume_refused = $10, stills = $11, subtitles = $12, downloads = $13,
                lease_expires_at = NULL, finished_at = now(), updated_at = now()
         WHERE id = $1 AND lease_owner = $2",
        id,
        lease_token,
        done.playback_url,
        done.renditions,
        done.duration_seconds,
        done.output_bytes,
        done.progress,
        done.output_prefix,
        done.resumed_from_segment,
        done.resume_refused,
        done.stills,
        done.subtitles,
        done.downloads,
    )
    .execute(pool)
    .await?;
    let completed = result.rows_affected() == 1;
    if completed {
        forget_resume_point(pool, id).await?;
    }
    Ok(completed)
}

/// Saves where the job this worker holds can be resumed: `point` (an
/// [`hls_ladder::ResumePoint`](hls_ladder::ResumePoint) as JSON), whose own segments `claim`
/// published. False when the worker no longer holds the job: the row is locked and checked
/// in the same statement, so no point is saved once another claim took the job.
pub async fn save_resume_point(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
    claim: i64,
    point: &Value,
) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "INSERT INTO resume_points (video_id, claim, point)
         SELECT id, $3, $4 FROM videos
         WHERE id = $1 AND lease_owner = $2 AND status = 'processing'
         FOR UPDATE
         ON CONFLICT (video_id) DO UPDATE
             SET claim = EXCLUDED.claim, point = EXCLUDED.point, updated_at = now()",
        id,
        lease_token,
        claim,
        point,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Where a job can be resumed, if an earlier claim saved a point: that claim and the point.
pub async fn resume_point(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<(i64, Value)>> {
    let row = sqlx::query!(
        "SELECT claim, point FROM resume_points WHERE video_id = $1",
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.claim, r.point)))
}

/// Drops a job's resume point: it completed, or ended without output to resume.
pub async fn forget_resume_point(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM resume_points WHERE video_id = $1", id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends a job this worker holds: `failed` with a reason, or `canceled`.
pub async fn finish_unsuccessfully(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
    status: VideoStatus,
    error: Option<(&str, &str)>,
) -> sqlx::Result<()> {
    let (code, message) = error.unzip();
    sqlx::query!(
        "UPDATE videos SET status = $3, error_code = $4, error_message = $5, lease_owner = NULL,
                lease_expires_at = NULL, finished_at = now(), updated_at = now()
         WHERE id = $1 AND lease_owner = $2",
        id,
        lease_token,
        status.as_str(),
        code,
        message,
    )
    .execute(pool)
    .await?;
    // Its output is removed: nothing is left to resume.
    forget_resume_point(pool, id).await
}

/// Why a job goes back to the queue, which decides whether its attempt counts and when it
/// may run again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Requeue {
    /// After a failure worth retrying: the attempt counts, and the job waits this long.
    Retry {
        /// Seconds before any worker may take it again.
        delay_seconds: f64,
    },
    /// This worker is shutting down: the attempt does not count, and another worker may take
    /// it at once.
    ShuttingDown,
}

/// Puts a job this worker holds back in the queue (see [`Requeue`]).
pub async fn release(
    pool: &PgPool,
    id: Uuid,
    lease_token: Uuid,
    why: Requeue,
    error: Option<(&str, &str)>,
) -> sqlx::Result<()> {
    let (code, message) = error.unzip();
    let (refund_attempt, delay_seconds) = match why {
        Requeue::Retry { delay_seconds } => (false, delay_seconds),
        Requeue::ShuttingDown => (true, 0.0),
    };
    sqlx::query!(
        "UPDATE videos SET status = 'pending', attempts = attempts - CASE WHEN $3 THEN 1 ELSE 0 END,
                run_after = now() + make_interval(secs => $4),
                error_code = $5, error_message = $6, lease_owner = NULL, lease_expires_at = NULL,
                updated_at = now()
         WHERE id = $1 AND lease_owner = $2",
        id,
        lease_token,
        refund_attempt,
        delay_seconds,
        code,
        message,
    )
    .execute(pool)
    .await?;
    sqlx::query!("SELECT pg_notify($1, $2)", JOBS_CHANNEL, id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// Queues a failed video again with its attempts reset, and wakes the workers; false when it
/// was not failed (any more).
#[tracing::instrument(skip(pool))]
pub async fn requeue_failed(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let updated = sqlx::query!(
        "UPDATE videos SET status = 'pending', attempts = 0, run_after = NULL, progress = NULL,
                error_code = NULL, error_message = NULL, cancel_requested = false,
                started_at = NULL, finished_at = NULL, updated_at = now()
         WHERE id = $1 AND status = 'failed'",
        id
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!("SELECT pg_notify($1, $2)", JOBS_CHANNEL, id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// What a cancel request found.
#[derive(Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// No such video.
    NotFound,
    /// It had already ended with this status.
    AlreadyFinished(VideoStatus),
    /// A pending job is now canceled; a running one will stop shortly.
    Accepted {
        /// `canceled`, or `processing` while the worker stops.
        status: VideoStatus,
    },
}

/// Requests a cancel.
#[tracing::instrument(skip(pool))]
pub async fn request_cancel(pool: &PgPool, id: Uuid) -> sqlx::Result<CancelOutcome> {
    let updated = sqlx::query_scalar!(
        "UPDATE videos SET cancel_requested = true, updated_at = now(),
                status = CASE WHEN status IN ('importing', 'pending') THEN 'canceled' ELSE status END,
                finished_at = CASE WHEN status IN ('importing', 'pending') THEN now() ELSE finished_at END
         WHERE id = $1 AND status IN ('importing', 'pending', 'processing')
         RETURNING status AS \"status: VideoStatus\"",
        id
    )
    .fetch_optional(pool)
    .await?;
    if let Some(status) = updated {
        return Ok(CancelOutcome::Accepted { status });
    }
    let current = sqlx::query_scalar!(
        "SELECT status AS \"status: VideoStatus\" FROM videos WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(current.map_or(CancelOutcome::NotFound, CancelOutcome::AlreadyFinished))
}

/// Asks a running conversion to stop, and keeps a pending one from being claimed, without
/// changing the status: for a video about to be deleted, which is not `canceled`.
#[tracing::instrument(skip(pool))]
pub async fn request_stop(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE videos SET cancel_requested = true, updated_at = now() WHERE id = $1",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the row; false when there was none.
#[tracing::instrument(skip(pool))]
pub async fn delete(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let result = sqlx::query!("DELETE FROM videos WHERE id = $1", id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Videos per status, for metrics.
pub async fn count_by_status(pool: &PgPool) -> sqlx::Result<Vec<(VideoStatus, i64)>> {
    let rows = sqlx::query!(
        "SELECT status AS \"status: VideoStatus\", count(*) AS \"count!\" FROM videos GROUP BY status"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.count)).collect())
}
