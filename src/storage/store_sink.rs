//! A [`Sink`] that publishes a conversion's output to an [`ObjectStore`] while the conversion
//! runs.
//!
//! `put` is called on the conversion's (blocking) thread and never waits for a playlist:
//! - a segment is handed to an upload task at once; at most `concurrency` are in flight, so
//!   memory stays bounded (`put` waits for a free slot);
//! - a playlist goes to one publishing task, which uploads playlists one after the other, each
//!   once every segment put before it is stored. So a playlist never names a missing segment,
//!   a master playlist never a missing media playlist, and an older version of a growing
//!   playlist never lands after a newer one, while the encoders run on.
//!
//! - the final version of a playlist is stored at least a second after its last growing
//!   version ([`OVERWRITE_SPACING`]), so that its `Last-Modified` is later;
//! - a resume point takes the playlists' path too: it is handed on (`on_resume_point`) once
//!   every segment put before it is stored, so a point never names a missing segment.
//!
//! [`Sink::finish`] waits for all of it. A sink dropped before (a failed or canceled
//! conversion) publishes no further playlist and lets its uploads in flight finish.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::object_store::{ObjectHeaders, ObjectStore, StorageError};
use hls_ladder::ResumePoint;
use hls_ladder::sink::{FileObject, HlsObject, ObjectKind, Sink, SinkError};

/// Cache-Control of segments: they never change once published.
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of a growing playlist: a player (or a CDN) reads it again within a second.
const GROWING_PLAYLIST_CACHE: &str = "public, max-age=1";
/// Cache-Control of a final playlist: it never changes at its key (every claim of a job
/// publishes under a prefix of its own), so a CDN may keep it for a day.
const FINAL_PLAYLIST_CACHE: &str = "public, max-age=86400";
/// Cache-Control of what captions added later change (`PUT .../captions/{language}`): the
/// final master playlist and the subtitle renditions, published again at the same key.
pub const CHANGEABLE_CACHE: &str = "public, max-age=60";
/// How long after a growing playlist is stored its final version may overwrite it. S3 keeps
/// `Last-Modified` in whole seconds, and some stores answer a player's revalidation
/// (`If-None-Match` and `If-Modified-Since`, as browsers send them) from `If-Modified-Since`
/// alone, against RFC 9110 13.1.3: LocalStack 4 answers `304 Not Modified` for a final
/// playlist stored within the same second as the growing one the player holds. The player
/// then keeps the growing version and waits at its end forever. A second later, the final
/// version is newer to any store.
const OVERWRITE_SPACING: Duration = Duration::from_secs(1);
/// How long a sink dropped early waits for its uploads in flight before aborting them.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// An upload task's outcome: the task may also have panicked or been aborted.
type Upload = JoinHandle<Result<(), StorageError>>;
/// Told of every playlist once it is stored.
type OnStored = Arc<dyn Fn(&ObjectKind) + Send + Sync>;
/// Told of every resume point once the segments it names are stored.
type OnResumePoint = Arc<dyn Fn(Arc<ResumePoint>) + Send + Sync>;

/// The Cache-Control an object is stored with.
fn cache_control(kind: &ObjectKind) -> &'static str {
    match kind {
        // Each is put once under its claim's prefix, like a segment.
        ObjectKind::Segment { .. }
        | ObjectKind::Download { .. }
        | ObjectKind::Poster { .. }
        | ObjectKind::StoryboardSheet { .. }
        | ObjectKind::Storyboard => SEGMENT_CACHE,
        growing if growing.is_growing() => GROWING_PLAYLIST_CACHE,
        ObjectKind::MasterPlaylist { .. }
        | ObjectKind::SubtitleSegment { .. }
        | ObjectKind::SubtitlePlaylist { .. } => CHANGEABLE_CACHE,
        _ => FINAL_PLAYLIST_CACHE,
    }
}

