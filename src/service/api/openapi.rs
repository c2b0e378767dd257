//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Schema};
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
    components(schemas(crate::service::webhooks::payload::WebhookPayload)),
    modifiers(&ApiKeyScheme, &ProblemDocuments)
)]
pub struct ApiDoc;

/// The document as served: [`ApiDoc`] with the OpenAPI 3.1 `webhooks` section (utoipa does
/// not write one): a POST per event type, its signed headers and its payload.
pub fn document() -> serde_json::Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let header = |name: &str, description: &str| {
        serde_json::json!({"name": name, "in": "header", "required": true,
            "description": description, "schema": {"type": "string"}})
    };
    let parameters = serde_json::json!([
        header(
            "webhook-id",
            "The event's id, the same on every attempt: deduplicate by it"
        ),
        header(
            "webhook-timestamp",
            "Unix seconds of this attempt; refuse one far from now"
        ),
        header(
            "webhook-signature",
            "`v1,<base64>`: HMAC-SHA256, keyed with WEBHOOK_SECRET, of `{webhook-id}.{webhook-timestamp}.{body}` (Standard Webhooks)"
        ),
        header("webhook-event", "The event type, as in the body"),
        header(
            "webhook-delivery",
            "The delivery's id (`GET /v1/webhook-deliveries/{id}`)"
        ),
        header("webhook-attempt", "This attempt's number, from 1"),
    ]);
    let webhooks: serde_json::Map<String, serde_json::Value> = crate::service::webhooks::payload::EVENT_TYPES
        .iter()
        .map(|event| {
            let operation = serde_json::json!({"post": {
                "operationId": event.replace('.', "_"),
                "summary": format!("`{event}`, posted to every WEBHOOK_URLS endpoint"),
                "parameters": parameters,
                "requestBody": {"required": true, "content": {"application/json": {"schema":
                    {"$ref": "#/components/schemas/WebhookPayload"}}}},
                "responses": {"2XX": {"description": "Received; any other answer (or none within the request timeout) is tried again later"}},
            }});
            (event.to_string(), operation)
        })
        .collect();
    document["webhooks"] = serde_json::Value::Object(webhooks);
    link_operations(&mut document);
    document
}

/// OpenAPI links from a created video to what can be done with it, by its `id`: what lets a
/// client generator or a stateful test (Schemathesis) chain create, read, cancel, retry and
/// delete.
fn link_operations(document: &mut serde_json::Value) {
    let by_id = |operation: &str| serde_json::json!({"operationId": operation, "parameters": {"id": "$response.body#/id"}});
    let links = serde_json::json!({
        "GetVideo": by_id("get_video"),
        "VideoEvents": by_id("video_events"),
        "CancelVideo": by_id("cancel_video"),
        "RetryVideo": by_id("retry_video"),
        "DeleteVideo": by_id("delete_video"),
    });
    for status in ["201", "202"] {
        let response = &mut document["paths"]["/v1/videos"]["post"]["responses"][status];
        if response.is_object() {
            response["links"] = links.clone();
        }
    }
    let response = &mut document["paths"]["/v1/videos/{id}"]["get"]["responses"]["200"];
    if response.is_object() {
        response["links"] = serde_json::json!({
            "CancelVideo": by_id("cancel_video"),
            "DeleteVideo": by_id("delete_video"),
        });
    }
}

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What every error answer has in common, written once for the whole document: the
/// `Problem.code` enum of every stable code, and the `400 bad-path` of every operation with a
/// path parameter (a malformed one, e.g. an id that is not a UUID).
struct ProblemDocuments;

impl Modify for ProblemDocuments {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        if let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") {
            if let Some(RefOr::T(Schema::Object(code))) = problem.properties.get_mut("code") {
                let codes = super::problem::problem_codes();
                code.enum_values = Some(codes.into_iter().map(Into::into).collect());
            }
        }
        const BAD_PATH: &str =
            "A malformed path parameter, e.g. an id that is not a UUID (`bad-path`)";
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.contains('{') {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                match responses.get_mut("400") {
                    Some(RefOr::T(response)) if !response.description.contains("bad-path") => {
                        response.description = format!("{}; or: {BAD_PATH}", response.description);
                    }
                    Some(_) => {}
                    None => {
                        let content = ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build();
                        let response = ResponseBuilder::new()
                            .description(BAD_PATH)
                            .content(PROBLEM_JSON, content)
                            .build();
                        responses.insert("400".into(), RefOr::T(response));
                    }
                }
            }
        }
    }
}

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
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(document())
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
        let document = document();
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

    #[test]
    fn errors_are_problem_json_and_parameters_are_where_they_are() {
        let document = document();
        assert_eq!(document["webhooks"].as_object().unwrap().len(), 4);
        let codes = &document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"];
        for code in [
            "bad-path",
            "video-not-found",
            "not-a-video",
            "input-too-long",
        ] {
            assert!(codes.as_array().unwrap().contains(&code.into()), "{codes}");
        }
        let mut operation_ids = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let here = format!("{method} {path}");
                operation_ids.push(operation["operationId"].as_str().unwrap().to_string());
                let responses = operation["responses"].as_object().unwrap();
                for (status, response) in responses {
                    let schema = response["content"].as_object().and_then(|content| {
                        content
                            .iter()
                            .find(|(_, c)| c["schema"]["$ref"] == "#/components/schemas/Problem")
                    });
                    if let Some((media_type, _)) = schema {
                        assert_eq!(media_type, PROBLEM_JSON, "{here} {status}");
                    }
                    if status.starts_with('4') || status.starts_with('5') {
                        let types: Vec<&String> = response["content"]
                            .as_object()
                            .map(|c| c.keys().collect())
                            .unwrap_or_default();
                        assert!(
                            types.iter().all(|t| *t == PROBLEM_JSON),
                            "{here} {status}: {types:?}"
                        );
                    }
                }
                if path.contains('{') {
                    assert!(responses.contains_key("400"), "{here} documents no 400");
                }
                // A path parameter is in the path; everything else is not.
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap();
                    let in_path = path.contains(&format!("{{{name}}}"));
                    assert_eq!(parameter["in"] == "path", in_path, "{here}: {parameter}");
                }
            }
        }
        let count = operation_ids.len();
        operation_ids.sort();
        operation_ids.dedup();
        assert_eq!(operation_ids.len(), count, "operation ids are unique");
    }
}
