//! `POST /v1/videos/{id}/retry`: queue a failed conversion again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::AppState;
use super::extract::ApiPath;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::db::videos;
use crate::uploads::Upload;
use crate::video_resource::VideoResource;
use crate::video_status::VideoStatus;

/// Queues a failed video again with a fresh set of attempts, e.g. after a storage outage
/// outlasted its retries. Possible while the server still holds its upload: it keeps it when
/// the failure was not the video's fault, and removes it when the video itself cannot be
/// converted (then upload a fixed file instead). A failed import is downloaded again.
#[utoipa::path(
    post,
    path = "/v1/videos/{id}/retry",
    params(("id" = Uuid, Path, description = "Video id")),
    responses(
        (status = 202, description = "Queued again (an import: `importing` again)", body = VideoResource),
        (status = 404, description = "No such video"),
        (status = 409, description = "Not failed, or its upload is gone"),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn retry_video(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<VideoResource>), ApiError> {
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    if row.status != VideoStatus::Failed {
        return Err(not_retryable(row.status));
    }
    if row.source.is_none() {
        // An import that failed before its file arrived: download it again.
        return retry_import(&state, id).await;
    }
    let upload = Upload::of(id, row.source_key.as_deref());
    if !state.uploads.is_kept(&upload).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::SourceGone,
            format!(
                "the upload was removed when the video failed ({}), since converting it again cannot succeed; upload a fixed file instead",
                row.error_code.as_deref().unwrap_or("no reason recorded")
            ),
        ));
    }
    if !videos::requeue_failed(&state.pool, id).await? {
        // It changed meanwhile: retried by another request, or deleted.
        return match videos::get(&state.pool, id).await? {
            Some(now) => Err(not_retryable(now.status)),
            None => Err(ApiError::video_not_found(id)),
        };
    }
    tracing::info!("queued again");
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}

/// Imports a failed import again.
async fn retry_import(
    state: &AppState,
    id: Uuid,
) -> Result<(StatusCode, Json<VideoResource>), ApiError> {
    if !crate::db::imports::requeue_failed(&state.pool, id).await? {
        return match videos::get(&state.pool, id).await? {
            Some(now) => Err(not_retryable(now.status)),
            None => Err(ApiError::video_not_found(id)),
        };
    }
    state.imports.wake();
    tracing::info!("import started again");
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}

fn not_retryable(status: VideoStatus) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ApiCode::NotRetryable,
        format!("the video is {status}; only failed videos can be retried"),
    )
}
