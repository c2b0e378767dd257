//! Changes to videos as they happen, from any process: one LISTEN connection per API process
//! on the channel a trigger NOTIFYs (so a worker on another machine is heard too), fanned out
//! to every open event stream.

use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::channels::VIDEO_EVENTS_CHANNEL;
use crate::db::notifications::{self, Heard};

/// Notifications buffered per subscriber before it counts as lagging (and re-reads the row).
const BUFFER: usize = 1024;

/// One notification from the trigger.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct VideoChange {
    /// The video.
    pub id: Uuid,
    /// What changed.
    pub kind: ChangeKind,
    /// The video's version after the change (absent for `deleted`).
    #[serde(default)]
    pub version: i64,
    /// Its status after the change.
    #[serde(default)]
    pub status: Option<String>,
    /// The new progress, for a `progress` change.
    #[serde(default)]
    pub progress: Option<Value>,
}

/// The kinds of [`VideoChange`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Status, outcome or error changed: read the row for the rest.
    Status,
    /// The video became playable while converting: read the row for its `playback_url`.
    Playable,
    /// Only the progress changed; it is in the notification.
    Progress,
    /// The row is gone.
    Deleted,
}

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum FeedMessage {
    /// A change to some video.
    Change(VideoChange),
    /// Notifications may have been missed (the connection to the database was lost): each
    /// subscriber should read its video again.
    Resync,
}

/// The fan-out of video changes to the event streams of this process.
#[derive(Clone)]
pub struct ChangeFeed {
    sender: broadcast::Sender<FeedMessage>,
    closing: CancellationToken,
}

impl ChangeFeed {
    /// Starts listening; the listener stops (and every stream ends) when `closing` is
    /// cancelled, which the server does when it shuts down.
    pub fn start(pool: PgPool, closing: CancellationToken) -> ChangeFeed {
        let (sender, _) = broadcast::channel(BUFFER);
        tokio::spawn(listen(pool, sender.clone(), closing.clone()));
        ChangeFeed { sender, closing }
    }

    /// A feed that hears nothing, for a process that serves no event streams.
    pub fn idle(closing: CancellationToken) -> ChangeFeed {
        let (sender, _) = broadcast::channel(1);
        ChangeFeed { sender, closing }
    }

    /// Receives every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedMessage> {
        self.sender.subscribe()
    }

    /// Cancelled when the service shuts down: streams end then.
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }
}

/// Forwards notifications until `closing`; whenever some may have been missed (at the start,
/// after a lost connection), tells the subscribers to resynchronise.
async fn listen(pool: PgPool, sender: broadcast::Sender<FeedMessage>, closing: CancellationToken) {
    notifications::listen(pool, VIDEO_EVENTS_CHANNEL, closing, |heard| {
        let message = match heard {
            Heard::Notification(payload) => match serde_json::from_str(payload) {
                Ok(change) => FeedMessage::Change(change),
                Err(error) => {
                    tracing::warn!(%error, "unreadable video change notification");
                    return;
                }
            },
            // Whatever happened while nobody listened is read from the rows.
            Heard::MayHaveMissed => FeedMessage::Resync,
        };
        let _ = sender.send(message);
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_triggers_notifications() {
        let id = Uuid::new_v4();
        let progress: VideoChange = serde_json::from_str(&format!(
            r#"{{"id":"{id}","kind":"progress","version":7,"status":"processing","progress":{{"frames_done":3}}}}"#
        ))
        .unwrap();
        assert_eq!(progress.kind, ChangeKind::Progress);
        assert_eq!(progress.version, 7);
        assert_eq!(progress.progress.unwrap()["frames_done"], 3);
        let deleted: VideoChange =
            serde_json::from_str(&format!(r#"{{"id":"{id}","kind":"deleted"}}"#)).unwrap();
        assert_eq!((deleted.kind, deleted.version), (ChangeKind::Deleted, 0));
    }
}
