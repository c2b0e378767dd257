//! Errors as RFC 9457 `application/problem+json`, each with a stable `code`.
//!
//! The policy: a bad request or a bad video is a 4xx that says what to do; a database or
//! storage outage is a 503; anything else is a 500 whose detail is logged, not shown.
//! Database errors (by their [`ErrorKind`](crate::db::ErrorKind)) and storage errors
//! (by their [`StorageError`] variant) are mapped here, in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::storage::StorageError;
use hls_ladder::ErrorCode;

/// Every `code` an API error answers with besides a conversion's own ([`ErrorCode`]): with
/// those, the `Problem.code` enum of the OpenAPI document. A new code goes here first (tests
/// fail on a code that is not listed).
pub const API_CODES: &[&str] = &[
    "already-finished",
    "bad-captions",
    "bad-cursor",
    "bad-idempotency-key",
    "bad-json",
    "bad-last-event-id",
    "bad-language",
    "bad-multipart",
    "bad-path",
    "bad-playback-signature",
    "bad-query",
    "bad-status",
    "bad-tus-header",
    "bad-url",
    "body-too-large",
    "captions-not-found",
    "database-unavailable",
    "delivery-not-found",
    "disk-full",
    "empty-upload",
    "event-streams-full",
    "idempotency-key-reused",
    "internal",
    "internal-error",
    "invalid-api-key",
    "missing-api-key",
    "missing-file-field",
    "no-such-endpoint",
    "not-completed",
    "not-found",
    "not-retryable",
    "output-missing",
    "playback-link-expired",
    "playlist-not-found",
    "probe-unavailable",
    "source-gone",
    "storage-unavailable",
    "too-many-event-streams",
    "too-many-uploads",
    "tus-version-unsupported",
    "unsupported-content-type",
    "upload-busy",
    "upload-incomplete",
    "upload-interrupted",
    "upload-not-found",
    "upload-offset-mismatch",
    "upload-storage-unavailable",
    "upload-too-large",
    "upload-too-slow",
    "url-not-allowed",
    "video-not-found",
];

/// Every code a problem document may carry, in the order the OpenAPI document lists them.
pub fn problem_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = API_CODES.to_vec();
    codes.extend(ErrorCode::ALL.iter().map(|code| code.as_str()));
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://github.com/devfullcycle/golangtechweek/blob/main/README.md#not-a-video",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the input is not a video file libav can read: Invalid data found when processing input",
    "code": "not-a-video"
}))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case, and what to do.
    pub detail: String,
    /// Stable machine-readable code, e.g. `not-a-video`.
    pub code: String,
}

/// An error a handler returns.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl ApiError {
    /// An error with this status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        debug_assert!(
            problem_codes().contains(&code),
            "`{code}` is not in problem::API_CODES"
        );
        ApiError {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Its stable code, e.g. `not-a-video`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What happened and what to do.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// 404 for a video id.
    pub fn video_not_found(id: uuid::Uuid) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "video-not-found",
            format!("there is no video {id}"),
        )
    }

    /// 500; the cause is logged, not shown.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            format!("{context}; the error was logged"),
        )
    }
}

impl From<sqlx::Error> for ApiError {
    /// A transient failure is a 503 the client may retry; a missing row a 404; anything else
    /// a 500, logged.
    fn from(error: sqlx::Error) -> ApiError {
        use crate::db::ErrorKind;
        match ErrorKind::of(&error) {
            ErrorKind::Transient => {
                tracing::warn!(%error, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    "the database is unavailable; try again shortly",
                )
            }
            ErrorKind::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "the resource does not exist",
            ),
            ErrorKind::Other => ApiError::internal("the database refused a query", error),
        }
    }
}

impl From<StorageError> for ApiError {
    /// An unavailable store is a 503 the client may retry; a missing object a 404; a store
    /// that refuses the service (credentials, permissions, no bucket) or a local file that
    /// cannot be written is the operator's to fix: a 500, logged.
    fn from(error: StorageError) -> ApiError {
        match error {
            StorageError::Unavailable { .. } => {
                tracing::warn!(%error, "storage unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage-unavailable",
                    "the storage is unavailable; try again shortly",
                )
            }
            StorageError::NotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "the resource does not exist",
            ),
            StorageError::Denied { .. }
            | StorageError::Rejected { .. }
            | StorageError::LocalFile { .. } => {
                ApiError::internal("the storage refused a request", error)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!(
                "https://github.com/devfullcycle/golangtechweek/blob/main/README.md#{}",
                self.code
            ),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
        };
        let mut response = (self.status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The code literals of `text`: each string right after a `StatusCode::X,` (how every
    /// `ApiError::new` call in the service is written).
    fn literal_codes(text: &str) -> Vec<String> {
        let mut codes = Vec::new();
        for piece in text.split("StatusCode::").skip(1) {
            let Some((_, rest)) = piece.split_once(',') else {
                continue;
            };
            let rest = rest.trim_start();
            if let Some(quoted) = rest.strip_prefix('"') {
                let code = &quoted[..quoted.find('"').unwrap_or(0)];
                if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                    codes.push(code.to_string());
                }
            }
        }
        codes
    }

    fn sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_code_the_service_answers_with_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let known = problem_codes();
        let mut seen = 0;
        for file in files {
            for code in literal_codes(&std::fs::read_to_string(&file).unwrap()) {
                seen += 1;
                assert!(
                    known.contains(&code.as_str()),
                    "{}: `{code}` is not in API_CODES",
                    file.display()
                );
            }
        }
        assert!(seen > 50, "only {seen} codes found: the scan is broken");
    }
}
