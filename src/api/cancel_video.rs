//! `POST /v1/videos/{id}/cancel`: stop a queued or running conversion.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::AppState;
use super::extract::ApiPath;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::db::videos::{self, CancelOutcome};
use crate::video_resource::VideoResource;

/// Cancels a conversion. An importing or pending video is `canceled` at once (an import's
/// download stops within a lease renewal); a running one stops within about a second (its
/// status then becomes `canceled`).
#[utoipa::path(
    post,
    path = "/v1/videos/{id}/cancel",
    params(("id" = Uuid, Path, description = "Video id")),
    responses(
        (status = 202, description = "Canceled, or stopping", body = VideoResource),
        (status = 404, description = "No such video"),
        (status = 409, description = "Already completed, failed or canceled"),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn cancel_video(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<VideoResource>), ApiError> {
    match videos::request_cancel(&state.pool, id).await? {
        CancelOutcome::NotFound => Err(ApiError::video_not_found(id)),
        CancelOutcome::AlreadyFinished(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::AlreadyFinished,
            format!(
                "the video is already {status}; only importing, pending or processing videos can be canceled"
            ),
        )),
        CancelOutcome::Accepted { .. } => {
            let row = videos::get(&state.pool, id)
                .await?
                .ok_or_else(|| ApiError::video_not_found(id))?;
            Ok((StatusCode::ACCEPTED, Json(row.into())))
        }
    }
}
