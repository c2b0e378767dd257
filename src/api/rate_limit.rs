//! A per-client limit on uploads: 429 with `Retry-After` once a client used its allowance.
//!
//! A client is its API key when it sends a valid one, else its IP address, an IPv6 address by
//! its /64 (see [`ClientId`]; the peer of the TCP connection: behind a reverse proxy, limit
//! there instead). The allowance refills steadily (GCRA): `10/min` allows a burst of 10, then
//! one more every 6 seconds.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::client_id::ClientId;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::units::UploadRate;

/// The limiter shared by every request; `None` inside when uploads are not limited.
#[derive(Clone, Default)]
pub struct UploadLimiter(Option<Arc<DefaultKeyedRateLimiter<[u8; 32]>>>);

impl UploadLimiter {
    /// A limiter for `rate`, or none.
    pub fn new(rate: Option<UploadRate>) -> UploadLimiter {
        UploadLimiter(rate.map(|rate| {
            let quota = Quota::with_period(rate.per / rate.count.get())
                .expect("a rate's period is positive")
                .allow_burst(rate.count);
            Arc::new(DefaultKeyedRateLimiter::keyed(quota))
        }))
    }

    /// `Ok`, or how long this client must wait.
    fn check(&self, client: &[u8; 32]) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        limiter
            .check_key(client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Middleware on the upload route.
pub async fn limit_uploads(
    State(limiter): State<UploadLimiter>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let client = ClientId::of(request.extensions());
    match limiter.check(&client.0) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ApiCode::TooManyUploads,
                format!("this client sent too many uploads; try again in {seconds} s"),
            )
            .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds.max(1).to_string()).expect("digits"),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limiter = UploadLimiter::new(Some("3/min".parse().unwrap()));
        let (a, b) = ([1; 32], [2; 32]);
        for _ in 0..3 {
            assert!(limiter.check(&a).is_ok());
        }
        let wait = limiter.check(&a).unwrap_err();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(limiter.check(&b).is_ok());
        assert!(UploadLimiter::new(None).check(&a).is_ok());
    }
}
