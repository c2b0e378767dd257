//! `GET /v1/webhook-deliveries[/{id}]` and `POST /v1/webhook-deliveries/{id}/replay`: what was
//! sent to the webhook endpoints, every attempt and its answer, and sending one again.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiPath, ApiQuery, check_status_filter};
use super::pagination::{decode_cursor, into_page, page_size};
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::db::webhooks::{self, AttemptRow, DeliveryRow};

const STATUSES: [&str; 3] = ["pending", "delivered", "failed"];

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"attempt": 1, "started_at": "2026-11-28T12:00:03.120Z", "duration_ms": 4.2, "status_code": 503, "error": "HTTP 503 Service Unavailable"}))]
pub struct WebhookAttempt {
    /// 1 for the first.
    pub attempt: i32,
    /// When it was sent.
    pub started_at: DateTime<Utc>,
    /// How long the receiver took, in milliseconds.
    pub duration_ms: f64,
    /// The receiver's HTTP status; absent when it did not answer.
    pub status_code: Option<i32>,
    /// Why it did not count as delivered; absent when it did.
    pub error: Option<String>,
}

/// One event sent to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193ee2a-5b8c-7d6f-9e0a-1b2c3d4e5f60", "event_id": "6f1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "video_id": "0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
    "event": "video.completed", "endpoint": "https://example.com/hooks/video",
    "status": "delivered", "attempts": 2, "attempts_allowed": 12, "next_attempt_at": null,
    "last_status_code": 204, "last_error": null,
    "created_at": "2026-11-28T12:00:03.100Z", "delivered_at": "2026-11-28T12:00:13.300Z",
    "history": [
        {"attempt": 1, "started_at": "2026-11-28T12:00:03.120Z", "duration_ms": 4.2, "status_code": 503, "error": "HTTP 503 Service Unavailable"},
        {"attempt": 2, "started_at": "2026-11-28T12:00:13.290Z", "duration_ms": 3.1, "status_code": 204, "error": null}
    ]}))]
pub struct WebhookDelivery {
    /// The delivery (also sent as the `Webhook-Delivery` header).
    pub id: Uuid,
    /// The event (the `Webhook-Id` header; the same for every endpoint and attempt).
    pub event_id: Uuid,
    /// The video it is about.
    pub video_id: Uuid,
    /// `video.playable`, `video.completed`, `video.failed` or `video.canceled`.
    pub event: String,
    /// Where it goes, without user, password or query (they may hold a token).
    pub endpoint: String,
    /// `pending` (waiting for an attempt), `delivered` or `failed` (attempts exhausted).
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts it may have before it fails (a replay allows more).
    pub attempts_allowed: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last answer's HTTP status.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When a receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub history: Vec<WebhookAttempt>,
}

impl WebhookDelivery {
    fn new(row: DeliveryRow, history: Vec<AttemptRow>) -> WebhookDelivery {
        WebhookDelivery {
            next_attempt_at: (row.status == "pending").then_some(row.next_attempt_at),
            id: row.id,
            event_id: row.event_id,
            video_id: row.video_id,
            event: row.event_type,
            endpoint: redact_endpoint(&row.endpoint),
            status: row.status,
            attempts: row.attempts,
            attempts_allowed: row.attempts_allowed,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
            history: history
                .into_iter()
                .map(|a| WebhookAttempt {
                    attempt: a.attempt,
                    started_at: a.started_at,
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    error: a.error,
                })
                .collect(),
        }
    }
}

/// Query parameters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only the deliveries about this video.
    pub video_id: Option<Uuid>,
    /// Only `pending`, `delivered` or `failed` ones.
    #[param(pattern = "^(pending|delivered|failed)$")]
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20); outside, `400 bad-query`.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page; anything else is `400 bad-cursor`.
    pub cursor: Option<String>,
}

/// A page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [{"id": "0193ee2a-5b8c-7d6f-9e0a-1b2c3d4e5f60", "event_id": "6f1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
               "video_id": "0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b", "event": "video.failed",
               "endpoint": "https://example.com/hooks/video", "status": "pending", "attempts": 1,
               "attempts_allowed": 12, "next_attempt_at": "2026-11-28T12:00:13.100Z",
               "last_status_code": null, "last_error": "could not connect: Connection refused (os error 111)",
               "created_at": "2026-11-28T12:00:03.100Z", "delivered_at": null,
               "history": [{"attempt": 1, "started_at": "2026-11-28T12:00:03.120Z", "duration_ms": 1.3,
                            "status_code": null, "error": "could not connect: Connection refused (os error 111)"}]}],
    "next_cursor": null
}))]
pub struct DeliveryPage {
    /// Newest first.
    pub items: Vec<WebhookDelivery>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists webhook deliveries with their attempts, newest first.
#[utoipa::path(
    get,
    path = "/v1/webhook-deliveries",
    params(DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 400, description = "Unknown status or malformed cursor"),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    check_status_filter(query.status.as_deref(), &STATUSES)?;
    let limit = page_size(query.limit)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows = webhooks::list(
        &state.pool,
        query.video_id,
        query.status.as_deref(),
        after,
        limit + 1,
    )
    .await?;
    let (rows, next_cursor) = into_page(rows, limit, |row| (row.created_at, row.id));
    let items = with_history(&state, rows).await?;
    Ok(Json(DeliveryPage { items, next_cursor }))
}

