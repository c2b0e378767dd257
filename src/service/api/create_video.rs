//! `POST /v1/videos`: take an upload, streamed to disk, probe it, queue its conversion.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::AppState;
use super::client_id::ClientId;
use super::problem::ApiError;
use crate::service::db::idempotency::{self, IdempotencyKey};
use crate::service::db::videos::{self, Inserted, NewVideo};
use crate::service::jobs::upload_path;
use crate::service::video_resource::VideoResource;

/// Upload a video: multipart/form-data with a `file` field, or the raw bytes with a `video/*`
/// (or `application/octet-stream`) Content-Type. The video is probed before it is accepted;
/// the answer comes at once, and the conversion runs in the background.
#[utoipa::path(
    post,
    path = "/v1/videos",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Any unique string (a UUID): a retry with the same key within 24 hours gets the video the first request made (201, `Idempotent-Replayed: true`) instead of a second conversion; scoped to the client (its API key, else its address)"),
    ),
    request_body(content = Vec<u8>, description = "The video file (raw body or multipart field `file`)", content_type = "video/mp4"),
    responses(
        (status = 201, description = "Accepted and queued; poll the Location", body = VideoResource,
         headers(("Location" = String, description = "The video's status URL"))),
        (status = 400, description = "Empty body, no `file` field, or a malformed Idempotency-Key", body = super::problem::Problem),
        (status = 408, description = "The upload came too slowly (UPLOAD_MIN_RATE over UPLOAD_STALL_SECONDS); its partial file was removed", body = super::problem::Problem),
        (status = 413, description = "Larger than the upload limit", body = super::problem::Problem),
        (status = 415, description = "Neither a video content type nor multipart", body = super::problem::Problem),
        (status = 401, description = "API keys are configured and none was sent", body = super::problem::Problem),
        (status = 403, description = "The API key is not valid", body = super::problem::Problem),
        (status = 422, description = "Not a video (or a playlist, script or image naming other files), no video stream, unreadable, or beyond a limit (duration, resolution, frames, memory to read it)", body = super::problem::Problem),
        (status = 429, description = "Over the client's upload allowance (UPLOAD_RATE)", body = super::problem::Problem),
        (status = 503, description = "Database or (with --role api) bucket unavailable, or the server could not probe the upload now", body = super::problem::Problem),
        (status = 507, description = "No room on the server for the upload", body = super::problem::Problem),
    )
)]
#[tracing::instrument(skip_all, fields(video_id))]
pub async fn create_video(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    let client = ClientId::of(request.extensions());
    let idempotency_key = idempotency_key(request.headers())?;
    let idempotency = idempotency_key.as_deref().map(|key| IdempotencyKey {
        client: &client.0,
        key,
    });
    // A retry of an upload that was recorded: the same video, and its body is not read.
    if let Some(key) = idempotency {
        if let Some(existing) = idempotency::find(&state.pool, key).await? {
            return existing_video(&state, existing).await;
        }
    }
    let id = Uuid::now_v7();
    tracing::Span::current().record("video_id", tracing::field::display(id));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.upload_limit) {
        return Err(too_large(state.upload_limit));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    tokio::fs::create_dir_all(&state.upload_dir)
        .await
        .map_err(|e| storage_error("cannot create the upload directory", e))?;
    let path = upload_path(&state.upload_dir, id);

    let (filename, bytes) = if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text()))?;
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
            "unsupported-content-type",
            format!(
                "send the video as multipart/form-data (field `file`) or as a raw body with a video/* Content-Type, not `{content_type}`"
            ),
        ));
    };
    if bytes == 0 {
        remove(&path).await;
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty-upload",
            "the upload is empty",
        ));
    }

    let source = probe_isolated(&state.probes, &path).await?;
    if let Err(error) = state.limits.check(&source) {
        remove(&path).await;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            error.code(),
            error.to_string(),
        ));
    }

    // Workers on other machines cannot read this disk: hand them the upload through the
    // bucket, and keep nothing here.
    let staged = if state.stage_sources {
        let key = crate::service::storage::source_key(id);
        let stored = state.store.put_file(&key, &path).await;
        remove(&path).await;
        if let Err(error) = stored {
            tracing::error!(error = %format!("{error:#}"), "staging the upload failed");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage-unavailable",
                "the upload could not be stored in the bucket; try again shortly",
            ));
        }
        Some(key)
    } else {
        None
    };

    let new_video = NewVideo {
        id,
        source_key: staged.as_deref(),
        original_filename: filename.as_deref(),
        content_type: Some(content_type.as_str()).filter(|t| !t.is_empty()),
        source_bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        source: serde_json::to_value(&source).unwrap_or_default(),
        max_attempts: state.max_attempts,
    };
    let inserted = videos::insert(&state.pool, &new_video, idempotency).await;
    if !matches!(inserted, Ok(Inserted::New)) {
        remove(&path).await;
        if let Some(key) = &staged {
            let _ = state.store.delete(key).await;
        }
    }
    if let Inserted::Existing(existing) = inserted? {
        // A concurrent request with the same key recorded its upload first.
        return existing_video(&state, existing).await;
    }
    tracing::info!(bytes, "upload accepted");
    created(&state, id).await
}

