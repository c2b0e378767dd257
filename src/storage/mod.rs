//! Object storage: the bucket the HLS output is published to, behind one seam.
//!
//! - `object_store.rs`: the [`ObjectStore`] trait and [`StorageError`];
//! - `s3_store.rs` and `bucket_setup.rs`: the S3 backend and its provisioning at start;
//! - `memory_store.rs`: the in-memory backend (tests, trying the service without S3);
//! - `store_sink.rs`: the conversion's [`Sink`](hls_ladder::Sink) that publishes to a store.
//! - `key_layout.rs`: where a video's objects are in the bucket.

mod bucket_setup;
mod key_layout;
mod memory_store;
mod object_store;
mod s3_store;
mod store_sink;

pub use bucket_setup::{BucketAccess, ensure_bucket};
pub use key_layout::{
    SOURCES_PREFIX, claim_of_key, claim_prefix, resolve_key, source_key, video_prefix,
};
pub use memory_store::{MemoryStore, StoredObject};
pub use object_store::{
    ListedObject, MIN_PART_BYTES, ObjectHeaders, ObjectStore, StorageError, UploadedPart,
};
pub use s3_store::{S3Settings, S3Store};
pub use store_sink::{CHANGEABLE_CACHE, StoreSink};
