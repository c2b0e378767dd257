//! The `videos` table as clients see it: one row per upload, recorded, read, listed, captioned,
//! canceled, retried and deleted. The row is also the video's conversion job; the queue's
//! protocol (claims, leases, outcomes) is `job_queue.rs`'s.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::video_status::VideoStatus;
use hls_ladder::captions::SubtitleReport;
use hls_ladder::stills::StillsReport;
use hls_ladder::{DownloadReport, Progress, RenditionReport, SourceInfo};

use super::channels::JOBS_CHANNEL;

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