/// Uploads under one key prefix.
pub struct StoreSink {
    runtime: Handle,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    slots: Arc<Semaphore>,
    /// Segments put so far; the nth is number n - 1 in the ledger.
    segments_put: u64,
    in_flight: Vec<Upload>,
    ledger: Arc<SegmentLedger>,
    /// Playlists for the publishing task, which is started by the first one.
    playlists: Option<mpsc::UnboundedSender<PlaylistUpload>>,
    publisher: Option<Upload>,
    /// Set when the sink is dropped early: queued playlists are not published any more.
    abandoned: Arc<AtomicBool>,
    uploaded_bytes: Arc<AtomicU64>,
    on_stored: OnStored,
    on_resume_point: OnResumePoint,
}

impl StoreSink {
    /// A sink writing `prefix + object.path`, with at most `concurrency` segment uploads at
    /// once. Must be used from a thread outside the runtime (e.g. `spawn_blocking`).
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
            segments_put: 0,
            in_flight: Vec::new(),
            ledger: Arc::new(SegmentLedger::default()),
            playlists: None,
            publisher: None,
            abandoned: Arc::new(AtomicBool::new(false)),
            uploaded_bytes: Arc::new(AtomicU64::new(0)),
            on_stored: Arc::new(|_| {}),
            on_resume_point: Arc::new(|_| {}),
        }
    }

    /// Calls `on_resume_point` (on a runtime thread) with every resume point the conversion
    /// offers, once every segment it names is stored: to keep it for a later attempt.
    pub fn on_resume_point(
        mut self,
        on_resume_point: impl Fn(Arc<ResumePoint>) + Send + Sync + 'static,
    ) -> Self {
        self.on_resume_point = Arc::new(on_resume_point);
        self
    }

    /// Calls `on_stored` (on a runtime thread) with the kind of every playlist once it is
    /// stored: for instance to learn when a progressive conversion became playable.
    pub fn on_stored(mut self, on_stored: impl Fn(&ObjectKind) + Send + Sync + 'static) -> Self {
        self.on_stored = Arc::new(on_stored);
        self
    }

    /// Bytes stored so far.
    pub fn uploaded_bytes(&self) -> u64 {
        self.uploaded_bytes.load(Ordering::Relaxed)
    }

    fn put_segment(
        &mut self,
        key: String,
        bytes: Bytes,
        kind: &ObjectKind,
    ) -> Result<(), SinkError> {
        let permit = self
            .runtime
            .block_on(Arc::clone(&self.slots).acquire_owned())?;
        let number = self.segments_put;
        self.segments_put += 1;
        let store = Arc::clone(&self.store);
        let ledger = Arc::clone(&self.ledger);
        let counter = Arc::clone(&self.uploaded_bytes);
        let headers = ObjectHeaders {
            content_type: "video/mp2t",
            cache_control: cache_control(kind),
        };
        self.in_flight.push(self.runtime.spawn(async move {
            let _permit = permit;
            let size = bytes.len() as u64;
            match store.put(&key, bytes, headers).await {
                Ok(()) => {
                    counter.fetch_add(size, Ordering::Relaxed);
                    metrics::counter!("hls_bytes_uploaded_total").increment(size);
                    ledger.stored(number);
                    Ok(())
                }
                Err(error) => {
                    ledger.failed();
                    Err(error)
                }
            }
        }));
        Ok(())
    }

    fn put_playlist(&mut self, key: String, bytes: Bytes, kind: ObjectKind) {
        self.publish_in_order(Publication::Playlist { key, bytes, kind });
    }

    /// Queues `what` for the publishing task, after every segment put so far.
    fn publish_in_order(&mut self, what: Publication) {
        let upload = PlaylistUpload {
            what,
            after: self.segments_put,
        };
        let sender = self.playlists.get_or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let task = publish_playlists(
                Arc::clone(&self.store),
                receiver,
                self.ledger.state.subscribe(),
                Arc::clone(&self.abandoned),
                Arc::clone(&self.uploaded_bytes),
                Arc::clone(&self.on_stored),
                Arc::clone(&self.on_resume_point),
            );
            self.publisher = Some(self.runtime.spawn(task));
            sender
        });
        // The task ends early only after a failure, which the next check reports.
        let _ = sender.send(upload);
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
        if self.publisher.as_ref().is_some_and(|p| p.is_finished()) {
            let publisher = self.publisher.take().expect("just seen");
            self.outcome(publisher)?;
            return Err("the playlist publisher stopped early".into());
        }
        Ok(())
    }

    /// Waits for one task: its storage error, or why it ended without one.
    fn outcome(&self, task: Upload) -> Result<(), SinkError> {
        match self.runtime.block_on(task) {
            Ok(stored) => Ok(stored?),
            Err(ended) => Err(ended.into()),
        }
    }
}

