//! The PostgreSQL channels the service LISTENs on and NOTIFYs, by name.

/// The channel workers LISTEN on; a new job NOTIFYs it.
pub const JOBS_CHANNEL: &str = "hls_transcoder_jobs";
/// The channel a trigger NOTIFYs on every change a client can see (see the migration
/// `events_and_webhooks`): `{"id", "kind": "status"|"progress"|"deleted", "version", ...}`.
pub const VIDEO_EVENTS_CHANNEL: &str = "hls_transcoder_video_events";
/// The channel a trigger NOTIFYs when a webhook event is written to the outbox.
pub const WEBHOOKS_CHANNEL: &str = "hls_transcoder_webhooks";
