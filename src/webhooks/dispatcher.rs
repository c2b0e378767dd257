//! Sends the webhook outbox: makes one delivery per event and endpoint, posts each one signed,
//! and retries failures with exponential backoff until the attempts run out.
//!
//! At least once: an attempt holds its delivery for the request timeout and a margin; when
//! the process dies meanwhile, the hold runs out and another dispatcher (or this one, after a
//! restart) sends it again. Receivers deduplicate by `Webhook-Id`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::signature;
use crate::db::channels::WEBHOOKS_CHANNEL;
use crate::db::notifications;
use crate::db::videos::VideoRow;
use crate::db::webhooks::{self, AttemptOutcome, ClaimedDelivery};
use crate::video_resource::Presenter;

/// When nothing wakes it, the dispatcher looks for due deliveries this often.
const POLL: Duration = Duration::from_millis(500);
/// Deliveries sent at once by one dispatcher.
const BATCH: i64 = 16;
/// The longest wait between two attempts.
const LONGEST_RETRY: Duration = Duration::from_secs(3600);
/// Events, deliveries and attempts are kept this many days once nothing is left to send (and
/// events no process with endpoints took, as long).
const RETENTION_DAYS: f64 = 30.0;
/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Where and how webhooks are sent. With no endpoints, the dispatcher makes no deliveries of
/// its own: it sends those made earlier and leaves new events to a process that has some.
#[derive(Clone)]
pub struct WebhookSettings {
    /// Receivers; every event goes to each.
    pub endpoints: Vec<String>,
    /// The HMAC key of `Webhook-Signature` (see [`signature::key_from_secret`]).
    pub secret: Vec<u8>,
    /// Attempts per delivery (and per replay).
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles after each further one, up to an hour.
    pub first_retry: Duration,
    /// How long a receiver has to answer.
    pub timeout: Duration,
}

impl WebhookSettings {
    /// No endpoint: new events wait for a process that has some.
    pub fn no_endpoints() -> WebhookSettings {
        WebhookSettings {
            endpoints: Vec::new(),
            secret: Vec::new(),
            max_attempts: 1,
            first_retry: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        }
    }

    /// The wait after failed attempt `attempt` (from 1): doubling from `first_retry`, at most
    /// an hour, with up to 10 % of random jitter so that retries of many deliveries spread out.
    pub fn retry_delay(&self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        let delay = self
            .first_retry
            .saturating_mul(1 << doublings)
            .min(LONGEST_RETRY);
        delay.mul_f64(1.0 + rand::random::<f64>() * 0.1)
    }
}

