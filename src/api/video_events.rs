//! `GET /v1/videos/{id}/events`: the video's status changes and per-frame progress as
//! Server-Sent Events, until its final status.
//!
//! The event id is the video's version, which grows with every change a client can see. A
//! stream starts with a snapshot (`status`) unless the client's `Last-Event-ID` says it has
//! seen this version already; then come `progress` events (at most [`PROGRESS_EVERY`] apart,
//! the newest wins) and a `status` event per status change. It ends after a final status or
//! `deleted`. Reconnecting after a final status the client has seen gets 204, which tells an
//! `EventSource` to stop.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::change_feed::{ChangeKind, FeedMessage, VideoChange};
use super::client_id::ClientId;
use super::extract::ApiPath;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use super::stream_slots::StreamSlot;
use crate::db::videos::{self, VideoRow};
use crate::video_resource::VideoResource;

/// The shortest gap between two progress events of one stream (about 10 a second).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// A comment is sent this often, so proxies keep an idle stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Streams a video's status and progress as Server-Sent Events.
///
/// Events: `status` (data: the video resource; first a snapshot, then on each status change),
/// `playable` (data: the video resource, with its `playback_url`, when it can be played while
/// still converting), `progress` (data: `{"id", "status", "progress"}`, at most about 10 a
/// second) and `deleted` (data: `{"id"}`). The `id` of each event is the video's version: send it back as
/// `Last-Event-ID` when reconnecting. The stream ends after a final status (`completed`,
/// `failed`, `canceled`) or `deleted`.
/// One event of a video's stream, as its `event:`, `id:` and `data:` lines say it (`data` is
/// one line of JSON). The stream is `text/event-stream`; this describes its events.
#[derive(Serialize, ToSchema)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum VideoEvent {
    /// The video as `GET /v1/videos/{id}` answers it: sent first, and after every change of
    /// status; the last event when the status is final.
    Status {
        /// The video's version: send it back as `Last-Event-ID` when reconnecting.
        id: i64,
        /// The video.
        data: VideoResource,
    },
    /// The video became playable while it still converts (its `playback_url` plays).
    Playable {
        /// The video's version.
        id: i64,
        /// The video.
        data: VideoResource,
    },
    /// Per-frame progress, at most about 10 a second.
    Progress {
        /// The video's version.
        id: i64,
        /// The id, status and progress.
        data: ProgressEvent,
    },
    /// The video was deleted: the last event.
    Deleted {
        /// Its id.
        data: DeletedEvent,
    },
}

/// The `data` of a `progress` event.
#[derive(Serialize, ToSchema)]
pub struct ProgressEvent {
    /// The video's id.
    pub id: Uuid,
    /// Its status.
    pub status: crate::video_status::VideoStatus,
    /// Its progress.
    pub progress: Option<hls_ladder::Progress>,
}

/// The `data` of a `deleted` event.
#[derive(Serialize, ToSchema)]
pub struct DeletedEvent {
    /// The video's id.
    pub id: Uuid,
}

/// The `Last-Event-ID` a reconnecting client sends back: 0 when none; an id is a video
/// version, a whole number from 0, and anything else is `400 bad-last-event-id`.
fn last_event_id(headers: &HeaderMap) -> Result<i64, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(0);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ApiCode::BadLastEventId,
                "Last-Event-ID must be an id this event stream sent: a whole number from 0",
            )
        })
}

