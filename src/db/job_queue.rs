//! The job queue's protocol on the `videos` table (a row is its conversion job): a worker
//! claims a job under a lease token of its own, renews the lease, reads cancel requests, saves
//! progress and resume points, and records the outcome (completed, failed, canceled, or back to
//! the queue); every write is checked against the token, so a worker that lost its claim can
//! change nothing. What clients ask of videos is `videos.rs`'s.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::channels::JOBS_CHANNEL;
use crate::video_status::VideoStatus;

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
/// [`hls_ladder::ResumePoint`] as JSON), whose own segments `claim`
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