/// `201 Created` with the video and its `Location`.
async fn created(
    state: &AppState,
    id: Uuid,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    let resource = VideoResource::from(row);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::LOCATION,
        resource
            .status_url
            .parse()
            .expect("a path is a header value"),
    );
    Ok((StatusCode::CREATED, headers, Json(resource)))
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-idempotency-key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID",
        ));
    }
    Ok(Some(key.to_string()))
}

/// The answer to an upload whose idempotency key made `id` already: that video, as the first
/// answer gave it, marked `Idempotent-Replayed: true`.
async fn existing_video(
    state: &AppState,
    id: Uuid,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    let (status, mut headers, body) = created(state, id).await?;
    headers.insert(
        "idempotent-replayed",
        header::HeaderValue::from_static("true"),
    );
    tracing::info!(video_id = %id, "upload replayed by its idempotency key");
    Ok((status, headers, body))
}

/// Probes in a child process; the upload is removed when refused.
async fn probe_isolated(
    probes: &super::isolated_probe::ProbeRunner,
    path: &Path,
) -> Result<crate::SourceInfo, ApiError> {
    use super::isolated_probe::ChildProbeError;
    let refused = match probes.probe(path).await {
        Ok(info) => return Ok(info),
        Err(ChildProbeError::Refused { code, message }) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code.as_str(), message)
        }
        Err(ChildProbeError::Unavailable(reason)) => {
            tracing::warn!(%reason, "the upload could not be probed now");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "probe-unavailable",
                "the server could not examine the upload right now (it is short of resources); send it again shortly",
            )
        }
        Err(ChildProbeError::Failed(error)) => {
            ApiError::internal("probing the upload failed", error)
        }
    };
    remove(path).await;
    Err(refused)
}

fn is_video_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("video/") || essence == "application/octet-stream"
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload-too-large",
        format!("uploads are limited to {limit} bytes"),
    )
}

async fn receive_file_field(
    multipart: &mut Multipart,
    path: &Path,
    limit: u64,
    pace: UploadPace,
) -> Result<(Option<String>, u64), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text())
    };
    loop {
        // The parts before the file are held to the same pace as the file.
        let next = tokio::time::timeout(pace.window, multipart.next_field())
            .await
            .map_err(|_| too_slow(0, pace))?;
        let Some(field) = next.map_err(bad)? else {
            break;
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().map(sanitize_filename);
        let bytes = write_stream(field, path, limit, pace).await?;
        return Ok((filename, bytes));
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "missing-file-field",
        "the multipart body has no `file` field",
    ))
}

