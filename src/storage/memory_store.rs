//! The in-memory backend of [`ObjectStore`]: objects in a map, for tests of the handlers and
//! the jobs that need no S3, and for trying the service without one. Nothing survives the
//! process, and nothing serves the objects over HTTP: its URLs name them, nothing more.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::object_store::{
    ListedObject, MIN_PART_BYTES, ObjectHeaders, ObjectStore, StorageError, UploadedPart,
};

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its bytes.
    pub bytes: Bytes,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its `Cache-Control`.
    pub cache_control: String,
    written: Instant,
}

/// A multipart upload in progress: its key and the parts stored so far, by number.
#[derive(Debug)]
struct PendingMultipart {
    key: String,
    parts: BTreeMap<i32, Bytes>,
}

/// A bucket in memory.
#[derive(Debug)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, StoredObject>>,
    /// Multipart uploads in progress, by upload id.
    multipart: Mutex<BTreeMap<String, PendingMultipart>>,
    public_base: String,
    unavailable: AtomicBool,
}

impl MemoryStore {
    /// An empty store whose public URLs start with `public_base` (e.g. `memory://videos`).
    pub fn new(public_base: &str) -> MemoryStore {
        MemoryStore {
            objects: Mutex::new(BTreeMap::new()),
            multipart: Mutex::new(BTreeMap::new()),
            public_base: public_base.trim_end_matches('/').to_string(),
            unavailable: AtomicBool::new(false),
        }
    }

    /// Makes every request fail as [`StorageError::Unavailable`] (as S3 in an outage) until
    /// called again with `false`.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// The object at `key`, if any.
    pub fn object(&self, key: &str) -> Option<StoredObject> {
        self.objects().get(key).cloned()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.objects().keys().cloned().collect()
    }

    fn objects(&self) -> MutexGuard<'_, BTreeMap<String, StoredObject>> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many multipart uploads are in progress (started, neither completed nor aborted).
    pub fn multipart_uploads(&self) -> usize {
        self.uploads().len()
    }

    fn uploads(&self) -> MutexGuard<'_, BTreeMap<String, PendingMultipart>> {
        self.multipart
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn no_upload(key: &str, upload_id: &str) -> StorageError {
        StorageError::NotFound {
            key: format!("{key} (multipart upload {upload_id})"),
        }
    }

    /// Fails as an outage would, while one is switched on.
    fn answer(&self, key: &str) -> Result<(), StorageError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable {
                key: key.to_string(),
                detail: "the in-memory store was made unavailable".into(),
            });
        }
        Ok(())
    }

    fn insert(&self, key: &str, bytes: Bytes, headers: ObjectHeaders<'_>) {
        let object = StoredObject {
            bytes,
            content_type: headers.content_type.to_string(),
            cache_control: headers.cache_control.to_string(),
            written: Instant::now(),
        };
        self.objects().insert(key.to_string(), object);
    }
}

