//! Resumable uploads: the tus 1.0.0 protocol at `/v1/uploads` (core, creation,
//! creation-with-upload, termination, expiration), so that tus-js-client, Uppy and the other
//! tus clients work unchanged. <https://tus.io/protocols/resumable-upload>
//!
//! An upload's bytes go to the bucket as they come (`upload_parts`), so a request to any API
//! node continues it; its row (`db::resumable_uploads`) says how far it got and which request
//! may append now. When the last byte has come, the upload is joined into `sources/{id}`,
//! probed like `POST /v1/videos` (same limits, same refusals, nothing left behind), and becomes
//! the video with the upload's id.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::AppState;
use super::bucket_arrival::{self, Arrival};
use super::problem::ApiError;
use super::problem_code::ApiCode;
use super::upload_intake::{UploadPace, too_large};
use crate::db::resumable_uploads::{self, ResumableUpload};
use crate::db::videos;
use crate::intake::sanitize_filename;
use crate::storage::source_key;
use crate::upload_parts::{self, AppendError, StoredUpload};

/// The tus protocol version this server speaks.
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions offered.
const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration";
/// How long an unfinished upload may wait for its next bytes.
pub const EXPIRES_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The media type of every body that carries upload bytes.
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

fn tus_header(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

fn number(value: u64) -> HeaderValue {
    HeaderValue::from(value)
}

/// Headers every answer carries.
fn tus_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        tus_header("tus-resumable"),
        HeaderValue::from_static(TUS_VERSION),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers
}

/// An error as problem+json, with the tus headers.
fn refused(error: ApiError) -> Box<Response> {
    let mut response = error.into_response();
    response.headers_mut().extend(tus_headers());
    Box::new(response)
}

/// `412` unless the request speaks tus 1.0.0.
fn check_version(headers: &HeaderMap) -> Result<(), Box<Response>> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        other => {
            let error = ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                ApiCode::TusVersionUnsupported,
                format!(
                    "this server speaks tus {TUS_VERSION}; the request said {other:?} in Tus-Resumable"
                ),
            );
            let mut response = refused(error);
            response.headers_mut().insert(
                tus_header("tus-version"),
                HeaderValue::from_static(TUS_VERSION),
            );
            Err(response)
        }
    }
}

fn header_number(headers: &HeaderMap, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ApiCode::BadTusHeader,
                format!("{name} must be a non-negative integer"),
            )
        })
}

fn expires(at: chrono::DateTime<Utc>) -> HeaderValue {
    let text = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    HeaderValue::from_str(&text).expect("a date is a header value")
}

/// One `key` or `key base64value` pair of [`METADATA_PATTERN`].
macro_rules! metadata_pair {
    () => {
        r"[\x21-\x2B\x2D-\x7E]+(?: +(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?)?"
    };
}

/// What `metadata_filename` takes, as the document's pattern of `Upload-Metadata`:
/// comma-separated `key` or `key base64value` pairs (standard base64, canonical padding).
pub const METADATA_PATTERN: &str = concat!(
    r"^[ \t]*",
    metadata_pair!(),
    r"[ \t]*(?:,[ \t]*",
    metadata_pair!(),
    r"[ \t]*)*$"
);

