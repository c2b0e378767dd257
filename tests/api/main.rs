//! Integration tests of the service against the real PostgreSQL and LocalStack: each test gets
//! its own database and bucket, and the server binds port 0.
//! The `hls-ladder` command's own tests are here too (`command.rs`): it is this package's
//! binary.

mod access;
mod audio_tracks;
mod bad_requests;
mod browser;
mod captions;
mod command;
mod deployment_files;
mod direct_uploads;
mod docs;
mod downloads;
mod edge_limits;
mod faults;
mod fencing;
mod file_server;
mod fuzz_containers;
mod fuzz_multipart;
mod healthcheck;
mod helpers;
mod hostile_input;
mod idempotency;
mod janitor;
mod lifecycle;
mod live_events;
mod memory_storage;
mod multipart_storage;
mod openapi_clients;
#[path = "../../crates/hls-ladder/tests/support/playlist_text.rs"]
mod playlist_text;
mod private_playback;
mod progressive;
mod resume;
mod secrets;
mod sse;
mod stills;
#[path = "../../crates/hls-ladder/tests/support/synthetic_clip.rs"]
mod synthetic_clip;
mod tcp_proxy;
mod tus;
mod upload_and_play;
mod upload_isolation;
mod url_import;
mod webhook_receiver;
mod webhooks;
mod workers;