/// How slowly an upload may come: at least `min_bytes_per_second` over every `window`.
#[derive(Debug, Clone, Copy)]
pub struct UploadPace {
    /// The span over which the rate is judged; also the longest an upload may stall.
    pub window: Duration,
    /// The least average rate over a window, in bytes per second.
    pub min_bytes_per_second: u64,
}

impl UploadPace {
    /// Bytes a window must bring.
    fn required(&self) -> u64 {
        (self.min_bytes_per_second as f64 * self.window.as_secs_f64()).ceil() as u64
    }
}

fn too_slow(received: u64, pace: UploadPace) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "upload-too-slow",
        format!(
            "the upload sent {received} bytes in the last {:.0} s, below the {} bytes a second the server waits for; it was stopped, send it again over a better connection",
            pace.window.as_secs_f64(),
            pace.min_bytes_per_second
        ),
    )
}

/// Streams `body` into `path`, never holding it whole; stops and removes the partial file
/// past `limit` bytes, when the client's stream fails, or when a window of `pace` brings too
/// little (408: a stalled or trickling client holds neither a connection nor a file for long).
async fn write_stream<S, E>(
    body: S,
    path: &Path,
    limit: u64,
    pace: UploadPace,
) -> Result<u64, ApiError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let result = async {
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| storage_error("cannot create the upload file", e))?;
        let mut written: u64 = 0;
        let mut body = std::pin::pin!(body);
        let mut window_start = Instant::now();
        let mut in_window: u64 = 0;
        loop {
            let window_end = window_start + pace.window;
            let chunk = match tokio::time::timeout_at(window_end.into(), body.next()).await {
                Ok(Some(chunk)) => Some(chunk.map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "upload-interrupted",
                        format!("the upload stream failed: {e}"),
                    )
                })?),
                Ok(None) => break,
                // The window ended while waiting: judged below.
                Err(_) => None,
            };
            if let Some(chunk) = chunk {
                written += chunk.len() as u64;
                in_window += chunk.len() as u64;
                if written > limit {
                    return Err(too_large(limit));
                }
                file.write_all(&chunk)
                    .await
                    .map_err(|e| storage_error("cannot write the upload", e))?;
            }
            if Instant::now() >= window_end {
                if in_window < pace.required() {
                    return Err(too_slow(in_window, pace));
                }
                window_start = Instant::now();
                in_window = 0;
            }
        }
        // Durable before the row that promises it exists.
        file.sync_all()
            .await
            .map_err(|e| storage_error("cannot write the upload", e))?;
        Ok(written)
    }
    .await;
    if result.is_err() {
        remove(path).await;
    }
    result
}

/// A failure to store the upload is the server's, and temporary: 507 when the disk (or the
/// quota) is full, else 503; the detail goes to the log, not to the client.
fn storage_error(context: &str, error: std::io::Error) -> ApiError {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    tracing::error!(%error, "{context}");
    if matches!(error.raw_os_error(), Some(ENOSPC | EDQUOT)) {
        return ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "disk-full",
            "the server has no room for the upload; try again later",
        );
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "upload-storage-unavailable",
        "the server cannot store uploads right now (its temporary directory is not writable); try again later",
    )
}

async fn remove(path: &Path) {
    let _ = tokio::fs::remove_file(path).await;
}

/// The client's file name as harmless metadata: the last path component, no control
/// characters, at most 255 characters.
pub fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    last.chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_filename("C:\\Users\\me\\clip\u{7}.mp4"),
            "clip.mp4"
        );
        assert_eq!(sanitize_filename(&"a".repeat(300)).len(), 255);
    }

    #[test]
    fn video_content_types_are_recognised() {
        assert!(is_video_type("video/mp4"));
        assert!(is_video_type("Video/QuickTime; codecs=x"));
        assert!(is_video_type("application/octet-stream"));
        assert!(!is_video_type("text/plain"));
        assert!(!is_video_type(""));
    }
}