/// `filename` from `Upload-Metadata` (`key base64,key base64`), sanitised; `400
/// bad-tus-header` when the header is not what the protocol says.
pub(super) fn metadata_filename(metadata: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(metadata) = metadata else {
        return Ok(None);
    };
    let bad = |detail: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadTusHeader,
            format!("Upload-Metadata: {detail}"),
        )
    };
    let mut filename = None;
    for pair in metadata.split(',') {
        let pair = pair.trim_matches([' ', '\t']);
        let (key, value) = match pair.split_once(' ') {
            Some((key, value)) => (key, value.trim_start_matches(' ')),
            None => (pair, ""),
        };
        if key.is_empty() {
            return Err(bad("a key is empty"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(bad("a key has a character other than visible ASCII"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| bad("a value is not base64"))?;
        if key == "filename" {
            filename = Some(sanitize_filename(&String::from_utf8_lossy(&decoded)));
        }
    }
    Ok(filename.filter(|f| !f.is_empty()))
}

/// `OPTIONS /v1/uploads`: what this server offers.
#[utoipa::path(
    options,
    path = "/v1/uploads",
    operation_id = "tus_options",
    tag = "resumable uploads (tus 1.0.0)",
    responses(
        (status = 204, description = "The tus versions, extensions and largest upload this server takes",
         headers(("Tus-Version" = String, description = "`1.0.0`"),
                 ("Tus-Extension" = String, description = "`creation,creation-with-upload,termination,expiration`"),
                 ("Tus-Max-Size" = u64, description = "The upload limit in bytes"))),
    )
)]
pub async fn options(State(state): State<AppState>) -> Response {
    let mut headers = tus_headers();
    headers.insert(
        tus_header("tus-version"),
        HeaderValue::from_static(TUS_VERSION),
    );
    headers.insert(
        tus_header("tus-extension"),
        HeaderValue::from_static(TUS_EXTENSIONS),
    );
    headers.insert(tus_header("tus-max-size"), number(state.upload_limit));
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// `POST /v1/uploads`: a new upload of `Upload-Length` bytes, with the first of them in the
/// body if it carries any (creation-with-upload).
#[utoipa::path(
    post,
    path = "/v1/uploads",
    operation_id = "create_upload",
    tag = "resumable uploads (tus 1.0.0)",
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Length" = u64, Header, description = "The size of the whole upload in bytes (at most the upload limit)"),
        ("Upload-Metadata" = Option<String>, Header, description = "`key base64value` pairs, comma-separated; `filename` becomes the video's `original_filename`"),
    ),
    request_body(content = super::create_video::VideoBytes, description = "Optionally, the first bytes of the upload (creation-with-upload)", content_type = "application/offset+octet-stream"),
    responses(
        (status = 201, description = "Created; continue with PATCH at the Location",
         headers(("Location" = String, description = "`/v1/uploads/{id}`: the id becomes the video's when the last byte has come"),
                 ("Upload-Expires" = String, description = "When the unfinished upload is removed (24 h after its creation)"),
                 ("Upload-Offset" = u64, description = "Bytes stored, when the request carried some"))),
        (status = 400, description = "Upload-Length missing, malformed or 0, Upload-Defer-Length, or malformed Upload-Metadata"),
        (status = 401, description = "API keys are configured and none was sent"),
        (status = 403, description = "The API key is not valid"),
        (status = 412, description = "Tus-Resumable is not 1.0.0"),
        (status = 413, description = "Upload-Length is larger than the upload limit"),
        (status = 422, description = "(creation-with-upload) The bytes sent complete the upload and are not a video, or one beyond a limit (as `POST /v1/videos`); the upload is removed"),
        (status = 429, description = "Over the client's upload allowance (UPLOAD_RATE)"),
        (status = 503, description = "Database or bucket unavailable"),
    )
)]
pub async fn create(State(state): State<AppState>, request: Request) -> Response {
    match create_upload(&state, request).await {
        Ok(response) => response,
        Err(error) => *error,
    }
}

