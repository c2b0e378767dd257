//! `GET /v1/videos`: newest first, cursor pagination, optional status filter.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiQuery, check_status_filter};
use super::problem::ApiError;
use super::video_resource::VideoResource;
use crate::db::videos;

/// Query parameters of the list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only videos with this status.
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
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
        (status = 400, description = "Unknown status or malformed cursor", body = super::problem::Problem),
    )
)]
#[tracing::instrument(skip(state, headers))]
pub async fn list_videos(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<VideoPage>, ApiError> {
    check_status_filter(query.status.as_deref(), &videos::STATUSES)?;
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows = videos::list(&state.pool, query.status.as_deref(), after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<VideoResource> = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| state.present(row, &headers))
        .collect();
    let next_cursor = if more {
        items.last().map(|v| encode_cursor(v.created_at, v.id))
    } else {
        None
    };
    Ok(Json(VideoPage { items, next_cursor }))
}

pub(super) fn encode_cursor(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{id}", created_at.timestamp_micros())
}

pub(super) fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-cursor",
            "the cursor is not one this API returned",
        )
    };
    let (micros, id) = cursor.split_once('_').ok_or_else(bad)?;
    let time =
        DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((time, id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let time = DateTime::from_timestamp_micros(1_764_300_000_123_456).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(time, id)).unwrap(), (time, id));
        assert!(decode_cursor("yesterday").is_err());
    }
}
