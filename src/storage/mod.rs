//! Object storage: the S3 bucket the HLS output is published to, and the sink that uploads a
//! conversion's segments while it runs.

mod object_store;
mod s3_sink;

pub use object_store::{ObjectStore, S3Settings};
pub use s3_sink::S3Sink;

/// The key prefix of one video's objects: `videos/{id}/`.
pub fn video_prefix(id: uuid::Uuid) -> String {
    format!("videos/{id}/")
}

/// The key of an upload staged for workers on other machines: `sources/{id}`. Not under the
/// public `videos/` prefix.
pub fn source_key(id: uuid::Uuid) -> String {
    format!("sources/{id}")
}
