//! Receiving an upload: the body (raw, or a multipart form's `file` field) streamed to a file
//! under a size limit and a minimum pace, and the answers when it cannot be: 413, 408, 400,
//! 507 or 503. What happens to the file next is `create_video`'s.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::extract::Multipart;
use axum::http::StatusCode;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::intake::sanitize_filename;

pub(super) fn is_video_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("video/") || essence == "application/octet-stream"
}

pub(super) fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ApiCode::UploadTooLarge,
        format!("uploads are limited to {limit} bytes"),
    )
}

pub(super) async fn receive_file_field(
    multipart: &mut Multipart,
    path: &Path,
    limit: u64,
    pace: UploadPace,
) -> Result<(Option<String>, u64), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadMultipart,
            e.body_text(),
        )
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
        ApiCode::MissingFileField,
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

pub(super) fn too_slow(received: u64, pace: UploadPace) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        ApiCode::UploadTooSlow,
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
pub(super) async fn write_stream<S, E>(
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
                        ApiCode::UploadInterrupted,
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
pub(super) fn storage_error(context: &str, error: std::io::Error) -> ApiError {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    tracing::error!(%error, "{context}");
    if matches!(error.raw_os_error(), Some(ENOSPC | EDQUOT)) {
        return ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            ApiCode::DiskFull,
            "the server has no room for the upload; try again later",
        );
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ApiCode::UploadStorageUnavailable,
        "the server cannot store uploads right now (its temporary directory is not writable); try again later",
    )
}

pub(super) async fn remove(path: &Path) {
    let _ = tokio::fs::remove_file(path).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_content_types_are_recognised() {
        assert!(is_video_type("video/mp4"));
        assert!(is_video_type("Video/QuickTime; codecs=x"));
        assert!(is_video_type("application/octet-stream"));
        assert!(!is_video_type("text/plain"));
        assert!(!is_video_type(""));
    }
}
