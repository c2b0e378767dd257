//! Integration tests of the service against the real PostgreSQL and LocalStack: each test gets
//! its own database and bucket, and the server binds port 0.

mod bad_requests;
mod helpers;
mod lifecycle;
mod upload_and_play;
mod workers;
