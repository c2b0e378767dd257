//! Removes uploads that no job will convert any more, so neither the upload directory nor the
//! bucket's `sources/` fills up: those of completed and canceled videos (also canceled while
//! pending), those of failed videos once their retention for a retry ran out, and uploads with
//! no video at all (a crash between storing an upload and recording it, or a video deleted);
//! and resumable uploads left unfinished past their expiry, with their parts in the bucket.

use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::uploads::Uploads;
use crate::video_status::VideoStatus;

/// How often the directory is swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// A file with no video row is left alone this long after its last write: it may be an
/// upload still arriving, whose row is inserted once it is whole.
const ORPHAN_AGE: Duration = Duration::from_secs(15 * 60);

/// Sweeps the upload directory and the bucket's staged uploads every minute until `stop`.
pub(super) async fn run(
    pool: PgPool,
    uploads: Uploads,
    keep_failed: Duration,
    stop: CancellationToken,
) {
    loop {
        match sweep_all(&pool, &uploads, keep_failed, ORPHAN_AGE).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed uploads no job needs"),
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "upload sweep failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
    }
}

/// One round of the janitor: the upload directory, the bucket's staged uploads, expired
/// resumable and direct uploads, old idempotency keys. How many uploads it removed; the
/// first failure, after every part was tried.
pub async fn sweep_all(
    pool: &PgPool,
    uploads: &Uploads,
    keep_failed: Duration,
    orphan_age: Duration,
) -> anyhow::Result<usize> {
    let local = sweep(pool, uploads, keep_failed, orphan_age).await;
    let staged = sweep_staged(pool, uploads, keep_failed, orphan_age).await;
    let expired = sweep_expired_uploads(pool, uploads).await;
    let keys = crate::db::idempotency::prune(pool).await.map(|_| 0);
    let mut removed = 0;
    for part in [local, staged, expired, keys.map_err(anyhow::Error::from)] {
        removed += part?;
    }
    Ok(removed)
}

/// One sweep of the upload directory; returns how many files it removed. Only upload files
/// (`{uuid}.upload`) are considered.
pub async fn sweep(
    pool: &PgPool,
    uploads: &Uploads,
    keep_failed: Duration,
    orphan_age: Duration,
) -> anyhow::Result<usize> {
    let files = uploads.local_files().await?;
    let mut removed = 0;
    for id in unneeded(pool, &files, keep_failed, orphan_age).await? {
        if uploads.discard_local(id).await {
            tracing::debug!(video_id = %id, "upload removed");
            removed += 1;
        }
    }
    Ok(removed)
}

/// One sweep of the uploads staged in the bucket (`sources/{id}`); returns how many objects
/// it removed.
pub async fn sweep_staged(
    pool: &PgPool,
    uploads: &Uploads,
    keep_failed: Duration,
    orphan_age: Duration,
) -> anyhow::Result<usize> {
    let staged = uploads.staged().await?;
    let unneeded = unneeded(pool, &staged, keep_failed, orphan_age).await?;
    let mut removed = 0;
    for id in unneeded {
        match uploads.discard_staged(id).await {
            Ok(()) => {
                tracing::debug!(video_id = %id, "staged upload removed");
                removed += 1;
            }
            Err(error) => tracing::warn!(%error, "could not remove a staged upload"),
        }
    }
    Ok(removed)
}

/// Removes resumable and direct uploads past their expiry: their parts (and tail) in the
/// bucket, then their row; returns how many.
pub async fn sweep_expired_uploads(pool: &PgPool, uploads: &Uploads) -> anyhow::Result<usize> {
    use crate::db::{direct_uploads, resumable_uploads};
    let mut removed = 0;
    for upload in resumable_uploads::expired(pool, 100).await? {
        crate::upload_parts::discard(uploads.store(), &upload.stored).await?;
        if resumable_uploads::delete(pool, upload.id).await? {
            tracing::debug!(upload_id = %upload.id, "expired resumable upload removed");
            removed += 1;
        }
    }
    for upload in direct_uploads::expired(pool, 100).await? {
        uploads
            .store()
            .abort_multipart(&upload.key, &upload.multipart_id)
            .await?;
        if direct_uploads::delete(pool, upload.id).await? {
            tracing::debug!(upload_id = %upload.id, "expired direct upload removed");
            removed += 1;
        }
    }
    Ok(removed)
}

/// Which of these uploads (a video id, and how long ago the upload was last written) no job
/// needs: with no row once older than `orphan_age` (a row is inserted once an upload is
/// whole), of a completed or canceled video, or of a failed one past `keep_failed`.
async fn unneeded(
    pool: &PgPool,
    uploads: &[(Uuid, Duration)],
    keep_failed: Duration,
    orphan_age: Duration,
) -> anyhow::Result<Vec<Uuid>> {
    if uploads.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = uploads.iter().map(|(id, _)| *id).collect();
    let rows = crate::db::videos::statuses(pool, &ids).await?;
    let keep_failed = chrono::Duration::from_std(keep_failed).unwrap_or(chrono::Duration::MAX);
    Ok(uploads
        .iter()
        .filter(|(id, age)| match rows.iter().find(|r| r.id == *id) {
            None => *age > orphan_age,
            Some(r) => match r.status {
                VideoStatus::Completed | VideoStatus::Canceled => true,
                VideoStatus::Failed => r
                    .finished_at
                    .is_none_or(|finished| Utc::now() - finished > keep_failed),
                _ => false,
            },
        })
        .map(|(id, _)| *id)
        .collect())
}
