//! The answer to a request that made a video: `201 Created` with the video and its
//! `Location`, the URL a client polls.

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use uuid::Uuid;

use super::AppState;
use super::problem::ApiError;
use crate::db::videos;
use crate::video_resource::VideoResource;

/// `201 Created` with the video and its `Location`.
pub(super) async fn created(
    state: &AppState,
    id: Uuid,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    let resource = VideoResource::from(row);
    Ok((StatusCode::CREATED, location_of(&resource), Json(resource)))
}

/// Headers with `Location`: the video's status URL, where a client polls it.
pub(super) fn location_of(resource: &VideoResource) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::LOCATION,
        resource
            .status_url
            .parse()
            .expect("a path is a header value"),
    );
    headers
}
