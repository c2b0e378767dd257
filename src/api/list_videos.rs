//! `GET /v1/videos`: newest first, cursor pagination, optional status filter.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::extract::{ApiQuery, check_status_filter};
use super::pagination::{decode_cursor, into_page, page_size};
use super::problem::ApiError;
use crate::db::videos;
use crate::video_resource::VideoResource;
use crate::video_status::VideoStatus;

/// Query parameters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only videos with this status.
    #[param(value_type = Option<VideoStatus>)]
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20); outside, `400 bad-query`.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page; anything else is `400 bad-cursor`.
    pub cursor: Option<String>,
}

/// A page of videos.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [{"id": "0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b", "status": "processing",
               "status_url": "/v1/videos/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b", "playback_url": null,
               "original_filename": "holiday.mp4", "source_bytes": 5_242_880, "source": {"duration": 20.0},
               "progress": {"frames_done": 120, "frames_expected": 600, "percent": 20.0, "fps": 58.1,
                            "speed": 1.94, "eta": 8.3, "elapsed": 2.07, "renditions": []},
               "renditions": null, "duration_seconds": null, "output_bytes": null, "error": null,
               "attempts": 1, "created_at": "2026-11-28T12:00:00.000Z", "updated_at": "2026-11-28T12:00:02.200Z",
               "started_at": "2026-11-28T12:00:00.150Z", "finished_at": null}],
    "next_cursor": "1764331200000000_0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b"
}))]
pub struct VideoPage {
    /// The videos, newest first.
    pub items: Vec<VideoResource>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists videos, newest first.
#[utoipa::path(
    get,
    path = "/v1/videos",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of videos", body = VideoPage),
        (status = 400, description = "Unknown status or malformed cursor"),
    )
)]
#[tracing::instrument(skip(state, headers))]
pub async fn list_videos(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<VideoPage>, ApiError> {
    check_status_filter(
        query.status.as_deref(),
        &VideoStatus::ALL.map(VideoStatus::as_str),
    )?;
    let status = query
        .status
        .as_deref()
        .and_then(|s| s.parse::<VideoStatus>().ok());
    let limit = page_size(query.limit)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows = videos::list(&state.pool, status, after, limit + 1).await?;
    let (rows, next_cursor) = into_page(rows, limit, |row| (row.created_at, row.id));
    let items = rows
        .into_iter()
        .map(|row| state.present(row, &headers))
        .collect();
    Ok(Json(VideoPage { items, next_cursor }))
}
