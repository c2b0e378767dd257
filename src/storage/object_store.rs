//! The seam between the service and wherever its objects live: [`ObjectStore`], what the
//! service asks of a bucket, and [`StorageError`], why a request failed.
//!
//! The backends: [`S3Store`](super::S3Store) (S3, LocalStack, MinIO) in production, and
//! [`MemoryStore`](super::MemoryStore), which lets handler and job logic be tested without
//! any S3 at all. Errors become HTTP answers in one place: `api/problem.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;

/// Why a storage request failed: by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("{key} does not exist")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// The store refused the credentials or the permission: a configuration to fix, not an
    /// outage to wait out.
    #[error("the store denied access to {key}: {detail}")]
    Denied {
        /// The key asked for (or the bucket).
        key: String,
        /// The store's own words.
        detail: String,
    },
    /// The store does not answer, or answers that it is overloaded: worth trying again later.
    #[error("the store is unavailable ({key}): {detail}")]
    Unavailable {
        /// The key asked for (or the bucket).
        key: String,
        /// What happened: a connection refused, a timeout, a 5xx.
        detail: String,
    },
    /// The store answered that the request cannot succeed as made (no such bucket, a key it
    /// rejects): trying again will not help.
    #[error("the store rejected the request for {key}: {detail}")]
    Rejected {
        /// The key asked for (or the bucket).
        key: String,
        /// The store's own words.
        detail: String,
    },
    /// A file on this server could not be read or written.
    #[error("{}: {source}", path.display())]
    LocalFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    /// Whether trying again later may succeed: the store was unavailable.
    pub fn is_transient(&self) -> bool {
        matches!(self, StorageError::Unavailable { .. })
    }

    /// A [`StorageError::LocalFile`] for `path`.
    pub fn local_file(path: &Path, source: std::io::Error) -> StorageError {
        StorageError::LocalFile {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One object as a listing gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Its key.
    pub key: String,
    /// How long ago it was last written.
    pub age: Duration,
}

/// What an object is served as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectHeaders<'a> {
    /// Its `Content-Type`.
    pub content_type: &'a str,
    /// Its `Cache-Control`.
    pub cache_control: &'a str,
}

/// One stored part of a multipart upload: what completing the upload names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedPart {
    /// Its number, from 1; parts are joined in this order.
    pub number: i32,
    /// The store's tag for it.
    pub etag: String,
    /// Its size.
    pub bytes: u64,
}

/// The least size of a multipart upload's part but its last (S3's limit: 5 MiB).
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;

/// A bucket, as the service uses one. Keys are `/`-separated paths; see `storage/mod.rs` for
/// the layout.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// The absolute URL a player fetches `key` from, when the bucket is public.
    fn public_url(&self, key: &str) -> String;

    /// Whether the store answers.
    async fn check(&self) -> Result<(), StorageError>;

    /// Stores one object, trying again while the store is unavailable, for as long as the
    /// backend's patience allows (a short outage only delays it).
    async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        headers: ObjectHeaders<'_>,
    ) -> Result<(), StorageError>;

    /// Stores a file's bytes, streamed from disk (never held in memory whole by S3); tried
    /// again as [`ObjectStore::put`].
    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        headers: ObjectHeaders<'_>,
    ) -> Result<(), StorageError>;

    /// Writes an object into a file, streamed; returns its size. A partial file is removed.
    async fn download(&self, key: &str, path: &Path) -> Result<u64, StorageError>;

    /// An object's bytes, or `None` when it does not exist. For small objects (playlists).
    async fn get_bytes(&self, key: &str) -> Result<Option<Bytes>, StorageError>;

    /// A URL that lets anyone GET `key` for `lifetime` (at most 7 days).
    async fn presign_get(&self, key: &str, lifetime: Duration) -> Result<String, StorageError>;

    /// Whether an object exists.
    async fn exists(&self, key: &str) -> Result<bool, StorageError>;

    /// Deletes one object (an absent one is fine).
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// Deletes these objects (absent ones are fine).
    async fn delete_keys(&self, keys: &[String]) -> Result<(), StorageError>;

    /// Every object under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError>;

    /// Starts a multipart upload to `key`; returns its id. Nothing is at `key` until it is
    /// completed.
    async fn start_multipart(&self, key: &str) -> Result<String, StorageError>;

    /// Stores part `number` (from 1) of multipart upload `upload_id`; every part but the last
    /// must be at least [`MIN_PART_BYTES`]. Tried again while the store is unavailable.
    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        bytes: Bytes,
    ) -> Result<UploadedPart, StorageError>;

    /// Joins `parts`, in order, into the object at `key`.
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StorageError>;

    /// A URL that lets anyone PUT part `number` of multipart upload `upload_id` at `key` for
    /// `lifetime` (at most 7 days): uploads straight to the bucket. The part's ETag comes
    /// back in the answer's `ETag` header.
    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        lifetime: Duration,
    ) -> Result<String, StorageError>;

    /// The parts of multipart upload `upload_id` stored so far, by number; `NotFound` when
    /// the upload is no more (completed or aborted).
    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<UploadedPart>, StorageError>;

    /// Drops a multipart upload and its parts (an unknown one is fine).
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError>;

    /// Deletes every object under `prefix`; returns how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StorageError> {
        let keys: Vec<String> = self
            .list(prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect();
        self.delete_keys(&keys).await?;
        Ok(keys.len())
    }

    /// Deletes what the claims of video `id` before `claim` wrote (their prefixes, and
    /// objects of the layout before claims had prefixes), but for the keys in `keep` (the
    /// segments a resumed claim's playlists name); returns how many objects. Never touches
    /// `claim`'s own prefix or a later one's: those earlier claims lost their lease, so none
    /// of them can be the one that completes.
    async fn delete_claims_before(
        &self,
        id: uuid::Uuid,
        claim: i64,
        keep: &std::collections::BTreeSet<String>,
    ) -> Result<usize, StorageError> {
        let keys: Vec<String> = self
            .list(&super::video_prefix(id))
            .await?
            .into_iter()
            .map(|o| o.key)
            .filter(|key| super::claim_of_key(id, key).is_some_and(|n| n < claim))
            .filter(|key| !keep.contains(key))
            .collect();
        self.delete_keys(&keys).await?;
        Ok(keys.len())
    }
}
