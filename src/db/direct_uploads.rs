//! Uploads straight to the bucket in progress (see the migration `direct_uploads`): where
//! their parts go, and which request completes one.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// How long a request completing an upload holds it (joining, fetching and probing it).
pub const COMPLETING_SECONDS: f64 = 600.0;

/// One upload straight to the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectUpload {
    /// Its id, the video's to be.
    pub id: Uuid,
    /// The key the whole upload lands at (`sources/{id}`).
    pub key: String,
    /// The bucket's multipart upload.
    pub multipart_id: String,
    /// Its size.
    pub length: u64,
    /// The size of every part but the last.
    pub part_bytes: u64,
    /// The client's file name, sanitised.
    pub filename: Option<String>,
    /// When its URLs stop working and it is removed.
    pub expires_at: DateTime<Utc>,
}

struct Row {
    id: Uuid,
    key: String,
    multipart_id: String,
    length: i64,
    part_bytes: i64,
    filename: Option<String>,
    expires_at: DateTime<Utc>,
}

impl From<Row> for DirectUpload {
    fn from(row: Row) -> DirectUpload {
        DirectUpload {
            id: row.id,
            key: row.key,
            multipart_id: row.multipart_id,
            length: u64::try_from(row.length).unwrap_or(0),
            part_bytes: u64::try_from(row.part_bytes).unwrap_or(1),
            filename: row.filename,
            expires_at: row.expires_at,
        }
    }
}

/// Records a new upload.
pub async fn insert(pool: &PgPool, upload: &DirectUpload) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO direct_uploads (id, key, multipart_id, length, part_bytes, filename, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        upload.id,
        upload.key,
        upload.multipart_id,
        i64::try_from(upload.length).unwrap_or(i64::MAX),
        i64::try_from(upload.part_bytes).unwrap_or(i64::MAX),
        upload.filename,
        upload.expires_at,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// What [`take`] found.
#[derive(Debug)]
pub enum Taken {
    /// This request completes it now.
    Taken(DirectUpload),
    /// Another request is completing it.
    Busy,
    /// No such upload (or it expired).
    Missing,
}

/// Takes the upload for the request completing it, unless another one holds it.
pub async fn take(pool: &PgPool, id: Uuid) -> sqlx::Result<Taken> {
    let row = sqlx::query_as!(
        Row,
        "UPDATE direct_uploads SET completing_until = now() + make_interval(secs => $2)
         WHERE id = $1 AND expires_at > now()
           AND (completing_until IS NULL OR completing_until < now())
         RETURNING id, key, multipart_id, length, part_bytes, filename, expires_at",
        id,
        COMPLETING_SECONDS,
    )
    .fetch_optional(pool)
    .await?;
    if let Some(row) = row {
        return Ok(Taken::Taken(row.into()));
    }
    let exists = sqlx::query_scalar!(
        "SELECT id FROM direct_uploads WHERE id = $1 AND expires_at > now()",
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(if exists.is_some() {
        Taken::Busy
    } else {
        Taken::Missing
    })
}

/// Gives the upload back (its completion failed for now; the client may try again).
pub async fn release(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE direct_uploads SET completing_until = NULL WHERE id = $1",
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets the upload (it became a video, or was refused, or expired).
pub async fn delete(pool: &PgPool, id: Uuid) -> sqlx::Result<bool> {
    let result = sqlx::query!("DELETE FROM direct_uploads WHERE id = $1", id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Uploads past their expiry, oldest first, at most `limit`.
pub async fn expired(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<DirectUpload>> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT id, key, multipart_id, length, part_bytes, filename, expires_at FROM direct_uploads
         WHERE expires_at <= now() ORDER BY expires_at LIMIT $1",
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(DirectUpload::from).collect())
}