#[async_trait::async_trait]
impl ObjectStore for MemoryStore {
    fn public_url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base)
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.answer("")
    }

    async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        headers: ObjectHeaders<'_>,
    ) -> Result<(), StorageError> {
        self.answer(key)?;
        self.insert(key, bytes, headers);
        Ok(())
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        headers: ObjectHeaders<'_>,
    ) -> Result<(), StorageError> {
        self.answer(key)?;
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| StorageError::local_file(path, e))?;
        self.insert(key, bytes.into(), headers);
        Ok(())
    }

    async fn download(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let bytes = self
            .get_bytes(key)
            .await?
            .ok_or_else(|| StorageError::NotFound {
                key: key.to_string(),
            })?;
        if let Err(error) = tokio::fs::write(path, &bytes).await {
            let _ = tokio::fs::remove_file(path).await;
            return Err(StorageError::local_file(path, error));
        }
        Ok(bytes.len() as u64)
    }

    async fn get_bytes(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        self.answer(key)?;
        Ok(self.objects().get(key).map(|o| o.bytes.clone()))
    }

    async fn presign_get(&self, key: &str, lifetime: Duration) -> Result<String, StorageError> {
        self.answer(key)?;
        Ok(format!(
            "{}?expires-in={}",
            self.public_url(key),
            lifetime.as_secs()
        ))
    }

    async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        self.answer(key)?;
        Ok(self.objects().contains_key(key))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.answer(key)?;
        self.objects().remove(key);
        Ok(())
    }

    async fn delete_keys(&self, keys: &[String]) -> Result<(), StorageError> {
        self.answer(keys.first().map_or("", String::as_str))?;
        let mut objects = self.objects();
        for key in keys {
            objects.remove(key);
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.answer(prefix)?;
        Ok(self
            .objects()
            .range(prefix.to_string()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, object)| ListedObject {
                key: key.clone(),
                age: object.written.elapsed(),
            })
            .collect())
    }

    async fn start_multipart(&self, key: &str) -> Result<String, StorageError> {
        self.answer(key)?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let pending = PendingMultipart {
            key: key.to_string(),
            parts: BTreeMap::new(),
        };
        self.uploads().insert(id.clone(), pending);
        Ok(id)
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        bytes: Bytes,
    ) -> Result<UploadedPart, StorageError> {
        self.answer(key)?;
        let mut uploads = self.uploads();
        let pending = uploads
            .get_mut(upload_id)
            .filter(|p| p.key == key)
            .ok_or_else(|| Self::no_upload(key, upload_id))?;
        let part = UploadedPart {
            number,
            etag: format!("\"{number}-{}\"", bytes.len()),
            bytes: bytes.len() as u64,
        };
        pending.parts.insert(number, bytes);
        Ok(part)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StorageError> {
        self.answer(key)?;
        let mut uploads = self.uploads();
        let stored = &uploads
            .get(upload_id)
            .filter(|p| p.key == key)
            .ok_or_else(|| Self::no_upload(key, upload_id))?
            .parts;
        let rejected = |detail: String| StorageError::Rejected {
            key: key.to_string(),
            detail,
        };
        let mut joined = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let bytes = stored
                .get(&part.number)
                .filter(|b| b.len() as u64 == part.bytes)
                .ok_or_else(|| rejected(format!("no part {} as named", part.number)))?;
            if index + 1 < parts.len() && part.bytes < MIN_PART_BYTES {
                return Err(rejected(format!("part {} is too small", part.number)));
            }
            joined.extend_from_slice(bytes);
        }
        uploads.remove(upload_id);
        drop(uploads);
        let headers = ObjectHeaders {
            content_type: "application/octet-stream",
            cache_control: "",
        };
        self.insert(key, joined.into(), headers);
        Ok(())
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        lifetime: Duration,
    ) -> Result<String, StorageError> {
        self.answer(key)?;
        Ok(format!(
            "{}?uploadId={upload_id}&partNumber={number}&expires-in={}",
            self.public_url(key),
            lifetime.as_secs()
        ))
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<UploadedPart>, StorageError> {
        self.answer(key)?;
        let uploads = self.uploads();
        let pending = uploads
            .get(upload_id)
            .filter(|p| p.key == key)
            .ok_or_else(|| Self::no_upload(key, upload_id))?;
        Ok(pending
            .parts
            .iter()
            .map(|(number, bytes)| UploadedPart {
                number: *number,
                etag: format!("\"{number}-{}\"", bytes.len()),
                bytes: bytes.len() as u64,
            })
            .collect())
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.answer(key)?;
        self.uploads().remove(upload_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAYLIST: ObjectHeaders<'static> = ObjectHeaders {
        content_type: "application/vnd.apple.mpegurl",
        cache_control: "public, max-age=60",
    };

    #[tokio::test]
    async fn objects_are_kept_listed_and_deleted_by_prefix() {
        let store = MemoryStore::new("memory://bucket/");
        let id = uuid::Uuid::now_v7();
        for key in ["1/master.m3u8", "2/master.m3u8", "2/720p/index.m3u8"] {
            let key = format!("videos/{id}/{key}");
            store
                .put(&key, Bytes::from_static(b"#EXTM3U"), PLAYLIST)
                .await
                .unwrap();
        }
        store
            .put("videos/other", Bytes::new(), PLAYLIST)
            .await
            .unwrap();
        let master = format!("videos/{id}/2/master.m3u8");
        assert_eq!(
            store.public_url(&master),
            format!("memory://bucket/{master}")
        );
        let stored = store.object(&master).unwrap();
        assert_eq!(stored.bytes, Bytes::from_static(b"#EXTM3U"));
        assert_eq!(stored.cache_control, "public, max-age=60");

        let listed = store.list(&format!("videos/{id}/")).await.unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(
            store
                .delete_claims_before(id, 2, &Default::default())
                .await
                .unwrap(),
            1
        );
        assert!(
            !store
                .exists(&format!("videos/{id}/1/master.m3u8"))
                .await
                .unwrap()
        );
        assert!(store.exists(&master).await.unwrap());
        assert_eq!(
            store.delete_prefix(&format!("videos/{id}/")).await.unwrap(),
            2
        );
        assert_eq!(store.keys(), ["videos/other"]);
    }

    #[tokio::test]
    async fn an_outage_fails_every_request_as_unavailable_until_it_ends() {
        let store = MemoryStore::new("memory://bucket");
        store.put("a", Bytes::new(), PLAYLIST).await.unwrap();
        store.set_unavailable(true);
        assert!(store.check().await.unwrap_err().is_transient());
        assert!(store.get_bytes("a").await.unwrap_err().is_transient());
        assert!(
            store
                .put("b", Bytes::new(), PLAYLIST)
                .await
                .unwrap_err()
                .is_transient()
        );
        store.set_unavailable(false);
        assert!(store.get_bytes("a").await.unwrap().is_some());
        assert!(store.get_bytes("b").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_missing_object_downloads_as_not_found_and_leaves_no_file() {
        let store = MemoryStore::new("memory://bucket");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload");
        let error = store.download("sources/x", &path).await.unwrap_err();
        assert!(matches!(error, StorageError::NotFound { .. }), "{error:?}");
        assert!(!path.exists());
        store
            .put("sources/x", Bytes::from_static(b"video"), PLAYLIST)
            .await
            .unwrap();
        assert_eq!(store.download("sources/x", &path).await.unwrap(), 5);
        assert_eq!(std::fs::read(&path).unwrap(), b"video");
    }
}
