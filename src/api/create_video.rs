//! `POST /v1/videos`: take an upload, streamed to disk, probe it, queue its conversion.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use sha2::Digest;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::client_id::ClientId;
use super::created_video::created;
use super::idempotency_keys::{check_same_request, existing_video, idempotency_key};
use super::import_video::Import;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use super::upload_intake::{
    is_video_type, receive_file_field, remove, storage_error, too_large, write_stream,
};
use crate::db::idempotency::{self, IdempotencyKey};
use crate::db::videos::{self, Inserted, NewVideo};
use crate::uploads::Upload;
use crate::video_resource::VideoResource;

/// What an upload may ask for besides the server's defaults, as query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadOptions {
    /// Also publish a progressive MP4 (faststart) of the rendition up to 1080p, listed in
    /// `downloads` once completed; by default the server's `MP4_DOWNLOAD`.
    pub mp4_download: Option<bool>,
}

/// A video file's bytes, as the raw body of an upload.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct VideoBytes(pub Vec<u8>);

/// A multipart upload: the video in the `file` field (the part's file name becomes the
/// video's `original_filename`).
#[derive(ToSchema)]
pub struct UploadForm {
    /// The video file.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Upload a video: multipart/form-data with a `file` field, or the raw bytes with a `video/*`
/// (or `application/octet-stream`) Content-Type. The video is probed before it is accepted;
/// the answer comes at once, and the conversion runs in the background. Or import one: a JSON
/// body `{"url": "https://..."}` answers `202` with the video `importing`; the server
/// downloads it, probes it and queues it, or fails it with `url-not-allowed`,
/// `import-too-large`, `import-timeout` or `import-failed` (or the probe's code).
#[utoipa::path(
    post,
    path = "/v1/videos",
    params(
        UploadOptions,
        ("Idempotency-Key" = Option<String>, Header, description = "Any unique string (a UUID): a retry with the same key within 24 hours gets the video the first request made (201, or 202 for an import, with `Idempotent-Replayed: true`) instead of a second conversion; the same key with another request (another URL, upload kind, length or query) is `422 idempotency-key-reused`; scoped to the client (its API key, else its address)"),
    ),
    request_body(description = "The video file (raw body with a `video/*` or `application/octet-stream` type, or multipart field `file`), or a URL to import it from", content(
        (VideoBytes = "video/mp4"),
        (VideoBytes = "application/octet-stream"),
        (UploadForm = "multipart/form-data"),
        (super::import_video::ImportRequest = "application/json"),
    )),
    responses(
        (status = 201, description = "Accepted and queued; poll the Location", body = VideoResource,
         headers(("Location" = String, description = "The video's status URL"))),
        (status = 202, description = "An import: recorded as `importing`; poll the Location", body = VideoResource,
         headers(("Location" = String, description = "The video's status URL"))),
        (status = 400, description = "Empty body, no `file` field, a malformed Idempotency-Key, a query parameter that is not `true` or `false`, or (import) a body that is not `{\"url\": ...}` or a URL that is not one"),
        (status = 408, description = "The upload came too slowly (UPLOAD_MIN_RATE over UPLOAD_STALL_SECONDS); its partial file was removed"),
        (status = 413, description = "Larger than the upload limit"),
        (status = 415, description = "Neither a video content type nor multipart"),
        (status = 401, description = "API keys are configured and none was sent"),
        (status = 403, description = "The API key is not valid"),
        (status = 422, description = "An Idempotency-Key sent before with another request (`idempotency-key-reused`); or (import) a URL that is not http or https, carries credentials or names a non-public address (`url-not-allowed`); or not a video (or a playlist, script or image naming other files), no video stream, unreadable, or beyond a limit (duration, resolution, frames, memory to read it)"),
        (status = 429, description = "Over the client's upload allowance (UPLOAD_RATE)"),
        (status = 503, description = "Database or (with --role api) bucket unavailable, or the server could not probe the upload now"),
        (status = 507, description = "No room on the server for the upload"),
    )
)]
#[tracing::instrument(skip_all, fields(video_id))]
pub async fn create_video(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    let client = ClientId::of(request.extensions());
    let Query(asked) = Query::<UploadOptions>::try_from_uri(request.uri()).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadQuery,
            error.body_text(),
        )
    })?;
    let idempotency_key = idempotency_key(request.headers())?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.upload_limit) {
        return Err(too_large(state.upload_limit));
    }
    let query = request.uri().query().unwrap_or("").to_string();
    // An import's body is small: read first, so that a key sent again with another URL is
    // told apart. An upload's is not read again on a retry; its kind, type and length are
    // what the key remembers.
    let incoming = if is_json(&content_type) {
        Incoming::Import(Import::read(request.into_body()).await?)
    } else {
        Incoming::Upload(request)
    };
    let asked_for = match &incoming {
        Incoming::Import(import) => import.asked(),
        Incoming::Upload(_) => {
            let media_type = content_type.split(';').next().unwrap_or("").trim();
            let length = declared.filter(|_| is_video_type(&content_type));
            format!("upload\n{}\n{length:?}", media_type.to_ascii_lowercase())
        }
    };
    let digest = hex::encode(sha2::Sha256::digest(format!("{query}\n{asked_for}")));
    let idempotency = idempotency_key.as_deref().map(|key| IdempotencyKey {
        client: &client.0,
        key,
        request: &digest,
    });
    // A retry of an upload that was recorded: the same video, and its body is not read; the
    // status the first answer had (an import's 202, an upload's 201).
    if let Some(key) = idempotency {
        if let Some(existing) = idempotency::find(&state.pool, key).await? {
            check_same_request(&existing, idempotency)?;
            let import = matches!(incoming, Incoming::Import(_));
            return existing_video(&state, existing.video_id, import).await;
        }
    }
    let id = Uuid::now_v7();
    tracing::Span::current().record("video_id", tracing::field::display(id));
    let request = match incoming {
        Incoming::Import(import) => {
            return super::import_video::import_video(
                &state,
                import,
                idempotency,
                asked.mp4_download,
            )
            .await;
        }
        Incoming::Upload(request) => request,
    };
    tokio::fs::create_dir_all(state.uploads.dir())
        .await
        .map_err(|e| storage_error("cannot create the upload directory", e))?;
    let path = state.uploads.path(id);

    let (filename, bytes) = if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ApiCode::BadMultipart,
                    e.body_text(),
                )
            })?;
        receive_file_field(&mut multipart, &path, state.upload_limit, state.upload_pace).await?
    } else if is_video_type(&content_type) {
        let bytes = write_stream(
            request.into_body().into_data_stream(),
            &path,
            state.upload_limit,
            state.upload_pace,
        )
        .await?;
        (None, bytes)
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiCode::UnsupportedContentType,
            format!(
                "send the video as multipart/form-data (field `file`) or as a raw body with a video/* Content-Type, not `{content_type}`"
            ),
        ));
    };
    if bytes == 0 {
        remove(&path).await;
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::EmptyUpload,
            "the upload is empty",
        ));
    }

    let source = state.intake.examine(&path).await?;

    // Workers on other machines cannot read this disk: hand them the upload through the
    // bucket, and keep nothing here.
    let upload = if state.stage_sources {
        state.uploads.stage(id).await?
    } else {
        Upload::of(id, None)
    };

    let new_video = NewVideo {
        id,
        source_key: upload.staged_key(),
        original_filename: filename.as_deref(),
        content_type: Some(content_type.as_str()).filter(|t| !t.is_empty()),
        source_bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        source: Some(serde_json::to_value(&source).unwrap_or_default()),
        max_attempts: state.max_attempts,
        import_url: None,
        mp4_download: asked.mp4_download,
    };
    let inserted = videos::insert(&state.pool, &new_video, idempotency).await;
    if !matches!(inserted, Ok(Inserted::New)) {
        state.uploads.discard(&upload).await;
    }
    if let Inserted::Existing(existing) = inserted? {
        // A concurrent request with the same key recorded its upload first.
        check_same_request(&existing, idempotency)?;
        return existing_video(&state, existing.video_id, false).await;
    }
    tracing::info!(bytes, "upload accepted");
    created(&state, id).await
}

/// Whether the body is JSON: an import from a URL.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
}

/// What a `POST /v1/videos` brings: an import (its JSON body read), or an upload (its body
/// still to read).
enum Incoming {
    Import(Import),
    Upload(Request),
}
