//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    cancel_video, create_video, delete_video, direct_uploads, get_video, health, list_videos,
    metrics, play_video, retry_video, tus_uploads, video_captions, video_events, web_page,
    webhook_deliveries,
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
        video_captions::put_captions,
        video_captions::delete_captions,
        play_video::play_video,
        delete_video::delete_video,
        tus_uploads::options,
        tus_uploads::create,
        tus_uploads::head,
        tus_uploads::patch,
        tus_uploads::terminate,
        direct_uploads::create,
        direct_uploads::complete,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `value`.
    fn refs(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("$ref", serde_json::Value::String(target)) => found.push(target.clone()),
                        _ => refs(inner, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
            _ => {}
        }
    }

    #[test]
    fn a_video_is_described_field_by_field_and_every_reference_resolves() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &document["components"]["schemas"];
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(!found.is_empty());
        for target in &found {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {target}"));
            assert!(schemas.get(name).is_some(), "{target} does not resolve");
        }
        // The status is an enum of the statuses, not any string.
        let status = &schemas["VideoStatus"]["enum"];
        assert_eq!(
            status,
            &serde_json::json!([
                "uploading",
                "importing",
                "pending",
                "processing",
                "completed",
                "failed",
                "canceled"
            ])
        );
        // The source facts, the progress and the renditions are typed, not bare objects.
        for (schema, field) in [
            ("SourceInfo", "frame_rate"),
            ("AudioInfo", "channels"),
            ("Progress", "frames_expected"),
            ("RenditionReport", "average_bandwidth"),
        ] {
            let text = schemas[schema].to_string();
            assert!(text.contains(field), "{schema} lacks {field}: {text}");
        }
    }
}
