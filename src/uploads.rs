//! Where an upload waits until its conversion ends, and the one place that knows it.
//!
//! An upload is a file in the upload directory of the machine that received it, named by the
//! server-made id only (never by anything a client sent). When the API runs apart from the
//! workers (`--role api`), it is staged in the bucket under `sources/{id}` instead, and the
//! worker that claims the job fetches it into its own upload directory. The database row
//! records which (`source_key`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use crate::storage::{ObjectStore, SOURCES_PREFIX, StorageError, source_key};

/// A video's upload, where its row says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The video.
    pub id: Uuid,
    /// Where it waits.
    pub location: UploadLocation,
}

/// Where an upload waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadLocation {
    /// In the upload directory of the machine that received it.
    Local,
    /// In the bucket, at this key, for a worker on any machine.
    Staged {
        /// The object's key: `sources/{id}`.
        key: String,
    },
}

impl Upload {
    /// The upload of video `id`, staged at `source_key` when there is one (the row's column).
    pub fn of(id: Uuid, source_key: Option<&str>) -> Upload {
        let location = match source_key {
            Some(key) => UploadLocation::Staged {
                key: key.to_string(),
            },
            None => UploadLocation::Local,
        };
        Upload { id, location }
    }

    /// The key it is staged at, if it is.
    pub fn staged_key(&self) -> Option<&str> {
        match &self.location {
            UploadLocation::Staged { key } => Some(key),
            UploadLocation::Local => None,
        }
    }
}

/// The uploads of this process: its upload directory, and the bucket uploads are staged in.
#[derive(Debug, Clone)]
pub struct Uploads {
    dir: PathBuf,
    store: Arc<dyn ObjectStore>,
}

impl Uploads {
    /// Uploads kept in `dir`, or staged in `store`.
    pub fn new(dir: PathBuf, store: Arc<dyn ObjectStore>) -> Uploads {
        Uploads { dir, store }
    }

    /// The bucket uploads are staged in.
    pub fn store(&self) -> &dyn ObjectStore {
        self.store.as_ref()
    }

    /// The upload directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file the upload of video `id` is kept in on this machine (also a staged upload's
    /// local copy, once fetched).
    pub fn path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.upload"))
    }

    /// Where a staged upload is fetched to (or an import downloaded to), until it is whole.
    pub fn partial_path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.upload.partial"))
    }

    /// Moves the received file of video `id` into the bucket, for workers on other machines;
    /// the local file is removed whether or not that succeeds.
    pub async fn stage(&self, id: Uuid) -> Result<Upload, StorageError> {
        let key = source_key(id);
        let path = self.path(id);
        let headers = crate::storage::ObjectHeaders {
            content_type: "application/octet-stream",
            cache_control: "private, no-store",
        };
        let stored = self.store.put_file(&key, &path, headers).await;
        remove_file(&path).await;
        stored?;
        Ok(Upload::of(id, Some(&key)))
    }

    /// The file to convert: the local one, or a staged upload fetched into the upload
    /// directory (once; a later call finds the copy). `NotFound` when the upload is gone.
    pub async fn fetch(&self, upload: &Upload) -> Result<PathBuf, StorageError> {
        let path = self.path(upload.id);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        match &upload.location {
            UploadLocation::Local => Err(StorageError::NotFound {
                key: path.display().to_string(),
            }),
            UploadLocation::Staged { key } => {
                // Under another name until whole: a copy cut short by a crash is never taken
                // for the upload.
                let partial = self.partial_path(upload.id);
                let bytes = self.store.download(key, &partial).await?;
                tokio::fs::rename(&partial, &path)
                    .await
                    .map_err(|e| StorageError::local_file(&path, e))?;
                tracing::debug!(bytes, "staged upload fetched");
                Ok(path)
            }
        }
    }

    /// Whether the upload is still there to be converted again.
    pub async fn is_kept(&self, upload: &Upload) -> Result<bool, StorageError> {
        match &upload.location {
            UploadLocation::Staged { key } => self.store.exists(key).await,
            UploadLocation::Local => Ok(tokio::fs::try_exists(self.path(upload.id))
                .await
                .unwrap_or(false)),
        }
    }

    /// The upload is needed no more: removes the local file and the staged object, if any.
    /// A failure is logged; the janitor tries again later.
    pub async fn discard(&self, upload: &Upload) {
        let _ = self.discard_local(upload.id).await;
        if let Some(key) = upload.staged_key() {
            if let Err(error) = self.store.delete(key).await {
                tracing::warn!(%error, "could not remove the staged upload");
            }
        }
    }

    /// For a staged upload, removes this machine's copy: the next attempt may run anywhere
    /// and fetches it again. A local upload stays.
    pub async fn drop_local_copy(&self, upload: &Upload) {
        if upload.staged_key().is_some() {
            let _ = self.discard_local(upload.id).await;
        }
    }

    /// Removes this machine's file of video `id` (and a fetch of it cut short), if any;
    /// whether it removed one.
    pub async fn discard_local(&self, id: Uuid) -> bool {
        let partial = remove_file(&self.partial_path(id)).await;
        remove_file(&self.path(id)).await || partial
    }

    /// Every upload file in the upload directory (and fetch cut short): its video, and how
    /// long ago it was last written. Other files are not uploads and are left alone.
    pub async fn local_files(&self) -> std::io::Result<Vec<(Uuid, Duration)>> {
        let mut files = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".partial").or(Some(n)))
                .and_then(|n| n.strip_suffix(".upload"))
                .and_then(|stem| Uuid::parse_str(stem).ok())
            else {
                continue;
            };
            let age = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            files.push((id, age));
        }
        Ok(files)
    }

    /// Every upload staged in the bucket: its video, and how long ago it was written.
    pub async fn staged(&self) -> Result<Vec<(Uuid, Duration)>, StorageError> {
        Ok(self
            .store
            .list(SOURCES_PREFIX)
            .await?
            .into_iter()
            .filter_map(|object| {
                let id = object.key.strip_prefix(SOURCES_PREFIX)?;
                Some((Uuid::parse_str(id).ok()?, object.age))
            })
            .collect())
    }

    /// Removes the staged upload of video `id`.
    pub async fn discard_staged(&self, id: Uuid) -> Result<(), StorageError> {
        self.store.delete(&source_key(id)).await
    }
}