async fn create_upload(state: &AppState, request: Request) -> Result<Response, Box<Response>> {
    let headers = request.headers().clone();
    check_version(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(refused(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadTusHeader,
            "Upload-Defer-Length is not supported: send Upload-Length",
        )));
    }
    let length = header_number(&headers, "upload-length")
        .map_err(refused)?
        .ok_or_else(|| {
            refused(ApiError::new(
                StatusCode::BAD_REQUEST,
                ApiCode::BadTusHeader,
                "Upload-Length is required",
            ))
        })?;
    if length > state.upload_limit {
        return Err(refused(too_large(state.upload_limit)));
    }
    if length == 0 {
        return Err(refused(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::EmptyUpload,
            "the upload is empty",
        )));
    }
    let metadata = headers
        .get("upload-metadata")
        .map(|v| v.to_str().map(str::to_string))
        .transpose()
        .map_err(|_| {
            refused(ApiError::new(
                StatusCode::BAD_REQUEST,
                ApiCode::BadTusHeader,
                "Upload-Metadata must be ASCII",
            ))
        })?;
    let filename = metadata_filename(metadata.as_deref()).map_err(refused)?;

    let id = Uuid::now_v7();
    let key = source_key(id);
    let multipart = state
        .store
        .start_multipart(&key)
        .await
        .map_err(|e| refused(e.into()))?;
    let upload = ResumableUpload {
        id,
        length,
        metadata,
        filename,
        stored: StoredUpload::new(key, multipart, length),
        expires_at: Utc::now() + EXPIRES_AFTER,
    };
    if let Err(error) = resumable_uploads::insert(&state.pool, &upload).await {
        let _ = upload_parts::discard(state.store.as_ref(), &upload.stored).await;
        return Err(refused(error.into()));
    }
    tracing::info!(upload_id = %id, length, "resumable upload created");

    let mut answer = tus_headers();
    answer.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/v1/uploads/{id}")).expect("a path is a header value"),
    );
    answer.insert(tus_header("upload-expires"), expires(upload.expires_at));
    let carries_bytes = content_type(&headers) == Some(OFFSET_OCTET_STREAM);
    if carries_bytes {
        let appended = append(state, id, 0, request.into_body()).await?;
        answer.extend(appended.headers().clone());
        if appended.status() != StatusCode::NO_CONTENT {
            return Err(Box::new(appended));
        }
    }
    Ok((StatusCode::CREATED, answer).into_response())
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
}

fn parse_id(id: &str) -> Result<Uuid, Box<Response>> {
    Uuid::parse_str(id).map_err(|_| {
        refused(ApiError::new(
            StatusCode::NOT_FOUND,
            ApiCode::UploadNotFound,
            format!("there is no upload {id}"),
        ))
    })
}

fn not_found(id: Uuid) -> Box<Response> {
    refused(ApiError::new(
        StatusCode::NOT_FOUND,
        ApiCode::UploadNotFound,
        format!(
            "there is no upload {id} (it may have expired, or been terminated); start a new one"
        ),
    ))
}

/// `HEAD /v1/uploads/{id}`: how far the upload got.
#[utoipa::path(
    head,
    path = "/v1/uploads/{id}",
    operation_id = "upload_offset",
    tag = "resumable uploads (tus 1.0.0)",
    params(("id" = String, Path, description = "The upload's id"), ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 200, description = "The offset to continue at (the length once complete)",
         headers(("Upload-Offset" = u64, description = "Bytes stored"), ("Upload-Length" = u64, description = "The whole upload's size"),
                 ("Upload-Metadata" = String, description = "As sent at creation"), ("Upload-Expires" = String, description = "When the unfinished upload is removed"))),
        (status = 404, description = "No such upload (never made, terminated or expired): start a new one"),
        (status = 412, description = "Tus-Resumable is not 1.0.0"),
    )
)]
pub async fn head(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        check_version(&headers)?;
        let id = parse_id(&id)?;
        let upload = resumable_uploads::get(&state.pool, id)
            .await
            .map_err(|e| refused(e.into()))?;
        let mut answer = tus_headers();
        match upload {
            Some(upload) => {
                answer.insert(tus_header("upload-offset"), number(upload.stored.offset()));
                answer.insert(tus_header("upload-length"), number(upload.length));
                answer.insert(tus_header("upload-expires"), expires(upload.expires_at));
                if let Some(metadata) = upload
                    .metadata
                    .as_deref()
                    .and_then(|m| HeaderValue::from_str(m).ok())
                {
                    answer.insert(tus_header("upload-metadata"), metadata);
                }
            }
            // Complete: it is the video now, whole.
            None => match videos::get(&state.pool, id)
                .await
                .map_err(|e| refused(e.into()))?
            {
                Some(video) => {
                    let bytes = u64::try_from(video.source_bytes).unwrap_or(0);
                    answer.insert(tus_header("upload-offset"), number(bytes));
                    answer.insert(tus_header("upload-length"), number(bytes));
                }
                None => return Err(not_found(id)),
            },
        }
        Ok((StatusCode::OK, answer).into_response())
    }
    .await;
    result.unwrap_or_else(|error| {
        // A HEAD answer has no body.
        let (parts, _) = (*error).into_parts();
        Response::from_parts(parts, Body::empty())
    })
}

