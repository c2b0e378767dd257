//! `DELETE /v1/videos/{id}`: remove the video, its upload and every published object.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::AppState;
use super::extract::ApiPath;
use super::problem::ApiError;
use crate::db::videos;
use crate::storage::video_prefix;
use crate::uploads::Upload;

/// Deletes a video: a running conversion is stopped, the published objects and the upload
/// are removed, then the record.
#[utoipa::path(
    delete,
    path = "/v1/videos/{id}",
    params(("id" = Uuid, Path, description = "Video id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such video"),
        (status = 503, description = "Database or storage unavailable"),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn delete_video(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let Some(row) = videos::get(&state.pool, id).await? else {
        return Err(ApiError::video_not_found(id));
    };
    // A running worker sees the stop request (or the missing row) and removes what it still
    // uploads; a pending job is no longer claimed.
    videos::request_stop(&state.pool, id).await?;
    state.store.delete_prefix(&video_prefix(id)).await?;
    let upload = Upload::of(id, row.source_key.as_deref());
    state.uploads.discard(&upload).await;
    videos::delete(&state.pool, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
