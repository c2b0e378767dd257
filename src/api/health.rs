//! `GET /healthz` (the process is up) and `GET /readyz` (database and bucket answer).

use axum::extract::State;

use super::AppState;
use super::problem::ApiError;

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Up", body = String, example = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database and the bucket both answer.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Ready", body = String, example = "ready"),
        (status = 503, description = "Database or bucket unavailable"),
        (status = 500, description = "The bucket refuses the service (credentials, permissions, no such bucket): the operator's to fix; the cause is logged"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    crate::db::ping(&state.pool).await?;
    state.store.check().await?;
    Ok("ready")
}