/// A conversion that stopped early leaves uploads in flight. They are let finish (for up to
/// `STOP_GRACE`) rather than aborted: an aborted request whose body S3 already has may still
/// be stored, after the job has removed the video's objects. Only uploads that outlast the
/// grace, such as ones retrying through an S3 outage, are aborted. Playlists not yet
/// published are dropped.
impl Drop for StoreSink {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::SeqCst);
        self.playlists = None;
        let mut pending = std::mem::take(&mut self.in_flight);
        pending.extend(self.publisher.take());
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
        let bytes = Bytes::from(object.bytes);
        match object.kind {
            ObjectKind::Segment { .. } => self.put_segment(key, bytes, &object.kind)?,
            kind => self.put_playlist(key, bytes, kind),
        }
        Ok(())
    }

    /// Streams the file to the store before returning (the conversion removes it then); it is
    /// put before the final playlists, so it is stored before the master names the video
    /// complete.
    fn put_file(&mut self, object: FileObject<'_>) -> Result<(), SinkError> {
        self.check_finished()?;
        let key = format!("{}{}", self.prefix, object.path);
        let headers = ObjectHeaders {
            content_type: object.kind.content_type(),
            cache_control: cache_control(&object.kind),
        };
        self.runtime
            .block_on(self.store.put_file(&key, object.file, headers))?;
        self.uploaded_bytes
            .fetch_add(object.bytes, Ordering::Relaxed);
        Ok(())
    }

    fn resume_point(&mut self, point: &ResumePoint) -> Result<(), SinkError> {
        self.check_finished()?;
        self.publish_in_order(Publication::ResumePoint(Arc::new(point.clone())));
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        // No playlist comes after this: the publisher ends once it published the last one.
        self.playlists = None;
        let mut first_error = None;
        for task in std::mem::take(&mut self.in_flight) {
            if let Err(error) = self.outcome(task) {
                first_error.get_or_insert(error);
            }
        }
        if let Some(publisher) = self.publisher.take() {
            if let Err(error) = self.outcome(publisher) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// A playlist, or a resume point, waiting to be published.
struct PlaylistUpload {
    what: Publication,
    /// How many segments were put before it: it waits until they are all stored.
    after: u64,
}

/// What the publishing task publishes in order.
enum Publication {
    /// A playlist to store.
    Playlist {
        key: String,
        bytes: Bytes,
        kind: ObjectKind,
    },
    /// A resume point to hand on.
    ResumePoint(Arc<ResumePoint>),
}

/// The publishing task: playlists in the order they were put, each once the segments put
/// before it are stored. Stops at the first failure (a segment's is its own task's to
/// report), and publishes nothing more once the sink is abandoned.
async fn publish_playlists(
    store: Arc<dyn ObjectStore>,
    mut playlists: mpsc::UnboundedReceiver<PlaylistUpload>,
    mut segments: watch::Receiver<Stored>,
    abandoned: Arc<AtomicBool>,
    uploaded_bytes: Arc<AtomicU64>,
    on_stored: OnStored,
    on_resume_point: OnResumePoint,
) -> Result<(), StorageError> {
    // When each growing playlist was last stored, by key.
    let mut growing_stored: HashMap<String, Instant> = HashMap::new();
    while let Some(playlist) = playlists.recv().await {
        let ready = segments
            .wait_for(|s| s.failed || s.prefix >= playlist.after)
            .await
            .map(|s| !s.failed);
        if !matches!(ready, Ok(true)) || abandoned.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (key, bytes, kind) = match playlist.what {
            Publication::Playlist { key, bytes, kind } => (key, bytes, kind),
            Publication::ResumePoint(point) => {
                on_resume_point(point);
                continue;
            }
        };
        let headers = ObjectHeaders {
            content_type: kind.content_type(),
            cache_control: cache_control(&kind),
        };
        let size = bytes.len() as u64;
        // A growing version that a newer growing one replaces within the second may be
        // answered for a little longer, until the next one: only the final version waits.
        if !kind.is_growing()
            && let Some(stored) = growing_stored.remove(&key)
        {
            tokio::time::sleep_until(stored + OVERWRITE_SPACING).await;
            if abandoned.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        store.put(&key, bytes, headers).await?;
        if kind.is_growing() {
            growing_stored.insert(key, Instant::now());
        }
        uploaded_bytes.fetch_add(size, Ordering::Relaxed);
        metrics::counter!("hls_bytes_uploaded_total").increment(size);
        on_stored(&kind);
    }
    Ok(())
}

/// Which segments are stored: every one numbered below `prefix`; `failed` once any failed.
#[derive(Debug, Clone, Copy, Default)]
struct Stored {
    prefix: u64,
    failed: bool,
}

/// The segment uploads' outcomes, as they come in any order.
#[derive(Default)]
struct SegmentLedger {
    /// Stored segments numbered at or above the prefix.
    beyond: Mutex<BTreeSet<u64>>,
    state: watch::Sender<Stored>,
}

impl SegmentLedger {
    fn stored(&self, number: u64) {
        let mut beyond = self.beyond.lock().unwrap_or_else(PoisonError::into_inner);
        beyond.insert(number);
        self.state.send_modify(|state| {
            while beyond.remove(&state.prefix) {
                state.prefix += 1;
            }
        });
    }

    fn failed(&self) {
        self.state.send_modify(|state| state.failed = true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    fn object(path: &str, kind: ObjectKind) -> HlsObject {
        HlsObject {
            path: path.into(),
            bytes: path.as_bytes().to_vec(),
            kind,
        }
    }

    fn segment(sequence: u64) -> HlsObject {
        object(
            &format!("360p/segment_{sequence:05}.ts"),
            ObjectKind::Segment {
                rendition: "360p".into(),
                sequence,
                duration: 2.0,
            },
        )
    }

    fn playlist(growing: bool) -> HlsObject {
        object(
            "360p/index.m3u8",
            ObjectKind::MediaPlaylist {
                rendition: "360p".into(),
                growing,
            },
        )
    }

    #[test]
    fn segments_then_playlists_land_with_their_cache_lifetimes_and_are_announced() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = Arc::new(MemoryStore::new("memory://b"));
        let announced = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&announced);
        let mut sink = StoreSink::new(runtime.handle().clone(), store.clone(), "v/1/".into(), 2)
            .on_stored(move |kind| seen.lock().unwrap().push(kind.clone()));
        sink.put(segment(1)).unwrap();
        sink.put(playlist(true)).unwrap();
        sink.put(object(
            "master.m3u8",
            ObjectKind::MasterPlaylist { growing: true },
        ))
        .unwrap();
        sink.put(segment(2)).unwrap();
        sink.put(playlist(false)).unwrap();
        sink.put(object(
            "master.m3u8",
            ObjectKind::MasterPlaylist { growing: false },
        ))
        .unwrap();
        sink.finish().unwrap();

        let cache = |key: &str| store.object(key).unwrap().cache_control;
        assert_eq!(cache("v/1/360p/segment_00001.ts"), SEGMENT_CACHE);
        // The final versions, not the growing ones, are what stays.
        assert_eq!(cache("v/1/360p/index.m3u8"), FINAL_PLAYLIST_CACHE);
        assert_eq!(cache("v/1/master.m3u8"), CHANGEABLE_CACHE);
        let kinds = announced.lock().unwrap().clone();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        assert_eq!(kinds[1], ObjectKind::MasterPlaylist { growing: true });
        assert_eq!(kinds[3], ObjectKind::MasterPlaylist { growing: false });
        assert!(sink.uploaded_bytes() > 0);
        drop(sink);
    }

    /// A store whose Last-Modified has whole seconds may answer a player holding the growing
    /// version "not modified": the final version lands a second later, growing ones at once.
    #[test]
    fn a_final_playlist_lands_a_second_after_its_growing_version_and_growing_ones_do_not_wait() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = Arc::new(MemoryStore::new("memory://b"));
        let stored = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&stored);
        let mut sink = StoreSink::new(runtime.handle().clone(), store.clone(), "v/1/".into(), 2)
            .on_stored(move |kind| seen.lock().unwrap().push((kind.clone(), Instant::now())));
        let master = |growing| object("master.m3u8", ObjectKind::MasterPlaylist { growing });
        sink.put(segment(1)).unwrap();
        sink.put(playlist(true)).unwrap();
        sink.put(master(true)).unwrap();
        sink.put(segment(2)).unwrap();
        sink.put(playlist(true)).unwrap();
        sink.put(playlist(false)).unwrap();
        sink.put(master(false)).unwrap();
        sink.finish().unwrap();

        let stored = stored.lock().unwrap().clone();
        let kinds: Vec<_> = stored.iter().map(|(kind, _)| kind.is_growing()).collect();
        assert_eq!(kinds, [true, true, true, false, false]);
        let at = |index: usize| stored[index].1;
        // The second growing version of the media playlist did not wait for the first.
        assert!(at(2) - at(0) < OVERWRITE_SPACING, "{stored:?}");
        // Each final version waited for its own key's last growing version.
        assert!(at(3) - at(2) >= OVERWRITE_SPACING, "{stored:?}");
        assert!(at(4) - at(1) >= OVERWRITE_SPACING, "{stored:?}");
        assert_eq!(
            store.object("v/1/360p/index.m3u8").unwrap().cache_control,
            FINAL_PLAYLIST_CACHE
        );
    }

    #[test]
    fn no_playlist_is_published_after_a_segment_failed_and_the_failure_is_reported() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = Arc::new(MemoryStore::new("memory://b"));
        let mut sink = StoreSink::new(runtime.handle().clone(), store.clone(), String::new(), 2);
        store.set_unavailable(true);
        sink.put(segment(1)).unwrap();
        // Reported here already when the segment failed first, else by `finish`.
        let early = sink.put(playlist(true));
        while !sink.in_flight.iter().all(|t| t.is_finished()) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The store is back, but the playlist names a segment that is not there.
        store.set_unavailable(false);
        let error = early
            .err()
            .or(sink.finish().err())
            .expect("the failure is reported");
        assert!(error.to_string().contains("unavailable"), "{error}");
        assert!(store.keys().is_empty(), "{:?}", store.keys());
    }

    #[test]
    fn the_ledger_counts_segments_stored_in_any_order() {
        let ledger = SegmentLedger::default();
        let state = ledger.state.subscribe();
        ledger.stored(1);
        assert_eq!(state.borrow().prefix, 0);
        ledger.stored(0);
        assert_eq!(state.borrow().prefix, 2);
        ledger.stored(3);
        ledger.stored(2);
        assert_eq!(state.borrow().prefix, 4);
        assert!(!state.borrow().failed);
        ledger.failed();
        assert!(state.borrow().failed);
    }
}
