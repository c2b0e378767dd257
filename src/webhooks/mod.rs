//! Webhooks: `video.playable` (playable while still converting), `video.completed`,
//! `video.failed` and `video.canceled` posted to the configured endpoints, signed, from an
//! outbox written in the transaction of the change.
//!
//! A database trigger writes the outbox row (see the migration `events_and_webhooks`); the
//! [`dispatcher`] sends it; [`signature`] is the `Webhook-Signature` header, which receivers
//! written in Rust can check with [`signature::verify`].

pub mod dispatcher;
pub mod payload;
pub mod signature;

pub use dispatcher::WebhookSettings;
