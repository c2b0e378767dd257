//! A [`Sink`] that publishes a conversion's output to an [`ObjectStore`] while the conversion
//! runs.
//!
//! `put` is called on the conversion's (blocking) thread: a segment is handed to an async
//! upload task at once (at most `concurrency` in flight, so memory stays bounded); a playlist
//! is uploaded only after every upload before it succeeded, and the master playlist last, so
//! a published URL never names a missing object.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::object_store::{ObjectHeaders, ObjectStore, StorageError};
use crate::sink::{HlsObject, ObjectKind, Sink, SinkError};

/// Cache-Control of segments: they never change once published.
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of playlists: short, so a re-published video is seen soon.
const PLAYLIST_CACHE: &str = "public, max-age=60";

/// An upload task's outcome: the task may also have panicked or been aborted.
type Upload = JoinHandle<Result<(), StorageError>>;
/// How long a sink dropped early waits for its uploads in flight before aborting them.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Uploads under one key prefix.
pub struct StoreSink {
    runtime: Handle,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    slots: Arc<Semaphore>,
    in_flight: Vec<Upload>,
    uploaded_bytes: Arc<AtomicU64>,
}

impl StoreSink {
    /// A sink writing `prefix + object.path`, with at most `concurrency` uploads at once.
    /// Must be used from a thread outside the runtime (e.g. `spawn_blocking`).
    pub fn new(
        runtime: Handle,
        store: Arc<dyn ObjectStore>,
        prefix: String,
        concurrency: usize,
    ) -> StoreSink {
        StoreSink {
            runtime,
            store,
            prefix,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            in_flight: Vec::new(),
            uploaded_bytes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Bytes stored so far.
    pub fn uploaded_bytes(&self) -> u64 {
        self.uploaded_bytes.load(Ordering::Relaxed)
    }

    fn wait_for_uploads(&mut self) -> Result<(), SinkError> {
        let pending = std::mem::take(&mut self.in_flight);
        let mut first_error = None;
        for task in pending {
            if let Err(error) = self.outcome(task) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Fails early when an upload already failed, instead of encoding on for nothing.
    fn check_finished(&mut self) -> Result<(), SinkError> {
        let (finished, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|t| t.is_finished());
        self.in_flight = running;
        for task in finished {
            self.outcome(task)?;
        }
        Ok(())
    }

    /// Waits for one upload: its storage error, or why its task ended without one.
    fn outcome(&self, task: Upload) -> Result<(), SinkError> {
        match self.runtime.block_on(task) {
            Ok(stored) => Ok(stored?),
            Err(ended) => Err(ended.into()),
        }
    }
}

/// A conversion that stopped early leaves uploads in flight. They are let finish (for up to
/// [`STOP_GRACE`]) rather than aborted: an aborted request whose body S3 already has may still
/// be stored, after the job has removed the video's objects. Only uploads that outlast the
/// grace, such as ones retrying through an S3 outage, are aborted.
impl Drop for StoreSink {
    fn drop(&mut self) {
        let pending = std::mem::take(&mut self.in_flight);
        if pending.is_empty() {
            return;
        }
        self.runtime.block_on(async move {
            let deadline = tokio::time::Instant::now() + STOP_GRACE;
            for mut task in pending {
                if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                    task.abort();
                    let _ = task.await;
                }
            }
        });
    }
}

impl Sink for StoreSink {
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError> {
        self.check_finished()?;
        let key = format!("{}{}", self.prefix, object.path);
        let content_type = object.content_type();
        let size = object.bytes.len() as u64;
        let bytes = Bytes::from(object.bytes);
        let store = Arc::clone(&self.store);
        let counter = Arc::clone(&self.uploaded_bytes);
        match object.kind {
            ObjectKind::Segment { .. } => {
                let permit = self
                    .runtime
                    .block_on(Arc::clone(&self.slots).acquire_owned())?;
                self.in_flight.push(self.runtime.spawn(async move {
                    let _permit = permit;
                    let headers = ObjectHeaders {
                        content_type,
                        cache_control: SEGMENT_CACHE,
                    };
                    store.put(&key, bytes, headers).await?;
                    counter.fetch_add(size, Ordering::Relaxed);
                    metrics::counter!("hls_bytes_uploaded_total").increment(size);
                    Ok(())
                }));
            }
            ObjectKind::MediaPlaylist { .. } | ObjectKind::MasterPlaylist => {
                self.wait_for_uploads()?;
                let headers = ObjectHeaders {
                    content_type,
                    cache_control: PLAYLIST_CACHE,
                };
                self.runtime.block_on(store.put(&key, bytes, headers))?;
                counter.fetch_add(size, Ordering::Relaxed);
                metrics::counter!("hls_bytes_uploaded_total").increment(size);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.wait_for_uploads()
    }
}