/// A video's status, progress and outcome as they change, as Server-Sent Events: about ten
/// progress events a second while it converts, and every status change.
#[utoipa::path(
    get,
    path = "/v1/videos/{id}/events",
    params(
        ("id" = Uuid, Path, description = "Video id"),
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "The last event id received, when reconnecting; anything but a whole number from 0 is `400 bad-last-event-id`"),
    ),
    responses(
        (status = 200, description = "An event stream (`text/event-stream`): each event's `event:` line is its type, `id:` the video's version, `data:` one line of JSON; the schema is the events it sends", content_type = "text/event-stream", body = VideoEvent,
         example = json!("id: 3\nevent: status\ndata: {\"id\":\"0193…\",\"status\":\"processing\",…}\n\nid: 4\nevent: progress\ndata: {\"id\":\"0193…\",\"status\":\"processing\",\"progress\":{\"frames_done\":120,\"frames_expected\":300,\"percent\":40.0,\"fps\":61.2,\"speed\":2.04,\"eta\":2.9,\"elapsed\":1.96,\"renditions\":[{\"name\":\"720p\",\"frames_done\":124},{\"name\":\"360p\",\"frames_done\":120}]}}\n\nid: 9\nevent: status\ndata: {\"id\":\"0193…\",\"status\":\"completed\",\"playback_url\":\"http://…/master.m3u8\",…}\n\n")),
        (status = 204, description = "The client has already seen the final status"),
        (status = 400, description = "A `Last-Event-ID` that is not an id this stream sends (`bad-last-event-id`)"),
        (status = 404, description = "No such video"),
        (status = 429, description = "This client has as many event streams open as it may (MAX_EVENT_STREAMS_PER_CLIENT)"),
        (status = 503, description = "The server has as many event streams open as it may (MAX_EVENT_STREAMS)"),
    )
)]
#[tracing::instrument(skip(state, headers, client))]
pub async fn video_events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    client: ClientId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let seen = last_event_id(&headers)?;
    // Subscribe before reading the row, so no change falls between the two.
    let changes = state.change_feed.subscribe();
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    // An id beyond the video's version is not one this stream gave (a restored database, a
    // client mixing streams up): start over with a snapshot.
    let seen = if seen > row.version { 0 } else { seen };
    if row.status.is_final() && row.version <= seen {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let slot = state.event_streams.take(client)?;
    let (events, receiver) = mpsc::channel(16);
    let stream = EventStream {
        id,
        state,
        headers,
        events,
        sent: seen,
        _slot: slot,
    };
    tokio::spawn(stream.run(row, changes));
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(body)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// The task behind one client's stream.
struct EventStream {
    id: Uuid,
    state: AppState,
    headers: HeaderMap,
    events: mpsc::Sender<Event>,
    /// The newest version sent (or seen by the client before it reconnected).
    sent: i64,
    /// Counts against the caps while the stream lives.
    _slot: StreamSlot,
}

/// Whether a stream goes on.
enum Next {
    Continue,
    End,
}

impl EventStream {
    async fn run(mut self, row: VideoRow, mut changes: broadcast::Receiver<FeedMessage>) {
        if let Next::End = self.send_row(row, "status").await {
            return;
        }
        let closing = self.state.change_feed.closing().clone();
        let mut last_progress = Instant::now() - PROGRESS_EVERY;
        let mut held: Option<VideoChange> = None;
        loop {
            let release_at = last_progress + PROGRESS_EVERY;
            let next = tokio::select! {
                () = self.events.closed() => return,
                () = closing.cancelled() => return,
                () = tokio::time::sleep_until(release_at), if held.is_some() => {
                    let change = held.take().expect("checked by the guard");
                    last_progress = Instant::now();
                    self.send_progress(change).await
                }
                message = changes.recv() => match message {
                    Ok(FeedMessage::Change(change)) if change.id != self.id => Next::Continue,
                    Ok(FeedMessage::Change(change)) => match change.kind {
                        ChangeKind::Deleted => self.send_deleted().await,
                        ChangeKind::Status if change.version > self.sent => self.reread().await,
                        ChangeKind::Playable if change.version > self.sent => {
                            self.reread_as("playable").await
                        }
                        ChangeKind::Progress if change.version > self.sent => {
                            if Instant::now() >= release_at {
                                last_progress = Instant::now();
                                self.send_progress(change).await
                            } else {
                                held = Some(change);
                                Next::Continue
                            }
                        }
                        ChangeKind::Status | ChangeKind::Playable | ChangeKind::Progress => {
                            Next::Continue
                        }
                    },
                    // Missed notifications: the row says where things are now.
                    Ok(FeedMessage::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.reread().await
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if held.as_ref().is_some_and(|h| h.version <= self.sent) {
                held = None;
            }
            if let Next::End = next {
                return;
            }
        }
    }

    /// Reads the row and sends it as a `status` event when it is newer than what the client
    /// has.
    async fn reread(&mut self) -> Next {
        self.reread_as("status").await
    }

    /// Reads the row and sends it as an `event` event when it is newer than what the client
    /// has.
    async fn reread_as(&mut self, event: &'static str) -> Next {
        match videos::get(&self.state.pool, self.id).await {
            Ok(Some(row)) => self.send_row(row, event).await,
            Ok(None) => self.send_deleted().await,
            Err(error) => {
                // Ending the stream is the safe way on: the client reconnects with its
                // Last-Event-ID and is answered from the row once the database is back.
                tracing::debug!(%error, "could not read the video for its event stream; ending it");
                Next::End
            }
        }
    }

    async fn send_row(&mut self, row: VideoRow, event: &'static str) -> Next {
        let finished = row.status.is_final();
        if row.version > self.sent {
            let version = row.version;
            let resource = self.state.present(row, &self.headers);
            let event = Event::default()
                .event(event)
                .id(version.to_string())
                .json_data(&resource)
                .expect("a video resource serialises");
            if let Next::End = self.send(event).await {
                return Next::End;
            }
            self.sent = version;
        }
        if finished { Next::End } else { Next::Continue }
    }

    async fn send_progress(&mut self, change: VideoChange) -> Next {
        if change.version <= self.sent {
            return Next::Continue;
        }
        let data = json!({"id": self.id, "status": change.status, "progress": change.progress});
        let event = Event::default()
            .event("progress")
            .id(change.version.to_string())
            .data(data.to_string());
        if let Next::End = self.send(event).await {
            return Next::End;
        }
        self.sent = change.version;
        Next::Continue
    }

    async fn send_deleted(&mut self) -> Next {
        let event = Event::default()
            .event("deleted")
            .json_data(DeletedEvent { id: self.id })
            .expect("an id serialises");
        self.send(event).await;
        Next::End
    }

    /// Queues an event for the client; ends when the client is gone, or when the service
    /// shuts down while a stalled client is not reading (so it cannot hold the shutdown up).
    async fn send(&self, event: Event) -> Next {
        tokio::select! {
            sent = self.events.send(event) => if sent.is_ok() { Next::Continue } else { Next::End },
            () = self.state.change_feed.closing().cancelled() => Next::End,
        }
    }
}
