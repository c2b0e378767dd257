//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers' annotations.

use axum::Json;
use axum::extract::State;
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
    components(schemas(crate::webhooks::payload::WebhookPayload, super::problem::Problem)),
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
    let webhooks: serde_json::Map<String, serde_json::Value> = crate::webhooks::payload::EVENT_TYPES
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
    event_fields_as_text(&mut document["components"]["schemas"]["VideoEvent"]);
    without_object_defaults(&mut document["components"]["schemas"]);
    // The patterns the parsers apply (each tested against its parser).
    for (name, pattern) in [
        ("cursor", super::pagination::CURSOR_PATTERN),
        ("Upload-Metadata", tus_uploads::METADATA_PATTERN),
        ("language", video_captions::LANGUAGE_PATTERN),
        (
            "Idempotency-Key",
            super::idempotency_keys::IDEMPOTENCY_KEY_PATTERN,
        ),
    ] {
        for_each_parameter(&mut document, name, |schema| {
            schema["pattern"] = pattern.into();
        });
    }
    for_each_parameter(&mut document, "Tus-Resumable", |schema| {
        *schema = serde_json::json!({"type": "string", "enum": [tus_uploads::TUS_VERSION]});
    });
    // A query or header parameter is absent or has a value; it is never `null` (utoipa writes
    // an `Option` as nullable).
    for_each_parameter(&mut document, "", |schema| {
        if let Some(types) = schema.get_mut("type").and_then(|t| t.as_array_mut()) {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                schema["type"] = types[0].take();
            }
        }
    });
    // tus: the first bytes of a creation are optional (creation-with-upload), and a PATCH
    // may carry none; an empty body is no bytes, not an empty upload.
    document["paths"]["/v1/uploads"]["post"]["requestBody"]["required"] = false.into();
    for (path, method) in [("/v1/uploads", "post"), ("/v1/uploads/{id}", "patch")] {
        let content = &mut document["paths"][path][method]["requestBody"]["content"];
        content["application/offset+octet-stream"]["schema"] =
            serde_json::json!({"type": "string", "format": "binary"});
    }
    // An empty upload is refused (`empty-upload`).
    for_each_parameter(&mut document, "Upload-Length", |schema| {
        schema["minimum"] = 1.into();
    });
    document["components"]["schemas"]["VideoBytes"]["minLength"] = 1.into();
    document["components"]["schemas"]["UploadForm"]["properties"]["file"]["minLength"] = 1.into();
    // The parts of a multipart upload besides `file` (an upload client's metadata) are
    // ignored; a part's name is text a Content-Disposition header can carry.
    let form = &mut document["components"]["schemas"]["UploadForm"];
    form["additionalProperties"] = serde_json::json!({"type": "string"});
    form["propertyNames"] = serde_json::json!({"pattern": "^[^\\u0000-\\u001f\\u007f\"\\\\]*$"});
    document
}

