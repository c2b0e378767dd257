//! A per-client limit on uploads: 429 with `Retry-After` once a client used its allowance.
//!
//! A client is its API key when it sends a valid one, else its IP address, an IPv6 address by
//! its /64 (see [`ClientId`]; the peer of the TCP connection: behind a reverse proxy, limit
//! there instead). The allowance refills steadily (GCRA): `10/min` allows a burst of 10, then
//! one more every 6 seconds.

use std::num::NonZeroU32;
use std::str::FromStr;
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

/// An allowance written `COUNT/UNIT`, with UNIT `s`, `min` or `h`: e.g. `10/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRate {
    /// Uploads allowed per period (and the burst).
    pub count: NonZeroU32,
    /// The period.
    pub per: Duration,
}

impl FromStr for UploadRate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a rate like 10/min (units: s, min, h)");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(UploadRate {
            count: NonZeroU32::new(count).ok_or_else(bad)?,
            per,
        })
    }
}

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
                "too-many-uploads",
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
    fn rates_parse() {
        let rate: UploadRate = "10/min".parse().unwrap();
        assert_eq!(rate.count.get(), 10);
        assert_eq!(rate.per, Duration::from_secs(60));
        assert_eq!(
            "2/s".parse::<UploadRate>().unwrap().per,
            Duration::from_secs(1)
        );
        assert!("0/min".parse::<UploadRate>().is_err());
        assert!("ten/min".parse::<UploadRate>().is_err());
        assert!("10/fortnight".parse::<UploadRate>().is_err());
    }

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
