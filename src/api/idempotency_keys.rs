//! `Idempotency-Key` on requests that make a video (an upload, an import, the end of a direct
//! upload): the header read, a key sent again with another request refused, and the answer to
//! a retry (the video the first request made).

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use uuid::Uuid;

use super::AppState;
use super::created_video::created;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::db::idempotency::{self, IdempotencyKey};
use crate::video_resource::VideoResource;

/// An `Idempotency-Key` as [`idempotency_key`] takes it (the pattern the document gives it).
pub(super) const IDEMPOTENCY_KEY_PATTERN: &str = "^[\\x21-\\x7E]{1,255}$";

/// `422 idempotency-key-reused` when the key was first sent with another request: a key names
/// one request, not a slot for any.
pub(super) fn check_same_request(
    remembered: &idempotency::Remembered,
    idempotency: Option<IdempotencyKey<'_>>,
) -> Result<(), ApiError> {
    match idempotency {
        Some(key) if !remembered.same_request(key.request) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ApiCode::IdempotencyKeyReused,
            "this Idempotency-Key was sent before with another request (another URL, upload kind, length or query); use a new key for a new request",
        )),
        _ => Ok(()),
    }
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadIdempotencyKey,
            "Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID",
        ));
    }
    Ok(Some(key.to_string()))
}

/// The answer to an upload whose idempotency key made `id` already: that video, as the first
/// answer gave it (`202` for an `import`, else `201`), marked `Idempotent-Replayed: true`.
pub(super) async fn existing_video(
    state: &AppState,
    id: Uuid,
    import: bool,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    let (status, mut headers, body) = created(state, id).await?;
    let status = if import { StatusCode::ACCEPTED } else { status };
    headers.insert(
        "idempotent-replayed",
        header::HeaderValue::from_static("true"),
    );
    tracing::info!(video_id = %id, "upload replayed by its idempotency key");
    Ok((status, headers, body))
}
