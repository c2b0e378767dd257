//! `Idempotency-Key`s of uploads: which video a client's key made (see the migration
//! `idempotency_keys`). A key lives [`KEY_HOURS`] hours; a key whose video was deleted is
//! forgotten.

use sqlx::PgPool;
use uuid::Uuid;

/// How long a key is remembered.
pub const KEY_HOURS: f64 = 24.0;

/// A client's key, as stored.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey<'a> {
    /// The client's digest (its validated API key, else its address).
    pub client: &'a [u8],
    /// The header's value.
    pub key: &'a str,
    /// What the request asked for (a digest of its kind, query and, for an import, body): a
    /// key sent again with another request is refused, not replayed.
    pub request: &'a str,
}

/// What a key is remembered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The video the key made.
    pub video_id: Uuid,
    /// The request it was first sent with (none for a key recorded before requests were).
    pub request: Option<String>,
}

impl Remembered {
    /// Whether `request` is the one the key was first sent with.
    pub fn same_request(&self, request: &str) -> bool {
        self.request.as_deref().is_none_or(|first| first == request)
    }
}

/// The video this client's key made, if it is remembered and the video still exists.
pub async fn find(pool: &PgPool, key: IdempotencyKey<'_>) -> sqlx::Result<Option<Remembered>> {
    sqlx::query_as!(
        Remembered,
        "SELECT k.video_id, k.request FROM idempotency_keys k JOIN videos v ON v.id = k.video_id
         WHERE k.client = $1 AND k.key = $2
           AND k.created_at > now() - make_interval(hours => $3::float8::int)",
        key.client,
        key.key,
        KEY_HOURS,
    )
    .fetch_optional(pool)
    .await
}

/// Forgets keys older than [`KEY_HOURS`], or whose video is gone; returns how many.
pub async fn prune(pool: &PgPool) -> sqlx::Result<u64> {
    let result = sqlx::query!(
        "DELETE FROM idempotency_keys k
         WHERE k.created_at < now() - make_interval(hours => $1::float8::int)
            OR NOT EXISTS (SELECT 1 FROM videos v WHERE v.id = k.video_id)",
        KEY_HOURS,
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}
