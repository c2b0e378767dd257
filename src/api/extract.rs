//! Extractors whose rejections are problem+json like every other error of the API, and the
//! check of a `?status=` filter.

use axum::extract::FromRequestParts;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;

use super::problem::ApiError;
use super::problem_code::ApiCode;

/// `axum::extract::Path`, answering a malformed path (e.g. an id that is not a UUID) with a
/// 400 problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query`, answering malformed query parameters with a 400 problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadPath,
            rejection.body_text(),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadQuery,
            rejection.body_text(),
        )
    }
}

/// Any path the API does not have.
pub async fn no_such_endpoint() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ApiCode::NoSuchEndpoint,
        "there is no such endpoint; see /openapi.json",
    )
}

/// 400 `bad-status` unless `status` is absent or one of `known`.
pub fn check_status_filter(status: Option<&str>, known: &[&str]) -> Result<(), ApiError> {
    match status {
        Some(status) if !known.contains(&status) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::BadStatus,
            format!("unknown status `{status}`; use one of {}", known.join(", ")),
        )),
        _ => Ok(()),
    }
}
