//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    cancel_video, create_video, delete_video, get_video, health, list_videos, metrics, play_video,
    retry_video, video_events, web_page, webhook_deliveries,
};

/// The API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hls-ladder",
        description = "Upload videos, get HLS playback URLs."
    ),
    paths(
        create_video::create_video,
        list_videos::list_videos,
        get_video::get_video,
        video_events::video_events,
        cancel_video::cancel_video,
        retry_video::retry_video,
        play_video::play_video,
        delete_video::delete_video,
        webhook_deliveries::list_deliveries,
        webhook_deliveries::get_delivery,
        webhook_deliveries::replay_delivery,
        web_page::index,
        health::healthz,
        health::readyz,
        metrics::metrics,
        openapi_json,
    ),
    modifiers(&ApiKeyScheme)
)]
pub struct ApiDoc;

/// Declares the optional bearer API key: none, or `Authorization: Bearer KEY` when the server
/// has `API_KEYS` (for every request under /v1 that changes something, and for reads too with
/// `PRIVATE_READS`). Rejections are 401 `missing-api-key` and 403 `invalid-api-key`.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some(
            "An API key, needed only when the server is configured with API_KEYS.".to_string(),
        );
        components.add_security_scheme("api_key", SecurityScheme::Http(bearer));
        openapi.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("api_key", Vec::<String>::new()),
        ]);
    }
}

/// The OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3 document", body = Object, example = json!({"openapi": "3.1.0", "info": {"title": "hls-ladder"}, "paths": {"/v1/videos": {}}}))))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
