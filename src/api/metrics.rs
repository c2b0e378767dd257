//! `GET /metrics` in the Prometheus text format, and the HTTP latency middleware.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;
use crate::db::{videos, webhooks};
use crate::video_status::VideoStatus;

/// The process-wide Prometheus recorder (installed once, shared by every server in it).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
                ])
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Jobs by status, queue depth, webhook deliveries by status and attempts by outcome,
/// conversion seconds, bytes uploaded, HTTP latency.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", body = String, example = "# TYPE hls_videos gauge\nhls_videos{status=\"completed\"} 42\nhls_queue_depth 3\n")))]
pub async fn metrics(State(state): State<AppState>) -> String {
    if let Ok(counts) = videos::count_by_status(&state.pool).await {
        for status in VideoStatus::ALL {
            let count = count_of(&counts, &status);
            metrics::gauge!("hls_videos", "status" => status.as_str()).set(count);
            if status == VideoStatus::Pending {
                metrics::gauge!("hls_queue_depth").set(count);
            }
        }
    }
    if let Ok(counts) = webhooks::count_by_status(&state.pool).await {
        for status in ["pending", "delivered", "failed"] {
            metrics::gauge!("hls_webhook_deliveries", "status" => status)
                .set(count_of(&counts, &status.to_string()));
        }
    }
    state.metrics.render()
}

fn count_of<S: PartialEq>(counts: &[(S, i64)], status: &S) -> f64 {
    counts
        .iter()
        .find(|(s, _)| s == status)
        .map_or(0.0, |(_, c)| *c as f64)
}

/// A method as a label: the standard ones by name, any other as `other`, so that made-up
/// methods cannot grow the label set (every label here is from a fixed set: the matched
/// route's pattern, never the raw path, and the status code).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, name)| name)
}

/// Records `http_request_duration_seconds` by method, route and status.
pub async fn track_latency(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}
