//! Resumable uploads in progress (see the migration `resumable_uploads`): how far each got,
//! and which request may append to it now.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::lease::LeaseTerms;
use crate::upload_parts::StoredUpload;

/// The hold of a request appending to an upload (see [`crate::lease`]): renewed after every
/// part and every 5 seconds while its body comes; 60 seconds without a renewal, and another
/// request may take over (the first one's client, or node, is gone). Long, because a whole
/// upload stays held, unrenewed, while it is probed and becomes the video.
pub const WRITER_LEASE: LeaseTerms =
    LeaseTerms::with_renewal(Duration::from_secs(60), Duration::from_secs(5));

/// One upload in progress.
#[derive(Debug, Clone)]
pub struct ResumableUpload {
    /// Its id, the video's to be.
    pub id: Uuid,
    /// Its size.
    pub length: u64,
    /// `Upload-Metadata` as sent.
    pub metadata: Option<String>,
    /// The file name the metadata gave.
    pub filename: Option<String>,
    /// Where its bytes are.
    pub stored: StoredUpload,
    /// When it expires if not complete.
    pub expires_at: DateTime<Utc>,
}

struct Row {
    id: Uuid,
    length: i64,
    metadata: Option<String>,
    filename: Option<String>,
    stored: serde_json::Value,
    expires_at: DateTime<Utc>,
}

impl TryFrom<Row> for ResumableUpload {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> sqlx::Result<ResumableUpload> {
        let stored =
            serde_json::from_value(row.stored).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(ResumableUpload {
            id: row.id,
            length: u64::try_from(row.length).unwrap_or(0),
            metadata: row.metadata,
            filename: row.filename,
            stored,
            expires_at: row.expires_at,
        })
    }
}

/// Records a new upload.
pub async fn insert(pool: &PgPool, upload: &ResumableUpload) -> sqlx::Result<()> {
    let stored = serde_json::to_value(&upload.stored).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query!(
        "INSERT INTO resumable_uploads (id, length, metadata, filename, stored, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        upload.id,
        i64::try_from(upload.length).unwrap_or(i64::MAX),
        upload.metadata,
        upload.filename,
        stored,
        upload.expires_at,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The upload, if it exists and has not expired.
pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<ResumableUpload>> {
    let row = sqlx::query_as!(
        Row,
        "SELECT id, length, metadata, filename, stored, expires_at FROM resumable_uploads
         WHERE id = $1 AND expires_at > now()",
        id
    )
    .fetch_optional(pool)
    .await?;
    row.map(ResumableUpload::try_from).transpose()
}

/// How far an upload in progress got, as `GET /v1/videos/{id}` shows it.
#[derive(Debug, Clone)]
pub struct UploadProgress {
    /// Its id, the video's to be.
    pub id: Uuid,
    /// The file name the metadata gave.
    pub filename: Option<String>,
    /// Bytes received so far (the tus offset).
    pub received: u64,
    /// Its size.
    pub length: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When bytes last came (or it was created).
    pub updated_at: DateTime<Utc>,
    /// When it expires if not complete.
    pub expires_at: DateTime<Utc>,
}

/// How far the upload `id` got, if it exists and has not expired.
pub async fn progress(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<UploadProgress>> {
    let row = sqlx::query!(
        "SELECT id, filename, stored, length, created_at, coalesce(writer_seen_at, created_at) AS \"updated_at!\", expires_at
         FROM resumable_uploads WHERE id = $1 AND expires_at > now()",
        id
    )
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let stored: StoredUpload =
            serde_json::from_value(row.stored).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(UploadProgress {
            id: row.id,
            filename: row.filename,
            received: stored.offset(),
            length: u64::try_from(row.length).unwrap_or(0),
            created_at: row.created_at,
            updated_at: row.updated_at,
            expires_at: row.expires_at,
        })
    })
    .transpose()
}

/// Takes the upload for the request `writer`, unless another request holds it (and said so
/// within [`WRITER_LEASE`]); `None` when it is held, missing or expired.
pub async fn take(pool: &PgPool, id: Uuid, writer: Uuid) -> sqlx::Result<Option<ResumableUpload>> {
    let row = sqlx::query_as!(
        Row,
        "UPDATE resumable_uploads SET writer = $2, writer_seen_at = now()
         WHERE id = $1 AND expires_at > now()
           AND (writer IS NULL
                OR writer_seen_at < now() - make_interval(secs => $3::float8))
         RETURNING id, length, metadata, filename, stored, expires_at",
        id,
        writer,
        WRITER_LEASE.seconds(),
    )
    .fetch_optional(pool)
    .await?;
    row.map(ResumableUpload::try_from).transpose()
}

/// Records how far the upload got, if `writer` still holds it; `false` if not.
pub async fn save(
    pool: &PgPool,
    id: Uuid,
    writer: Uuid,
    stored: &StoredUpload,
) -> sqlx::Result<bool> {
    let stored = serde_json::to_value(stored).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let result = sqlx::query!(
        "UPDATE resumable_uploads SET stored = $3, writer_seen_at = now()
         WHERE id = $1 AND writer = $2",
        id,
        writer,
        stored,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Says that `writer` still holds the upload (its body is still coming); `false` if it does
/// not hold it any more.
pub async fn touch(pool: &PgPool, id: Uuid, writer: Uuid) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE resumable_uploads SET writer_seen_at = now() WHERE id = $1 AND writer = $2",
        id,
        writer,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records how far the upload got and lets go of it in one step, if `writer` holds it (so
/// that whoever sees the new offset may continue at once); `false` if it did not hold it.
pub async fn save_and_release(
    pool: &PgPool,
    id: Uuid,
    writer: Uuid,
    stored: &StoredUpload,
) -> sqlx::Result<bool> {
    let stored = serde_json::to_value(stored).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let result = sqlx::query!(
        "UPDATE resumable_uploads SET stored = $3, writer = NULL, writer_seen_at = NULL
         WHERE id = $1 AND writer = $2",
        id,
        writer,
        stored,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Lets go of the upload, for the next request.
pub async fn release(pool: &PgPool, id: Uuid, writer: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE resumable_uploads SET writer = NULL, writer_seen_at = NULL
         WHERE id = $1 AND writer = $2",
        id,
        writer,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets the upload (complete, terminated or expired); whether it was there.
pub async fn delete(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let result = sqlx::query!("DELETE FROM resumable_uploads WHERE id = $1", id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Uploads past their expiry (at most `limit`), for the janitor to remove.
pub async fn expired(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<ResumableUpload>> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT id, length, metadata, filename, stored, expires_at FROM resumable_uploads
         WHERE expires_at <= now() ORDER BY expires_at LIMIT $1",
        limit
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(ResumableUpload::try_from).collect()
}
