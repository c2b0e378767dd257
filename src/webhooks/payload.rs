//! The body of a webhook request: a Standard Webhooks payload (the event type is in the signed
//! body) whose `data` is the video as the API shows it. Also what the OpenAPI document's
//! `webhooks` section describes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::video_resource::VideoResource;

/// The events a webhook endpoint receives.
pub const EVENT_TYPES: [&str; 4] = [
    "video.playable",
    "video.completed",
    "video.failed",
    "video.canceled",
];

/// A webhook request's JSON body.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    /// The event: `video.playable` (playable while it still converts), `video.completed`,
    /// `video.failed` or `video.canceled`.
    #[serde(rename = "type")]
    #[schema(pattern = "^video\\.(playable|completed|failed|canceled)$")]
    pub kind: String,
    /// When the change happened.
    pub timestamp: DateTime<Utc>,
    /// The video after the change, as `GET /v1/videos/{id}` shows it.
    pub data: VideoResource,
}
