//! Errors as RFC 9457 `application/problem+json`, each with a stable `code`.
//!
//! The policy: a bad request or a bad video is a 4xx that says what to do; a database or
//! storage outage is a 503; anything else is a 500 whose detail is logged, not shown.
//! Database errors (by their [`ErrorKind`](crate::db::ErrorKind)), storage errors (by their
//! [`StorageError`] variant) and an upload's refusal ([`IntakeError`]) are mapped here, in one
//! place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::problem_code::{ApiCode, ProblemCode};
use crate::intake::IntakeError;
use crate::storage::StorageError;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://github.com/devfullcycle/golangtechweek/blob/main/docs/errors.md#not-a-video",
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
    code: ProblemCode,
    detail: String,
}

impl ApiError {
    /// An error with this status, code and detail.
    pub fn new(
        status: StatusCode,
        code: impl Into<ProblemCode>,
        detail: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            detail: detail.into(),
        }
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Its stable code, e.g. `not-a-video`.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    /// What happened and what to do.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// 404 for a video id.
    pub fn video_not_found(id: uuid::Uuid) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ApiCode::VideoNotFound,
            format!("there is no video {id}"),
        )
    }

    /// 500; the cause is logged, not shown.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiCode::InternalError,
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
                    ApiCode::DatabaseUnavailable,
                    "the database is unavailable; try again shortly",
                )
            }
            ErrorKind::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                ApiCode::NotFound,
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
                    ApiCode::StorageUnavailable,
                    "the storage is unavailable; try again shortly",
                )
            }
            StorageError::NotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                ApiCode::NotFound,
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

impl From<IntakeError> for ApiError {
    /// A refused upload is a 422 with the engine's code; one that could not be examined now a
    /// 503 the client may retry; anything else a 500, logged.
    fn from(error: IntakeError) -> ApiError {
        match error {
            IntakeError::Refused { code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            IntakeError::Unavailable(reason) => {
                tracing::warn!(%reason, "the upload could not be probed now");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ApiCode::ProbeUnavailable,
                    "the server could not examine the upload right now (it is short of resources); send it again shortly",
                )
            }
            IntakeError::Failed(error) => ApiError::internal("probing the upload failed", error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!(
                "https://github.com/devfullcycle/golangtechweek/blob/main/docs/errors.md#{}",
                self.code.as_str()
            ),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.as_str().to_string(),
        };
        let mut response = (self.status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