/// Removes a file, and says whether it did; one already gone is fine, any other failure is
/// logged.
async fn remove_file(path: &Path) -> bool {
    match tokio::fs::remove_file(path).await {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "could not remove the upload");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    fn uploads() -> (tempfile::TempDir, Arc<MemoryStore>, Uploads) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryStore::new("memory://bucket"));
        let uploads = Uploads::new(dir.path().to_path_buf(), store.clone());
        (dir, store, uploads)
    }

    #[tokio::test]
    async fn a_staged_upload_leaves_this_machine_and_comes_back_where_a_worker_needs_it() {
        let (_dir, store, uploads) = uploads();
        let id = Uuid::now_v7();
        std::fs::write(uploads.path(id), b"the video").unwrap();

        let upload = uploads.stage(id).await.unwrap();
        assert_eq!(upload.staged_key(), Some(source_key(id).as_str()));
        assert!(!uploads.path(id).exists(), "the local file stays behind");
        assert_eq!(store.keys(), [source_key(id)]);
        assert!(uploads.is_kept(&upload).await.unwrap());
        assert_eq!(uploads.staged().await.unwrap()[0].0, id);

        // A fetch cut short by a crash is not taken for the upload, and is swept as one.
        std::fs::write(uploads.partial_path(id), b"the vi").unwrap();
        assert_eq!(uploads.local_files().await.unwrap()[0].0, id);
        let path = uploads.fetch(&upload).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"the video");
        assert!(!uploads.partial_path(id).exists());
        uploads.drop_local_copy(&upload).await;
        assert!(!path.exists());
        assert!(uploads.is_kept(&upload).await.unwrap());

        uploads.discard(&upload).await;
        assert!(store.keys().is_empty());
        assert!(!uploads.is_kept(&upload).await.unwrap());
        let gone = uploads.fetch(&upload).await.unwrap_err();
        assert!(matches!(gone, StorageError::NotFound { .. }), "{gone:?}");
    }

    #[tokio::test]
    async fn a_local_upload_stays_on_its_machine() {
        let (_dir, store, uploads) = uploads();
        let id = Uuid::now_v7();
        std::fs::write(uploads.path(id), b"the video").unwrap();
        std::fs::write(uploads.dir().join("notes.txt"), b"not an upload").unwrap();
        std::fs::write(uploads.dir().join("x.upload"), b"not a video's").unwrap();
        let upload = Upload::of(id, None);

        assert_eq!(uploads.fetch(&upload).await.unwrap(), uploads.path(id));
        uploads.drop_local_copy(&upload).await;
        assert!(uploads.is_kept(&upload).await.unwrap());
        let files = uploads.local_files().await.unwrap();
        assert_eq!(files.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [id]);

        uploads.discard(&upload).await;
        assert!(!uploads.is_kept(&upload).await.unwrap());
        assert!(matches!(
            uploads.fetch(&upload).await,
            Err(StorageError::NotFound { .. })
        ));
        assert!(store.keys().is_empty());
    }

    #[tokio::test]
    async fn staging_into_an_unavailable_bucket_fails_and_keeps_nothing() {
        let (_dir, store, uploads) = uploads();
        let id = Uuid::now_v7();
        std::fs::write(uploads.path(id), b"the video").unwrap();
        store.set_unavailable(true);
        assert!(uploads.stage(id).await.unwrap_err().is_transient());
        assert!(!uploads.path(id).exists());
    }
}