/// Calls `change` with the schema of every parameter named `name` (of every parameter when
/// `name` is empty), in every operation.
fn for_each_parameter(
    document: &mut serde_json::Value,
    name: &str,
    mut change: impl FnMut(&mut serde_json::Value),
) {
    let paths = document["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut());
    let operations = paths.flat_map(|item| {
        item.as_object_mut()
            .into_iter()
            .flat_map(|item| item.values_mut())
    });
    for operation in operations {
        let parameters = operation
            .get_mut("parameters")
            .and_then(|p| p.as_array_mut());
        for parameter in parameters.into_iter().flatten() {
            if name.is_empty() || parameter["name"] == name {
                change(&mut parameter["schema"]);
            }
        }
    }
}

/// Removes every `default` that is an object, and the one-way `oneOf` that carried it. The
/// answers' types read back leniently (`serde(default)`), which utoipa writes as a default
/// for a nested object; it says nothing to a client (the server always sends the field), and
/// client generators refuse a model with a default (openapi-python-client drops the model,
/// and every answer naming it fails).
///
/// `schemas` is a map of schemas by name (`components.schemas`, or an object's `properties`,
/// where a property may itself be called `default`).
fn without_object_defaults(schemas: &mut serde_json::Value) {
    for schema in schemas
        .as_object_mut()
        .into_iter()
        .flat_map(|map| map.values_mut())
    {
        without_object_default(schema);
    }
}

fn without_object_default(schema: &mut serde_json::Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if map.get("default").is_some_and(serde_json::Value::is_object) {
        map.remove("default");
    }
    // What is left of utoipa's wrapper around a reference with a default: `{"oneOf": [X]}`,
    // which generators read as a union of one; it is X.
    if map.len() == 1 {
        if let Some(serde_json::Value::Array(only)) = map.get_mut("oneOf") {
            if only.len() == 1 {
                let inner = only.remove(0);
                *schema = inner;
                return without_object_default(schema);
            }
        }
    }
    for (keyword, inner) in map.iter_mut() {
        match (keyword.as_str(), inner) {
            ("properties", properties) => without_object_defaults(properties),
            (_, serde_json::Value::Array(items)) => {
                items.iter_mut().for_each(without_object_default)
            }
            (_, inner @ serde_json::Value::Object(_)) => without_object_default(inner),
            _ => {}
        }
    }
}

/// An event of a `text/event-stream` as it is on the wire: every field is text, so `id` is a
/// string of digits and `data` a string of JSON whose own schema is its `contentSchema` (as
/// OpenAPI 3.2 describes server-sent events, and as Schemathesis checks them).
fn event_fields_as_text(event: &mut serde_json::Value) {
    for variant in event["oneOf"].as_array_mut().into_iter().flatten() {
        let properties = &mut variant["properties"];
        if let Some(data) = properties.get_mut("data") {
            let description = data["description"].take();
            let mut schema = data.take();
            schema
                .as_object_mut()
                .map(|schema| schema.remove("description"));
            *data = serde_json::json!({"type": "string", "description": description,
                "contentMediaType": "application/json", "contentSchema": schema});
        }
        if let Some(id) = properties.get_mut("id") {
            let description = id["description"].take();
            *id = serde_json::json!({"type": "string", "pattern": "^[0-9]+$",
                "description": description});
        }
    }
}

/// OpenAPI links from a created video to what can be done with it, by its `id`: what lets a
/// client generator or a stateful test (Schemathesis) chain create, read, cancel, retry and
/// delete.
fn link_operations(document: &mut serde_json::Value) {
    let by_id = |operation: &str| serde_json::json!({"operationId": operation, "parameters": {"id": "$response.body#/id"}});
    let mut link = |path: &str, method: &str, status: &str, links: serde_json::Value| {
        let response = &mut document["paths"][path][method]["responses"][status];
        if response.is_object() {
            response["links"] = links;
        }
    };
    let created = serde_json::json!({
        "GetVideo": by_id("get_video"),
        "VideoEvents": by_id("video_events"),
        "CancelVideo": by_id("cancel_video"),
        "RetryVideo": by_id("retry_video"),
        "DeleteVideo": by_id("delete_video"),
    });
    link("/v1/videos", "post", "201", created.clone());
    link("/v1/videos", "post", "202", created);
    link(
        "/v1/videos/{id}",
        "get",
        "200",
        serde_json::json!({
            "CancelVideo": by_id("cancel_video"),
            "DeleteVideo": by_id("delete_video"),
            "PutCaptions": by_id("put_captions"),
            "DeleteCaptions": by_id("delete_captions"),
        }),
    );
    link(
        "/v1/direct-uploads",
        "post",
        "201",
        serde_json::json!({"CompleteDirectUpload": by_id("complete_direct_upload")}),
    );
    link(
        "/v1/webhook-deliveries/{id}/replay",
        "post",
        "202",
        serde_json::json!({"GetDelivery": by_id("get_delivery")}),
    );
}

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The body of every error answer: a `Problem` (see [`ProblemDocuments`]).
fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build()
}

/// What every error answer has in common, written once for the whole document: its body, a
/// `Problem` as `application/problem+json` (the handlers' annotations give an error's status
/// and description only), the `Problem.code` enum of every stable code, and the
/// `400 bad-path` of every operation with a path parameter (a malformed one, e.g. an id that
/// is not a UUID).
struct ProblemDocuments;

