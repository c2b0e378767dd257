//! URL imports in the `videos` table (see the migration `url_imports`): claiming one to
//! download, keeping the claim, and recording how it ended.

use sqlx::PgPool;
use uuid::Uuid;

use super::channels::JOBS_CHANNEL;

/// Most times an import's download is started (after crashes of the nodes running it)
/// before the video fails.
pub const MAX_IMPORT_ATTEMPTS: i32 = 3;

/// An import this node now downloads.
#[derive(Debug, Clone)]
pub struct ClaimedImport {
    /// The video.
    pub id: Uuid,
    /// What to download.
    pub url: String,
    /// The file name the client gave, if any.
    pub original_filename: Option<String>,
    /// Which start of its download this is (1 the first time).
    pub attempt: i32,
}

/// Claims the oldest import nobody holds (never claimed, or its holder's lease ran out) for
/// `lease_seconds`.
pub async fn claim(
    pool: &PgPool,
    owner: Uuid,
    lease_seconds: f64,
) -> sqlx::Result<Option<ClaimedImport>> {
    let row = sqlx::query!(
        "UPDATE videos SET import_owner = $1, import_attempts = import_attempts + 1,
                import_lease_until = now() + make_interval(secs => $2), updated_at = now()
         WHERE id = (
             SELECT id FROM videos
             WHERE status = 'importing'
               AND (import_lease_until IS NULL OR import_lease_until < now())
             ORDER BY created_at
             FOR UPDATE SKIP LOCKED
             LIMIT 1)
         RETURNING id, import_url, original_filename, import_attempts",
        owner,
        lease_seconds,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| ClaimedImport {
        id: r.id,
        url: r.import_url.unwrap_or_default(),
        original_filename: r.original_filename,
        attempt: r.import_attempts,
    }))
}

/// Extends this node's claim; false when it lost it (the video was canceled or deleted, or
/// its lease ran out and another node took it).
pub async fn renew(pool: &PgPool, id: Uuid, owner: Uuid, lease_seconds: f64) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE videos SET import_lease_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND import_owner = $2 AND status = 'importing'",
        id,
        owner,
        lease_seconds,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// What a finished download recorded.
#[derive(Debug)]
pub struct Imported<'a> {
    /// Bytes downloaded.
    pub source_bytes: i64,
    /// Probe facts (`SourceInfo` as JSON).
    pub source: serde_json::Value,
    /// The server's Content-Type.
    pub content_type: Option<&'a str>,
    /// The file name, when the client gave none: from the URL.
    pub original_filename: Option<&'a str>,
    /// Where it is staged in the bucket, for workers elsewhere.
    pub source_key: Option<&'a str>,
}

/// Queues a downloaded and probed import for conversion and wakes the workers; false when
/// this node no longer holds it (then the download is not needed).
pub async fn complete(
    pool: &PgPool,
    id: Uuid,
    owner: Uuid,
    imported: &Imported<'_>,
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let result = sqlx::query!(
        "UPDATE videos SET status = 'pending', source_bytes = $3, source = $4,
                content_type = $5, original_filename = coalesce(original_filename, $6),
                source_key = $7, import_owner = NULL, import_lease_until = NULL, updated_at = now()
         WHERE id = $1 AND import_owner = $2 AND status = 'importing'",
        id,
        owner,
        imported.source_bytes,
        imported.source,
        imported.content_type,
        imported.original_filename,
        imported.source_key,
    )
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query!("SELECT pg_notify($1, $2)", JOBS_CHANNEL, id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Fails an import this node holds, with a stable code and a message a person can act on.
pub async fn fail(
    pool: &PgPool,
    id: Uuid,
    owner: Uuid,
    code: &str,
    message: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE videos SET status = 'failed', error_code = $3, error_message = $4,
                import_owner = NULL, import_lease_until = NULL, finished_at = now(), updated_at = now()
         WHERE id = $1 AND import_owner = $2 AND status = 'importing'",
        id,
        owner,
        code,
        message,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives an import back (this node is shutting down, or could not write the file): another
/// node, or this one later, starts it again.
pub async fn release(pool: &PgPool, id: Uuid, owner: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE videos SET import_owner = NULL, import_lease_until = NULL
         WHERE id = $1 AND import_owner = $2 AND status = 'importing'",
        id,
        owner,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Imports a failed import again (its download is started anew, with fresh attempts); false
/// when `id` is not a failed import.
pub async fn requeue_failed(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE videos SET status = 'importing', import_attempts = 0, error_code = NULL,
                error_message = NULL, finished_at = NULL, updated_at = now()
         WHERE id = $1 AND status = 'failed' AND source IS NULL AND import_url IS NOT NULL",
        id,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}
