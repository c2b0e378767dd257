//! What every handler can reach: the service's parts, as the router hands them to handlers.

use std::path::PathBuf;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

use crate::storage::ObjectStore;
use crate::uploads::Uploads;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The bucket.
    pub store: Arc<dyn ObjectStore>,
    /// Where uploads wait for their conversion.
    pub uploads: Uploads,
    /// Largest upload in bytes.
    pub upload_limit: u64,
    /// Attempts a job gets.
    pub max_attempts: i32,
    /// Prometheus rendering.
    pub metrics: PrometheusHandle,
    /// API keys, if any.
    pub keys: super::auth::ApiKeys,
    /// Stage uploads in the bucket (`sources/{id}`) for workers on other machines, instead
    /// of leaving them in the upload directory.
    pub stage_sources: bool,
    /// The per-client upload allowance.
    pub upload_limiter: super::rate_limit::UploadLimiter,
    /// How a stored video is shown to clients (signed playback links when private).
    pub presenter: crate::video_resource::Presenter,
    /// Attempts a replayed webhook delivery gets.
    pub webhook_max_attempts: i32,
    /// Where the page's npm packages (hls.js) are.
    pub web_vendor_dir: PathBuf,
    /// Changes to videos from every process, for the event streams.
    pub change_feed: super::change_feed::ChangeFeed,
    /// Examines uploads (in child processes, so a crash, a hang or a memory blow-up in libav
    /// cannot take the API down) and holds them to the source limits.
    pub intake: crate::intake::Intake,
    /// How slowly an upload may come before it gets 408.
    pub upload_pace: super::upload_intake::UploadPace,
    /// Caps on open event streams.
    pub event_streams: super::stream_slots::StreamSlots,
    /// Imports from a URL: the URL check and the pool's wake-up.
    pub imports: crate::imports::Imports,
}

impl AppState {
    /// A video as clients see it (see [`crate::video_resource::Presenter`]); without
    /// `PUBLIC_API_URL`, links to this API use the request's Host.
    pub fn present(
        &self,
        row: crate::db::videos::VideoRow,
        headers: &axum::http::HeaderMap,
    ) -> crate::video_resource::VideoResource {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok());
        self.presenter.present(row, host)
    }
}
