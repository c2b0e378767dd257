//! `POST /v1/videos` with a JSON body `{"url": ...}`: record an import, answer at once; the
//! import pool downloads it (see `imports`).

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use reqwest::Url;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::created_video::location_of;
use super::json_body;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::db::idempotency::IdempotencyKey;
use crate::db::videos::{self, Inserted, NewVideo};
use crate::intake::{MAX_FILENAME_CHARS, sanitize_filename};
use crate::video_resource::VideoResource;

/// Largest JSON body of an import request: room for the longest `url` and `filename` the
/// document allows, every character written as an escaped surrogate pair (12 bytes).
const MAX_BODY_BYTES: usize = 64 * 1024;
const _: () = assert!((MAX_URL_CHARS + MAX_FILENAME_CHARS) * 12 + 1024 <= MAX_BODY_BYTES);
/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 4096;

/// A video to import from a URL.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/holiday.mp4"}))]
pub struct ImportRequest {
    /// An http or https URL of the video file, at most 4096 characters; it must resolve to
    /// public internet addresses (unless the server sets `IMPORT_ALLOW_PRIVATE`).
    #[schema(max_length = 4096, format = "uri")]
    pub url: String,
    /// The file name to show, as metadata only; by default the URL's last path segment.
    #[schema(max_length = 255)]
    pub filename: Option<String>,
    /// Also publish an MP4 download (see `POST /v1/videos?mp4_download`); by default the
    /// server's setting, or the query parameter's.
    pub mp4_download: Option<bool>,
}

/// An import request, read and checked.
pub(super) struct Import {
    request: ImportRequest,
    url: Url,
}

impl Import {
    /// Reads the JSON body of an import: `400 bad-json`/`bad-url`, or `413 body-too-large`.
    pub(super) async fn read(body: Body) -> Result<Import, ApiError> {
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ApiCode::BodyTooLarge,
                    format!("an import request is a JSON object of at most {MAX_BODY_BYTES} bytes"),
                )
            })?;
        let request: ImportRequest = json_body::parse(&bytes, r#"{"url": "https://..."}"#)?;
        json_body::check_length("filename", request.filename.as_deref(), MAX_FILENAME_CHARS)?;
        let url = parse_url(&request.url)?;
        Ok(Import { request, url })
    }

    /// What this import asks for, as an idempotency key remembers it.
    pub(super) fn asked(&self) -> String {
        format!(
            "import\n{}\n{:?}\n{:?}",
            self.url, self.request.filename, self.request.mp4_download
        )
    }
}

/// Records `import` as an `importing` video and wakes the import pool.
pub(super) async fn import_video(
    state: &AppState,
    import: Import,
    idempotency: Option<IdempotencyKey<'_>>,
    mp4_download: Option<bool>,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    let Import { request, url } = import;
    state
        .imports
        .downloader
        .check_url(&url)
        .map_err(|refused| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ApiCode::UrlNotAllowed,
                refused.0,
            )
        })?;
    let id = Uuid::now_v7();
    tracing::Span::current().record("video_id", tracing::field::display(id));
    let filename = request.filename.as_deref().map(sanitize_filename);
    let new_video = NewVideo {
        id,
        original_filename: filename.as_deref(),
        content_type: None,
        source_bytes: 0,
        source: None,
        max_attempts: state.max_attempts,
        source_key: None,
        import_url: Some(url.as_str()),
        mp4_download: request.mp4_download.or(mp4_download),
    };
    let inserted = videos::insert(&state.pool, &new_video, idempotency).await?;
    let id = match &inserted {
        Inserted::New => id,
        Inserted::Existing(existing) => {
            super::idempotency_keys::check_same_request(existing, idempotency)?;
            existing.video_id
        }
    };
    // Read before the pool is woken, so that the answer says what was recorded.
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    if inserted == Inserted::New {
        state.imports.wake();
        tracing::info!(host = url.host_str().unwrap_or(""), "import recorded");
    }
    let resource = VideoResource::from(row);
    let mut headers = location_of(&resource);
    if id != new_video.id {
        headers.insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok((StatusCode::ACCEPTED, headers, Json(resource)))
}

/// The URL, or 400 when it is not one.
fn parse_url(text: &str) -> Result<Url, ApiError> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadUrl,
            format!("the URL is longer than {MAX_URL_CHARS} characters"),
        ));
    }
    Url::parse(text.trim()).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadUrl,
            format!("`url` is not an absolute URL ({error}), e.g. https://example.com/video.mp4"),
        )
    })
}
