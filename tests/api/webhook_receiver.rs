//! A webhook receiver on loopback for the tests: records every request and answers from a
//! script (a status, or no answer at all), then 204.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::Notify;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Answers with this status after a while.
    Late(Duration, u16),
    /// Never answers (the sender times out, or dies waiting).
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    /// The whole body: `{"type", "timestamp", "data"}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The video resource the event carries (`data`).
    pub fn video(&self) -> serde_json::Value {
        self.json()["data"].clone()
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Answer>>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Listens on a free loopback port; answers from `script`, then 204.
    pub async fn start(script: &[Answer]) -> Receiver {
        let shared = Arc::new(Shared::default());
        shared.script.lock().unwrap().extend(script.iter().copied());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, shared }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "{} of {count} webhook requests after {timeout:?}",
                    self.received().len()
                );
            }
        }
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.received.lock().unwrap().push(Received {
        headers,
        body,
        at: Instant::now(),
    });
    shared.arrived.notify_waiters();
    let answer = shared.script.lock().unwrap().pop_front();
    match answer {
        Some(Answer::Status(code)) => StatusCode::from_u16(code).unwrap(),
        Some(Answer::Late(wait, code)) => {
            tokio::time::sleep(wait).await;
            StatusCode::from_u16(code).unwrap()
        }
        Some(Answer::Hang) => std::future::pending().await,
        None => StatusCode::NO_CONTENT,
    }
}