/// Runs the dispatcher until `stop`.
pub async fn run(
    pool: PgPool,
    settings: WebhookSettings,
    presenter: Presenter,
    stop: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "hls-ladder/",
            env!("CARGO_PKG_VERSION"),
            " webhooks"
        ))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhooks disabled: cannot build an HTTP client");
            return;
        }
    };
    let dispatcher = Arc::new(Dispatcher {
        pool,
        settings,
        presenter,
        client,
    });
    let wake = Arc::new(Notify::new());
    let listener = tokio::spawn(notifications::wake_on(
        dispatcher.pool.clone(),
        WEBHOOKS_CHANNEL,
        Arc::clone(&wake),
        stop.clone(),
    ));
    let mut pruned_at: Option<Instant> = None;
    while !stop.is_cancelled() {
        if pruned_at.is_none_or(|at| at.elapsed() > PRUNE_EVERY) {
            match webhooks::prune(&dispatcher.pool, RETENTION_DAYS).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "pruned old webhook events"),
                Err(error) => tracing::warn!(%error, "pruning old webhook events failed"),
            }
            pruned_at = Some(Instant::now());
        }
        let busy = match dispatcher.round().await {
            Ok(busy) => busy,
            Err(error) => {
                tracing::warn!(%error, "webhook dispatch failed; trying again");
                false
            }
        };
        if !busy {
            tokio::select! {
                () = stop.cancelled() => {}
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
    let _ = listener.await;
}

struct Dispatcher {
    pool: PgPool,
    settings: WebhookSettings,
    presenter: Presenter,
    client: reqwest::Client,
}

impl Dispatcher {
    /// Fans out new events and sends the due deliveries; true when there was work (so more
    /// may be waiting).
    async fn round(self: &Arc<Self>) -> sqlx::Result<bool> {
        // Without endpoints, leave new events to a process that has some (during a rollout of
        // WEBHOOK_URLS, say); this one only finishes deliveries made earlier.
        let events = if self.settings.endpoints.is_empty() {
            0
        } else {
            webhooks::fan_out(
                &self.pool,
                &self.settings.endpoints,
                self.settings.max_attempts,
                100,
            )
            .await?
        };
        let hold = self.settings.timeout.as_secs_f64() + 5.0;
        let due = webhooks::claim_due(&self.pool, hold, BATCH).await?;
        let busy = events > 0 || !due.is_empty();
        let mut sends = JoinSet::new();
        for delivery in due {
            let dispatcher = Arc::clone(self);
            sends.spawn(async move { dispatcher.attempt(delivery).await });
        }
        while sends.join_next().await.is_some() {}
        Ok(busy)
    }

    /// Sends one delivery and records how it went.
    #[tracing::instrument(skip_all, fields(delivery_id = %delivery.id, event = %delivery.event_type, attempt = delivery.attempt))]
    async fn attempt(&self, delivery: ClaimedDelivery) {
        let started_at = chrono::Utc::now();
        let clock = Instant::now();
        let (status_code, error) = match self.send(&delivery).await {
            Ok(status) if status.is_success() => (Some(status.as_u16()), None),
            Ok(status) if status.is_redirection() => (
                Some(status.as_u16()),
                Some(format!(
                    "HTTP {status}: redirects are not followed; configure the final URL"
                )),
            ),
            Ok(status) => (Some(status.as_u16()), Some(format!("HTTP {status}"))),
            Err(error) => (None, Some(error)),
        };
        let delivered = error.is_none();
        let outcome = if delivered { "delivered" } else { "failed" };
        metrics::counter!("hls_webhook_attempts_total", "outcome" => outcome).increment(1);
        let retry_in_seconds = self.settings.retry_delay(delivery.attempt).as_secs_f64();
        // As the claim saw it; a replay meanwhile may allow more (the row decides).
        let last = delivery.attempt >= delivery.attempts_allowed;
        match &error {
            None => tracing::info!("webhook delivered"),
            Some(error) if last => tracing::error!(%error, "webhook not delivered; giving up"),
            Some(error) => {
                tracing::warn!(%error, retry_in_seconds, "webhook not delivered; will retry")
            }
        }
        let outcome = AttemptOutcome {
            started_at,
            duration_ms: clock.elapsed().as_secs_f64() * 1000.0,
            status_code: status_code.map(i32::from),
            error,
            delivered,
            retry_in_seconds,
        };
        if let Err(error) = webhooks::record_attempt(&self.pool, &delivery, &outcome).await {
            // The hold runs out and the delivery is sent again: at least once.
            tracing::warn!(%error, "could not record the webhook attempt");
        }
    }

    async fn send(&self, delivery: &ClaimedDelivery) -> Result<reqwest::StatusCode, String> {
        let row: VideoRow = serde_json::from_value(delivery.video.clone())
            .map_err(|e| format!("the stored event is unreadable: {e}"))?;
        // The Standard Webhooks payload: the type is in the signed body.
        let happened = row.updated_at;
        let body = serde_json::to_vec(&super::payload::WebhookPayload {
            kind: delivery.event_type.clone(),
            timestamp: happened,
            data: self.presenter.present(row, None),
        })
        .map_err(|e| format!("the body could not be made: {e}"))?;
        let now = chrono::Utc::now().timestamp();
        let id = delivery.event_id.to_string();
        let signed = signature::sign(&self.settings.secret, &id, now, &body);
        let response = self
            .client
            .post(&delivery.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Webhook-Id", &id)
            .header("Webhook-Timestamp", now.to_string())
            .header("Webhook-Signature", signed)
            .header("Webhook-Event", &delivery.event_type)
            .header("Webhook-Delivery", delivery.id.to_string())
            .header("Webhook-Attempt", delivery.attempt.to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status())
    }
}

/// A transport error in words, with its causes (reqwest's own message is terse).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let settings = WebhookSettings {
            endpoints: vec![],
            secret: vec![],
            max_attempts: 12,
            first_retry: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        };
        for (attempt, base) in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (40, 3600)] {
            let delay = settings.retry_delay(attempt).as_secs_f64();
            let base = f64::from(base);
            assert!(
                (base..=base * 1.1).contains(&delay),
                "attempt {attempt}: {delay} s, expected {base} s + up to 10 %"
            );
        }
    }
}
