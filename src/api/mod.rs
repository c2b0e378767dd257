//! The HTTP API (axum): one handler per file, errors as problem+json.
//!
//! Handlers validate and translate; the work is done by `db`, `storage` and the workers.

mod app_state;
pub mod auth;
mod bucket_arrival;
pub mod cancel_video;
pub mod change_feed;
pub mod client_id;
pub mod create_video;
mod created_video;
pub mod delete_video;
pub mod direct_uploads;
pub mod extract;
pub mod get_video;
pub mod health;
mod idempotency_keys;
pub mod import_video;
mod json_body;
pub mod list_videos;
pub mod metrics;
pub mod openapi;
mod pagination;
pub mod play_video;
pub mod problem;
pub mod problem_code;
pub mod rate_limit;
pub mod retry_video;
pub mod stream_slots;
pub mod tus_uploads;
pub mod upload_intake;
pub mod video_captions;
pub mod video_events;
pub mod web_page;
pub mod webhook_deliveries;

pub use app_state::AppState;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

type Request = axum::http::Request<axum::body::Body>;
type HttpClassifier =
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>;
type MakeRequestSpan = fn(&Request) -> tracing::Span;

/// One span per request, with the method and the path but never the query: signed playback
/// links carry their signature there, and logs must not hold one at any level.
fn request_spans() -> TraceLayer<HttpClassifier, MakeRequestSpan> {
    fn span(request: &Request) -> tracing::Span {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
        )
    }
    TraceLayer::new_for_http().make_span_with(span as fn(&_) -> _)
}

/// Health, readiness and metrics: what every process answers.
fn operations_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
}

/// What a worker-only process answers: health, readiness and metrics.
pub fn operations_router(state: AppState) -> Router {
    operations_routes()
        .fallback(extract::no_such_endpoint)
        .layer(request_spans())
        .with_state(state)
}

/// The routes.
pub fn router(state: AppState) -> Router {
    let uploads = post(create_video::create_video).layer(axum::middleware::from_fn_with_state(
        state.upload_limiter.clone(),
        rate_limit::limit_uploads,
    ));
    let tus_create = post(tus_uploads::create).layer(axum::middleware::from_fn_with_state(
        state.upload_limiter.clone(),
        rate_limit::limit_uploads,
    ));
    let direct_create = post(direct_uploads::create).layer(axum::middleware::from_fn_with_state(
        state.upload_limiter.clone(),
        rate_limit::limit_uploads,
    ));
    let videos = Router::new()
        .route("/v1/videos", uploads.get(list_videos::list_videos))
        .route("/v1/uploads", tus_create)
        .route("/v1/direct-uploads", direct_create)
        .route(
            "/v1/direct-uploads/{id}/complete",
            post(direct_uploads::complete),
        )
        .route(
            "/v1/uploads/{id}",
            axum::routing::head(tus_uploads::head)
                .patch(tus_uploads::patch)
                .delete(tus_uploads::terminate),
        )
        .route(
            "/v1/videos/{id}",
            get(get_video::get_video).delete(delete_video::delete_video),
        )
        .route("/v1/videos/{id}/events", get(video_events::video_events))
        .route("/v1/videos/{id}/cancel", post(cancel_video::cancel_video))
        .route("/v1/videos/{id}/retry", post(retry_video::retry_video))
        .route(
            "/v1/videos/{id}/captions/{language}",
            axum::routing::put(video_captions::put_captions)
                .delete(video_captions::delete_captions)
                .layer(DefaultBodyLimit::max(video_captions::MAX_CAPTION_BYTES)),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.keys.clone(),
            auth::require_api_key,
        ));
    // Deliveries name the webhook endpoints (whose URLs may carry tokens): with API keys,
    // reading them needs a key even without PRIVATE_READS.
    let deliveries = Router::new()
        .route(
            "/v1/webhook-deliveries",
            get(webhook_deliveries::list_deliveries),
        )
        .route(
            "/v1/webhook-deliveries/{id}",
            get(webhook_deliveries::get_delivery),
        )
        .route(
            "/v1/webhook-deliveries/{id}/replay",
            post(webhook_deliveries::replay_delivery),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.keys.for_reads_too(),
            auth::require_api_key,
        ));
    Router::new()
        .merge(videos)
        .merge(deliveries)
        .merge(web_page::routes(&state.web_vendor_dir))
        // Signed links carry their own authorization: no API key.
        .route("/v1/videos/{id}/play/{*path}", get(play_video::play_video))
        // What the server offers, as tus clients ask before they upload: no API key.
        .route("/v1/uploads", axum::routing::options(tus_uploads::options))
        .merge(operations_routes())
        .route("/openapi.json", get(openapi::openapi_json))
        .route_layer(axum::middleware::from_fn(metrics::track_latency))
        .fallback(extract::no_such_endpoint)
        // Uploads are streamed to disk and limited by our own check, not buffered.
        .layer(DefaultBodyLimit::disable())
        .layer(request_spans())
        .with_state(state)
}
