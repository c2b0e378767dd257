//! `GET /v1/videos/{id}`: status, per-frame progress, source facts, renditions, URL.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use uuid::Uuid;

use super::AppState;
use super::extract::ApiPath;
use super::problem::ApiError;
use crate::db::{resumable_uploads, videos};
use crate::video_resource::VideoResource;

/// One video with its conversion status and, when completed, its playback URL. A resumable
/// upload (tus) is shown from its creation on, as `uploading` with the bytes received.
#[utoipa::path(
    get,
    path = "/v1/videos/{id}",
    params(("id" = Uuid, Path, description = "Video id")),
    responses(
        (status = 200, description = "The video", body = VideoResource),
        (status = 404, description = "No such video"),
        (status = 503, description = "Database unavailable"),
    )
)]
#[tracing::instrument(level = "debug", skip(state, headers))]
pub async fn get_video(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<VideoResource>, ApiError> {
    if let Some(row) = videos::get(&state.pool, id).await? {
        return Ok(Json(state.present(row, &headers)));
    }
    // A resumable upload becomes this video once whole; until then, how far it got.
    match resumable_uploads::progress(&state.pool, id).await? {
        Some(upload) => Ok(Json(upload.into())),
        None => Err(ApiError::video_not_found(id)),
    }
}