/// One webhook delivery with its attempts.
#[utoipa::path(
    get,
    path = "/v1/webhook-deliveries/{id}",
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "The delivery", body = WebhookDelivery),
        (status = 404, description = "No such delivery"),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn get_delivery(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WebhookDelivery>, ApiError> {
    Ok(Json(delivery_with_history(&state, id).await?))
}

/// Sends a delivery again, whatever its status: at once, with a fresh set of attempts
/// (`WEBHOOK_MAX_ATTEMPTS`). The event keeps its `Webhook-Id`, so a receiver that already
/// has it can tell.
#[utoipa::path(
    post,
    path = "/v1/webhook-deliveries/{id}/replay",
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued; the attempt follows within a second", body = WebhookDelivery),
        (status = 404, description = "No such delivery"),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn replay_delivery(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    if !webhooks::replay(&state.pool, id, state.webhook_max_attempts).await? {
        return Err(not_found(id));
    }
    let delivery = delivery_with_history(&state, id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

/// One delivery and its attempts; 404 when there is no such delivery.
async fn delivery_with_history(state: &AppState, id: Uuid) -> Result<WebhookDelivery, ApiError> {
    let row = webhooks::get(&state.pool, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let mut items = with_history(state, vec![row]).await?;
    Ok(items.remove(0))
}

async fn with_history(
    state: &AppState,
    rows: Vec<DeliveryRow>,
) -> Result<Vec<WebhookDelivery>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut history: HashMap<Uuid, Vec<AttemptRow>> = HashMap::new();
    for attempt in webhooks::attempts(&state.pool, &ids).await? {
        history
            .entry(attempt.delivery_id)
            .or_default()
            .push(attempt);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let attempts = history.remove(&row.id).unwrap_or_default();
            WebhookDelivery::new(row, attempts)
        })
        .collect())
}

/// The endpoint without what may be a secret in it: its user and password, and its query
/// (some receivers take a token there).
/// An endpoint as the deliveries API shows it: no user, password or query, and its path only
/// as far as it reads as words: from the first segment that could be a token (digits, or
/// longer than 16 characters, as in `/services/T0001/B0002/XXXX`) on, it is `…`. A fingerprint
/// of the whole URL tells endpoints apart.
fn redact_endpoint(endpoint: &str) -> String {
    use sha2::{Digest, Sha256};
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return "(unreadable URL)".to_string();
    };
    let word = |segment: &&str| {
        !segment.is_empty()
            && segment.len() <= 16
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
    };
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    let shown: Vec<&str> = segments.iter().copied().take_while(|s| word(s)).collect();
    let mut path = shown.join("/");
    let hidden = shown.len() < segments.iter().filter(|s| !s.is_empty()).count();
    if hidden {
        path.push_str(if shown.is_empty() { "…" } else { "/…" });
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = url.host_str().unwrap_or("");
    let query = if url.query().is_some() { "?…" } else { "" };
    let fingerprint = &hex::encode(Sha256::digest(endpoint.as_bytes()))[..8];
    format!(
        "{}://{host}{port}/{path}{query} #{fingerprint}",
        url.scheme()
    )
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ApiCode::DeliveryNotFound,
        format!("there is no webhook delivery {id}"),
    )
}

#[cfg(test)]
mod tests {
    use super::redact_endpoint;

    #[test]
    fn credentials_queries_and_tokens_in_the_path_are_not_shown() {
        let shown = redact_endpoint("https://user:pw@hooks.example.com:8443/in?token=s3cret");
        assert!(
            shown.starts_with("https://hooks.example.com:8443/in?… #"),
            "{shown}"
        );
        assert!(!shown.contains("s3cret") && !shown.contains("pw"));
        let slack = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
        let shown = redact_endpoint(slack);
        assert!(
            shown.starts_with("https://hooks.slack.com/services/… #"),
            "{shown}"
        );
        assert!(!shown.contains("T00000000") && !shown.contains("XXXX"));
        let discord = "https://discord.com/api/webhooks/1234567890/abcdefTOKENghijkl";
        assert!(redact_endpoint(discord).starts_with("https://discord.com/api/webhooks/… #"));
        let bare = "https://example.com/a1b2c3d4e5f6";
        assert!(redact_endpoint(bare).starts_with("https://example.com/… #"));
        assert!(
            redact_endpoint("http://127.0.0.1:9/hooks").starts_with("http://127.0.0.1:9/hooks #")
        );
        // Two endpoints that read the same differ by their fingerprint.
        let (a, b) = (
            redact_endpoint("https://x.com/hook/token-one-1"),
            redact_endpoint("https://x.com/hook/token-two-2"),
        );
        assert_ne!(a, b);
    }
}