/// `PATCH /v1/uploads/{id}`: bytes at `Upload-Offset`.
#[utoipa::path(
    patch,
    path = "/v1/uploads/{id}",
    operation_id = "append_to_upload",
    tag = "resumable uploads (tus 1.0.0)",
    params(("id" = String, Path, description = "The upload's id"), ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
           ("Upload-Offset" = u64, Header, description = "Where these bytes go: the offset HEAD gives")),
    request_body(content = super::create_video::VideoBytes, description = "The next bytes of the upload", content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Stored; with the last byte, the upload is now the video `/v1/videos/{id}`",
         headers(("Upload-Offset" = u64, description = "The new offset"), ("Upload-Expires" = String, description = "When the unfinished upload is removed"))),
        (status = 400, description = "Upload-Offset missing or malformed"),
        (status = 404, description = "No such upload (never made, terminated or expired)"),
        (status = 408, description = "The body stopped (no bytes for UPLOAD_STALL_SECONDS, or broke off); what came is kept, Upload-Offset says how much"),
        (status = 409, description = "Upload-Offset is not the upload's offset"),
        (status = 412, description = "Tus-Resumable is not 1.0.0"),
        (status = 413, description = "The body goes past Upload-Length"),
        (status = 415, description = "Not application/offset+octet-stream"),
        (status = 422, description = "Whole, the upload is not a video the service takes (the same refusals as POST /v1/videos); nothing of it is kept"),
        (status = 423, description = "Another request is appending to this upload"),
        (status = 503, description = "Database or bucket unavailable, or the upload could not be probed now"),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let result = async {
        let headers = request.headers().clone();
        check_version(&headers)?;
        let id = parse_id(&id)?;
        if content_type(&headers) != Some(OFFSET_OCTET_STREAM) {
            return Err(refused(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ApiCode::UnsupportedContentType,
                format!("upload bytes come as {OFFSET_OCTET_STREAM}"),
            )));
        }
        let offset = header_number(&headers, "upload-offset")
            .map_err(refused)?
            .ok_or_else(|| {
                refused(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ApiCode::BadTusHeader,
                    "Upload-Offset is required",
                ))
            })?;
        append(&state, id, offset, request.into_body()).await
    }
    .await;
    result.unwrap_or_else(|error| *error)
}

/// Appends `body` at `offset` to upload `id`; `204` with the new offset, or why not. When the
/// upload is whole, it becomes the video.
async fn append(
    state: &AppState,
    id: Uuid,
    offset: u64,
    body: Body,
) -> Result<Response, Box<Response>> {
    let writer = Uuid::now_v7();
    let Some(upload) = take(state, id, writer).await? else {
        return completed_already(state, id, offset).await;
    };
    let outcome = append_taken(state, &upload, writer, offset, body).await;
    let _ = resumable_uploads::release(&state.pool, id, writer).await;
    outcome
}

/// How long a request waits for another that holds the upload to let go before it answers
/// `423`: a client that reconnects after a dropped connection usually finds its previous
/// request still finishing (storing what arrived), and a body it sent only to hear `423` is
/// a body sent twice.
const HOLD_WAIT: Duration = Duration::from_secs(5);

