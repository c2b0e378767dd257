//! `GET /v1/videos/{id}`: status, per-frame progress, source facts, renditions, URL.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use uuid::Uuid;

use super::AppState;
use super::extract::ApiPath;
use super::problem::ApiError;
use crate::service::db::videos;
use crate::service::video_resource::VideoResource;

/// One video with its conversion status and, when completed, its playback URL.
#[utoipa::path(
    get,
    path = "/v1/videos/{id}",
    params(("id" = Uuid, Path, description = "Video id")),
    responses(
        (status = 200, description = "The video", body = VideoResource),
        (status = 404, description = "No such video", body = super::problem::Problem),
        (status = 503, description = "Database unavailable", body = super::problem::Problem),
    )
)]
#[tracing::instrument(level = "debug", skip(state, headers))]
pub async fn get_video(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<VideoResource>, ApiError> {
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    Ok(Json(state.present(row, &headers)))
}
