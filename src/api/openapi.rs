//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

use super::{cancel_video, create_video, delete_video, get_video, health, list_videos, metrics};

/// The API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hls-transcoder",
        description = "Upload videos, get HLS playback URLs."
    ),
    paths(
        create_video::create_video,
        list_videos::list_videos,
        get_video::get_video,
        cancel_video::cancel_video,
        delete_video::delete_video,
        health::healthz,
        health::readyz,
        metrics::metrics,
    )
)]
pub struct ApiDoc;

/// The OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