/// Takes upload `id` for the request `writer`: `None` when there is no such upload (any more),
/// `423` when another request still holds it after [`HOLD_WAIT`].
async fn take(
    state: &AppState,
    id: Uuid,
    writer: Uuid,
) -> Result<Option<ResumableUpload>, Box<Response>> {
    let deadline = tokio::time::Instant::now() + HOLD_WAIT;
    loop {
        if let Some(upload) = resumable_uploads::take(&state.pool, id, writer)
            .await
            .map_err(|e| refused(e.into()))?
        {
            return Ok(Some(upload));
        }
        match resumable_uploads::get(&state.pool, id).await {
            Ok(Some(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Some(_)) => {
                return Err(refused(ApiError::new(
                    StatusCode::LOCKED,
                    ApiCode::UploadBusy,
                    "another request is appending to this upload; try again in a moment",
                )));
            }
            Ok(None) => return Ok(None),
            Err(error) => return Err(refused(error.into())),
        }
    }
}

/// A PATCH to an upload that is complete (the video now): at its end, nothing to do (a client
/// sending its last, empty request again); anywhere else, a conflict; no video, not found.
async fn completed_already(
    state: &AppState,
    id: Uuid,
    offset: u64,
) -> Result<Response, Box<Response>> {
    let Some(video) = videos::get(&state.pool, id)
        .await
        .map_err(|e| refused(e.into()))?
    else {
        return Err(not_found(id));
    };
    let length = u64::try_from(video.source_bytes).unwrap_or(0);
    if offset != length {
        return Err(refused(ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::UploadOffsetMismatch,
            format!("the upload is complete at offset {length}, not {offset}"),
        )));
    }
    let mut answer = tus_headers();
    answer.insert(tus_header("upload-offset"), number(length));
    Ok((StatusCode::NO_CONTENT, answer).into_response())
}

async fn append_taken(
    state: &AppState,
    upload: &ResumableUpload,
    writer: Uuid,
    offset: u64,
    body: Body,
) -> Result<Response, Box<Response>> {
    let id = upload.id;
    if offset != upload.stored.offset() {
        return Err(refused(ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::UploadOffsetMismatch,
            format!(
                "the upload is at offset {}, not {offset}: ask HEAD where to continue",
                upload.stored.offset()
            ),
        )));
    }
    let pool = state.pool.clone();
    // Every part is recorded as it is stored, and the hold renewed every few seconds while
    // the body comes (so that no other request takes over a slow one), by a task of its own,
    // so the body keeps flowing meanwhile.
    let (parts, mut recorded) = tokio::sync::mpsc::unbounded_channel::<StoredUpload>();
    let recorder = tokio::spawn({
        let pool = pool.clone();
        async move {
            let mut heartbeat =
                tokio::time::interval(resumable_uploads::WRITER_LEASE.renew_every());
            loop {
                tokio::select! {
                    part = recorded.recv() => match part {
                        Some(stored) => {
                            let _ = resumable_uploads::save(&pool, id, writer, &stored).await;
                        }
                        None => return,
                    },
                    _ = heartbeat.tick() => {
                        let _ = resumable_uploads::touch(&pool, id, writer).await;
                    }
                }
            }
        }
    });
    let (stored, stopped) = upload_parts::append(
        state.store.as_ref(),
        &upload.stored,
        paced(body.into_data_stream(), state.upload_pace),
        &mut |stored| {
            let _ = parts.send(stored.clone());
        },
    )
    .await;
    drop(parts);
    let _ = recorder.await;
    // A whole upload stays held while it becomes the video; else it is free for the next
    // request as soon as its new offset shows.
    let saved = if stored.is_whole() {
        resumable_uploads::save(&pool, id, writer, &stored).await
    } else {
        resumable_uploads::save_and_release(&pool, id, writer, &stored).await
    };
    let saved = saved.map_err(|e| refused(e.into()))?;
    if !saved {
        return Err(refused(ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::UploadOffsetMismatch,
            "another request took this upload over; ask HEAD where to continue",
        )));
    }
    let mut answer = tus_headers();
    answer.insert(tus_header("upload-offset"), number(stored.offset()));
    answer.insert(tus_header("upload-expires"), expires(upload.expires_at));
    match stopped {
        Ok(()) => {}
        Err(AppendError::TooLong) => {
            return Err(with_headers(
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ApiCode::UploadTooLarge,
                    format!(
                        "the body goes past the upload's length ({} bytes)",
                        upload.length
                    ),
                ),
                answer,
            ));
        }
        Err(AppendError::Body(reason)) => {
            tracing::info!(upload_id = %id, offset = stored.offset(), %reason, "resumable upload interrupted");
            return Err(with_headers(
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    ApiCode::UploadInterrupted,
                    format!(
                        "the body stopped ({reason}); continue at offset {}",
                        stored.offset()
                    ),
                ),
                answer,
            ));
        }
        Err(AppendError::Storage(error)) => return Err(with_headers(error.into(), answer)),
    }
    if stored.is_whole() {
        become_video(state, upload, &stored).await?;
    }
    Ok((StatusCode::NO_CONTENT, answer).into_response())
}

