//! The webhook outbox: `webhook_events` (written by a trigger with the status change),
//! `webhook_deliveries` (one per event and endpoint) and `webhook_attempts`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::channels::WEBHOOKS_CHANNEL;

/// A delivery as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
#[expect(missing_docs, reason = "the columns are documented in the migration")]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub video_id: Uuid,
    pub event_type: String,
    pub endpoint: String,
    pub status: String,
    pub attempts: i32,
    pub attempts_allowed: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt of a delivery, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
#[expect(missing_docs, reason = "the columns are documented in the migration")]
pub struct AttemptRow {
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: f64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

/// Makes the deliveries of up to `limit` new events, one per endpoint (none when no endpoint
/// is configured: the event is then only marked). Returns how many events it took.
pub async fn fan_out(
    pool: &PgPool,
    endpoints: &[String],
    attempts_allowed: i32,
    limit: i64,
) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let events = sqlx::query!(
        "UPDATE webhook_events SET fanned_out = true
         WHERE id IN (SELECT id FROM webhook_events WHERE NOT fanned_out
                      ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT $1)
         RETURNING id, video_id, type",
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    for event in &events {
        for endpoint in endpoints {
            sqlx::query!(
                "INSERT INTO webhook_deliveries (id, event_id, video_id, event_type, endpoint, attempts_allowed)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                Uuid::now_v7(),
                event.id,
                event.video_id,
                event.r#type,
                endpoint,
                attempts_allowed,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(events.len() as u64)
}

/// A delivery a dispatcher now holds: its attempt runs until `next_attempt_at`, after which
/// another dispatcher may take it again (the holder crashed).
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub id: Uuid,
    /// The event (the receiver's idempotency key).
    pub event_id: Uuid,
    /// `video.completed`, …
    pub event_type: String,
    /// Where to send it.
    pub endpoint: String,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// The limit.
    pub attempts_allowed: i32,
    /// The video's row when the event happened (to_jsonb).
    pub video: Value,
}

/// Takes up to `limit` due deliveries for `hold_seconds`, counting the attempt. A due one
/// with no attempts left (its last one died with its sender) is failed instead.
pub async fn claim_due(
    pool: &PgPool,
    hold_seconds: f64,
    limit: i64,
) -> sqlx::Result<Vec<ClaimedDelivery>> {
    sqlx::query!(
        "UPDATE webhook_deliveries
         SET status = 'failed', updated_at = now(),
             last_error = 'the last attempt was interrupted (its sender stopped); replay it'
         WHERE status = 'pending' AND next_attempt_at <= now() AND attempts >= attempts_allowed"
    )
    .execute(pool)
    .await?;
    let rows = sqlx::query!(
        "UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $1), updated_at = now()
         FROM webhook_events e
         WHERE e.id = d.event_id AND d.id IN (
             SELECT id FROM webhook_deliveries
             WHERE status = 'pending' AND next_attempt_at <= now() AND attempts < attempts_allowed
             ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT $2)
         RETURNING d.id, d.event_id, d.event_type, d.endpoint, d.attempts, d.attempts_allowed, e.video",
        hold_seconds,
        limit,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ClaimedDelivery {
            id: r.id,
            event_id: r.event_id,
            event_type: r.event_type,
            endpoint: r.endpoint,
            attempt: r.attempts,
            attempts_allowed: r.attempts_allowed,
            video: r.video,
        })
        .collect())
}

/// How one attempt went.
#[derive(Debug)]
pub struct AttemptOutcome {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// The receiver's status, if it answered.
    pub status_code: Option<i32>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Whether the receiver took it (a 2xx).
    pub delivered: bool,
    /// When to try again if it failed and attempts remain (whether they do is read from the
    /// row when the attempt is recorded).
    pub retry_in_seconds: f64,
}

/// Records an attempt and its effect on the delivery, in one transaction.
pub async fn record_attempt(
    pool: &PgPool,
    delivery: &ClaimedDelivery,
    outcome: &AttemptOutcome,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (delivery_id, attempt) DO NOTHING",
        delivery.id,
        delivery.attempt,
        outcome.started_at,
        outcome.duration_ms,
        outcome.status_code,
        outcome.error,
    )
    .execute(&mut *tx)
    .await?;
    // Pending or failed is decided from the allowance as it is now: a replay during this
    // attempt has raised it.
    sqlx::query!(
        "UPDATE webhook_deliveries
         SET status = CASE WHEN $2 THEN 'delivered'
                           WHEN attempts < attempts_allowed THEN 'pending' ELSE 'failed' END,
             last_status_code = $3, last_error = $4, updated_at = now(),
             next_attempt_at = now() + make_interval(secs => $5),
             delivered_at = CASE WHEN $2 THEN now() ELSE delivered_at END
         WHERE id = $1 AND attempts = $6",
        delivery.id,
        outcome.delivered,
        outcome.status_code,
        outcome.error,
        outcome.retry_in_seconds,
        delivery.attempt,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Newest first, after the `(created_at, id)` cursor, optionally of one video and status.
pub async fn list(
    pool: &PgPool,
    video_id: Option<Uuid>,
    status: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    let (after_time, after_id) = after.unzip();
    sqlx::query_as!(
        DeliveryRow,
        "SELECT id, event_id, video_id, event_type, endpoint, status, attempts, attempts_allowed,
                next_attempt_at, last_status_code, last_error, created_at, updated_at, delivered_at
         FROM webhook_deliveries
         WHERE ($1::uuid IS NULL OR video_id = $1)
           AND ($2::text IS NULL OR status = $2)
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC
         LIMIT $5",
        video_id,
        status,
        after_time,
        after_id,
        limit,
    )
    .fetch_all(pool)
    .await
}

/// One delivery.
pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<DeliveryRow>> {
    sqlx::query_as!(
        DeliveryRow,
        "SELECT id, event_id, video_id, event_type, endpoint, status, attempts, attempts_allowed,
                next_attempt_at, last_status_code, last_error, created_at, updated_at, delivered_at
         FROM webhook_deliveries WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await
}

/// The attempts of these deliveries, oldest first.
pub async fn attempts(pool: &PgPool, deliveries: &[Uuid]) -> sqlx::Result<Vec<AttemptRow>> {
    sqlx::query_as!(
        AttemptRow,
        "SELECT delivery_id, attempt, started_at, duration_ms, status_code, error
         FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt",
        deliveries
    )
    .fetch_all(pool)
    .await
}

/// Queues a delivery again, whatever its status, with `more_attempts` further attempts;
/// false when there is no such delivery.
pub async fn replay(pool: &PgPool, id: Uuid, more_attempts: i32) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE webhook_deliveries
         SET status = 'pending', next_attempt_at = now(), attempts_allowed = attempts + $2,
             updated_at = now()
         WHERE id = $1",
        id,
        more_attempts,
    )
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!("SELECT pg_notify($1, $2)", WEBHOOKS_CHANNEL, id.to_string())
        .execute(pool)
        .await?;
    Ok(true)
}

/// Removes events (and their deliveries and attempts) older than `days` that have nothing
/// left to send, whether or not a process ever made their deliveries; returns how many.
pub async fn prune(pool: &PgPool, days: f64) -> sqlx::Result<u64> {
    let removed = sqlx::query!(
        "DELETE FROM webhook_events e
         WHERE e.created_at < now() - make_interval(secs => $1::float8 * 86400)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                           WHERE d.event_id = e.id AND d.status = 'pending')",
        days
    )
    .execute(pool)
    .await?;
    Ok(removed.rows_affected())
}

/// Deliveries per status, for metrics.
pub async fn count_by_status(pool: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        "SELECT status, count(*) AS \"count!\" FROM webhook_deliveries GROUP BY status"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.count)).collect())
}
