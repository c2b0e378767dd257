//! A small Server-Sent Events client for the tests: reads `text/event-stream` as it arrives.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

/// One event, with when it arrived.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
    pub at: Instant,
}

pub struct SseStream {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: Vec<u8>,
}

/// GETs `url` (with `Last-Event-ID` when given); returns the response when it is not a stream.
pub async fn connect(
    url: &str,
    last_event_id: Option<i64>,
) -> Result<SseStream, reqwest::Response> {
    let mut request = reqwest::Client::new()
        .get(url)
        .header("Accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.unwrap();
    let is_stream = response.status() == 200
        && response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    if !is_stream {
        return Err(response);
    }
    Ok(SseStream {
        body: response.bytes_stream().boxed(),
        buffer: Vec::new(),
    })
}

impl SseStream {
    /// The next event; `None` when the server ended the stream. Panics after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(std::str::from_utf8(&block).unwrap()) {
                    return Some(event);
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .expect("no event in time");
            match chunk {
                Some(bytes) => self.buffer.extend_from_slice(&bytes.unwrap()),
                None => return None,
            }
        }
    }

    /// Every event until the server ends the stream.
    pub async fn collect(&mut self, timeout: Duration) -> Vec<SseEvent> {
        let deadline = Instant::now() + timeout;
        let mut events = Vec::new();
        while let Some(event) = self
            .next(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            events.push(event);
        }
        events
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let (mut id, mut event, mut data) = (None, String::from("message"), Vec::new());
    for line in block.lines() {
        match line.split_once(':') {
            Some(("id", value)) => id = Some(value.trim().parse().unwrap()),
            Some(("event", value)) => event = value.trim().to_string(),
            Some(("data", value)) => data.push(value.strip_prefix(' ').unwrap_or(value)),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    Some(SseEvent {
        id,
        event,
        data: serde_json::from_str(&data.join("\n")).unwrap(),
        at: Instant::now(),
    })
}