fn with_headers(error: ApiError, headers: HeaderMap) -> Box<Response> {
    let mut response = refused(error);
    response.headers_mut().extend(headers);
    response
}

/// The body, ended with an error when no bytes come for a window of the upload pace: a stalled
/// client holds neither a connection nor the upload for long (what arrived is kept).
fn paced(
    body: impl Stream<Item = Result<Bytes, axum::Error>> + Send + 'static,
    pace: UploadPace,
) -> impl Stream<Item = Result<Bytes, String>> + Send {
    futures_util::stream::unfold(
        (Box::pin(body), false),
        move |(mut body, ended)| async move {
            if ended {
                return None;
            }
            match tokio::time::timeout(pace.window, body.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), (body, false))),
                Ok(Some(Err(error))) => Some((Err(error.to_string()), (body, true))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(format!("no bytes for {:.0} s", pace.window.as_secs_f64())),
                    (body, true),
                )),
            }
        },
    )
}

/// The whole upload becomes the video with its id: joined in the bucket, probed here like any
/// upload, and queued; refused, nothing of it is left.
async fn become_video(
    state: &AppState,
    upload: &ResumableUpload,
    stored: &StoredUpload,
) -> Result<(), Box<Response>> {
    let id = upload.id;
    let store = state.store.as_ref();
    upload_parts::complete(store, stored)
        .await
        .map_err(|e| refused(e.into()))?;
    let arrival = Arrival {
        id,
        key: &stored.key,
        filename: upload.filename.as_deref(),
        bytes: upload.length,
    };
    if let Err(error) = bucket_arrival::accept(state, arrival).await {
        // Refused (the file's fault): nothing of it is left. The server's fault (short of
        // resources, disk, database or bucket): the joined upload stays, and the client's
        // repeated last request tries again.
        if error.status().is_client_error() {
            let _ = resumable_uploads::delete(&state.pool, id).await;
            let _ = store.delete(&stored.key).await;
        }
        return Err(refused(error));
    }
    let _ = resumable_uploads::delete(&state.pool, id).await;
    tracing::info!(video_id = %id, bytes = upload.length, "resumable upload complete");
    Ok(())
}

/// `DELETE /v1/uploads/{id}`: terminates an unfinished upload; its bytes are removed.
#[utoipa::path(
    delete,
    path = "/v1/uploads/{id}",
    operation_id = "terminate_upload",
    tag = "resumable uploads (tus 1.0.0)",
    params(("id" = String, Path, description = "The upload's id"), ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 204, description = "Terminated: its bytes are removed"),
        (status = 404, description = "No such upload"),
        (status = 412, description = "Tus-Resumable is not 1.0.0"),
        (status = 423, description = "A request is appending to this upload"),
    )
)]
pub async fn terminate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        check_version(&headers)?;
        let id = parse_id(&id)?;
        let Some(upload) = take(&state, id, Uuid::now_v7()).await? else {
            return Err(not_found(id));
        };
        upload_parts::discard(state.store.as_ref(), &upload.stored)
            .await
            .map_err(|e| refused(e.into()))?;
        resumable_uploads::delete(&state.pool, id)
            .await
            .map_err(|e| refused(e.into()))?;
        tracing::info!(upload_id = %id, "resumable upload terminated");
        Ok((StatusCode::NO_CONTENT, tus_headers()).into_response())
    }
    .await;
    result.unwrap_or_else(|error| *error)
}