impl Modify for ProblemDocuments {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        if let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") {
            if let Some(RefOr::T(Schema::Object(code))) = problem.properties.get_mut("code") {
                let codes = super::problem_code::ProblemCode::all();
                code.enum_values = Some(codes.into_iter().map(Into::into).collect());
            }
        }
        const BAD_PATH: &str =
            "A malformed path parameter, e.g. an id that is not a UUID (`bad-path`)";
        for (path, item) in openapi.paths.paths.iter_mut() {
            // (operation, whether its answers have a body: a HEAD's have none)
            let operations = [
                (&mut item.get, true),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.delete, true),
                (&mut item.options, true),
                (&mut item.head, false),
                (&mut item.patch, true),
            ];
            for (operation, with_body) in operations {
                let Some(operation) = operation else { continue };
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let (true, true, RefOr::T(response)) = (with_body, is_error, response) {
                        if response.content.is_empty() {
                            response
                                .content
                                .insert(PROBLEM_JSON.into(), problem_content());
                        }
                    }
                }
                if !path.contains('{') {
                    continue;
                }
                match responses.get_mut("400") {
                    Some(RefOr::T(response)) if !response.description.contains("bad-path") => {
                        response.description = format!("{}; or: {BAD_PATH}", response.description);
                    }
                    Some(_) => {}
                    None => {
                        let response = ResponseBuilder::new()
                            .description(BAD_PATH)
                            .content(PROBLEM_JSON, problem_content())
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
pub async fn openapi_json(State(state): State<super::AppState>) -> Json<serde_json::Value> {
    let mut document = document();
    // This server's upload limit, which `size` may not exceed (413 `upload-too-large`).
    document["components"]["schemas"]["DirectUploadRequest"]["properties"]["size"]["maximum"] =
        state.upload_limit.into();
    for_each_parameter(&mut document, "Upload-Length", |schema| {
        schema["maximum"] = state.upload_limit.into();
    });
    Json(document)
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
        // No object default (client generators refuse them), but a property named `default`
        // stays.
        let poster = &schemas["StillsReport"]["properties"]["poster"];
        assert_eq!(
            poster["$ref"], "#/components/schemas/ImageReport",
            "{poster}"
        );
        assert!(poster.get("default").is_none(), "{poster}");
        let rendition = &schemas["RenditionReport"]["allOf"][0];
        assert_eq!(
            rendition["$ref"], "#/components/schemas/Rendition",
            "{rendition}"
        );
        assert_eq!(
            schemas["AudioInfo"]["properties"]["default"]["type"],
            "boolean"
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

    /// Asserts that the document's pattern of the parameter `name` matches exactly those of
    /// `texts` that `parses` takes.
    fn pattern_agrees(name: &str, texts: &[&str], parses: impl Fn(&str) -> bool) {
        let mut found = None;
        for_each_parameter(&mut document(), name, |schema| {
            found = schema["pattern"].as_str().map(str::to_string);
        });
        let pattern = found.unwrap_or_else(|| panic!("{name} has no pattern"));
        let pattern = regex::Regex::new(&pattern).unwrap();
        for text in texts {
            assert_eq!(pattern.is_match(text), parses(text), "{name}: {text:?}");
        }
    }

    #[test]
    fn the_patterns_of_the_document_are_what_the_parsers_take() {
        use super::super::{pagination, tus_uploads, video_captions};
        let metadata = [
            "filename aG9saWRheS5tcDQ=",
            "filename aG9saWRheS5tcDQ=,filetype dmlkZW8vbXA0",
            "filename aG9saWRheS5tcDQ=, is_confidential",
            "k",
            "k ",
            "k  QQ==",
            " k QUI= , l QUJD ",
            "k QQ== ,",
            ",k",
            "",
            "k QR==",
            "k QUJ=",
            "k QQ",
            "k\tQQ==",
            "a\tb QQ==",
            "k QQ== QQ==",
            "k Q",
            "k QQ==\t",
            "\u{7f} QQ==",
        ];
        pattern_agrees("Upload-Metadata", &metadata, |text| {
            tus_uploads::metadata_filename(Some(text)).is_ok()
        });
        let (sixteen, seventeen) = ("a".repeat(16), "a".repeat(17));
        let languages = [
            "en",
            "pt-BR",
            "zh-Hant-TW",
            "a",
            "",
            "pt_BR",
            "é",
            &sixteen,
            &seventeen,
        ];
        pattern_agrees("language", &languages, |text| {
            video_captions::track_dir(text).is_ok()
        });
        let (longest, too_long) = ("k".repeat(255), "k".repeat(256));
        let keys = [
            "0193ee29-8a1c",
            "~!",
            "",
            "with space",
            "é",
            &longest,
            &too_long,
        ];
        pattern_agrees("Idempotency-Key", &keys, |text| {
            let mut headers = axum::http::HeaderMap::new();
            if let Ok(value) = axum::http::HeaderValue::from_str(text) {
                headers.insert("idempotency-key", value);
            }
            matches!(
                crate::api::idempotency_keys::idempotency_key(&headers),
                Ok(Some(_))
            )
        });
        let cursors = [
            "1764331200000000_0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
            "0_0193EE29-8A1C-7B3E-A4F0-5C6D7E8F9A0B",
            "",
            "1_0193ee298a1c7b3ea4f05c6d7e8f9a0b",
            "+1_0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
            "99999999999999999_0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
            "1_{0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b}",
            "1_0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0g",
        ];
        pattern_agrees("cursor", &cursors, |text| {
            pagination::decode_cursor(text).is_ok()
        });
    }
}
