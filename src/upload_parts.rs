//! A resumable upload's bytes, kept where every API node can continue them: a multipart upload
//! in the bucket, in parts of [`PART_BYTES`], and the bytes past the last part (fewer than a
//! part: S3 wants at least 5 MiB in every part but the last) in an object of their own, the
//! tail. A request that continues the upload reads the tail back first.
//!
//! [`append`] takes a request body at the upload's offset and keeps as much of it as arrived,
//! also when the body breaks off: the protocol (tus) then answers the new offset, and the
//! client resumes from there. The state ([`StoredUpload`]) is the caller's to record (in the
//! database), after every part, through the callback.

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::storage::{ObjectHeaders, ObjectStore, StorageError, UploadedPart};

/// The size of every part but the last: above S3's 5 MiB least, and the most a request holds
/// in memory.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Where a resumable upload's bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUpload {
    /// The key the whole upload lands at when complete.
    pub key: String,
    /// The multipart upload that holds its parts.
    pub multipart_id: String,
    /// The parts stored, in order, each [`PART_BYTES`] long.
    pub parts: Vec<UploadedPart>,
    /// How many bytes past the parts are in the tail object.
    pub tail_bytes: u64,
    /// The size of the whole upload.
    pub length: u64,
}

impl StoredUpload {
    /// An empty upload of `length` bytes to `key`, in multipart upload `multipart_id`.
    pub fn new(key: String, multipart_id: String, length: u64) -> StoredUpload {
        StoredUpload {
            key,
            multipart_id,
            parts: Vec::new(),
            tail_bytes: 0,
            length,
        }
    }

    /// The bytes stored: the offset a client continues at.
    pub fn offset(&self) -> u64 {
        parts_bytes(self) + self.tail_bytes
    }

    /// Whether every byte is stored.
    pub fn is_whole(&self) -> bool {
        self.offset() == self.length
    }

    /// The key of the tail object.
    pub fn tail_key(&self) -> String {
        format!("{}.tail", self.key)
    }
}

/// Why [`append`] stopped before the body's end.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The body brought more than the upload's length.
    #[error("the body goes past the upload's length")]
    TooLong,
    /// The client's body broke off (or the caller's stream gave up on it, e.g. too slow).
    #[error("{0}")]
    Body(String),
    /// The bucket failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

const TAIL_HEADERS: ObjectHeaders<'static> = ObjectHeaders {
    content_type: "application/octet-stream",
    cache_control: "no-store",
};

/// Appends `body` to `upload`: a part each time [`PART_BYTES`] have come, `on_part` told of the
/// new state after each; at the end, the rest as the tail, or as the last part when the upload
/// is whole. Returns the state at the end, and why it stopped early if it did: what arrived
/// before is kept all the same (bar bytes past the length).
pub async fn append<S, E>(
    store: &dyn ObjectStore,
    upload: &StoredUpload,
    body: S,
    on_part: &mut (dyn FnMut(&StoredUpload) + Send),
) -> (StoredUpload, Result<(), AppendError>)
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: std::fmt::Display,
{
    let mut state = upload.clone();
    let mut buffer = BytesMut::new();
    if state.tail_bytes > 0 {
        match store.get_bytes(&state.tail_key()).await {
            Ok(Some(tail)) if tail.len() as u64 >= state.tail_bytes => {
                buffer.extend_from_slice(&tail[..state.tail_bytes as usize]);
            }
            Ok(_) => {
                let missing = StorageError::NotFound {
                    key: state.tail_key(),
                };
                return (state, Err(missing.into()));
            }
            Err(error) => return (state, Err(error.into())),
        }
    }
    let mut received = 0u64;
    let mut stopped = Ok(());
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                stopped = Err(AppendError::Body(error.to_string()));
                break;
            }
        };
        let room = state
            .length
            .saturating_sub(parts_bytes(&state) + buffer.len() as u64);
        if chunk.len() as u64 > room {
            buffer.extend_from_slice(&chunk[..room as usize]);
            received += room;
            stopped = Err(AppendError::TooLong);
            break;
        }
        buffer.extend_from_slice(&chunk);
        received += chunk.len() as u64;
        while buffer.len() >= PART_BYTES {
            let part = buffer.split_to(PART_BYTES).freeze();
            if let Err(error) = put_part(store, &mut state, part).await {
                return (state, Err(error.into()));
            }
            state.tail_bytes = 0;
            on_part(&state);
        }
    }
    if received == 0 {
        return (state, stopped);
    }
    // What is left: the last part of a whole upload, else the tail.
    let whole = parts_bytes(&state) + buffer.len() as u64 == state.length;
    let rest = buffer.freeze();
    let kept = if whole && !rest.is_empty() {
        put_part(store, &mut state, rest).await.map(|()| 0)
    } else if !rest.is_empty() {
        let size = rest.len() as u64;
        let key = state.tail_key();
        store.put(&key, rest, TAIL_HEADERS).await.map(|()| size)
    } else {
        Ok(0)
    };
    match kept {
        Ok(tail_bytes) => state.tail_bytes = tail_bytes,
        Err(error) => return (state, Err(error.into())),
    }
    (state, stopped)
}

/// Bytes in the parts stored.
fn parts_bytes(state: &StoredUpload) -> u64 {
    state.parts.iter().map(|p| p.bytes).sum()
}

async fn put_part(
    store: &dyn ObjectStore,
    state: &mut StoredUpload,
    bytes: Bytes,
) -> Result<(), StorageError> {
    let number = i32::try_from(state.parts.len() + 1).unwrap_or(i32::MAX);
    let part = store
        .put_part(&state.key, &state.multipart_id, number, bytes)
        .await?;
    state.parts.push(part);
    Ok(())
}

/// Joins a whole upload's parts into its object and removes its tail. Done again (after a
/// later step failed, say), it finds the object joined and leaves it.
pub async fn complete(store: &dyn ObjectStore, upload: &StoredUpload) -> Result<(), StorageError> {
    let joined = store
        .complete_multipart(&upload.key, &upload.multipart_id, &upload.parts)
        .await;
    match joined {
        Err(StorageError::NotFound { .. }) if store.exists(&upload.key).await? => {}
        other => other?,
    }
    store.delete(&upload.tail_key()).await
}

/// Drops an upload's parts and tail.
pub async fn discard(store: &dyn ObjectStore, upload: &StoredUpload) -> Result<(), StorageError> {
    store
        .abort_multipart(&upload.key, &upload.multipart_id)
        .await?;
    store.delete(&upload.tail_key()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    fn source(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// `bytes` as a body of `chunk`-sized pieces, breaking off after them when `broken`.
    fn body(
        bytes: &[u8],
        chunk: usize,
        broken: bool,
    ) -> impl Stream<Item = Result<Bytes, String>> + Send + use<> {
        let mut pieces: Vec<Result<Bytes, String>> = bytes
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        if broken {
            pieces.push(Err("connection reset".into()));
        }
        futures_util::stream::iter(pieces)
    }

    async fn started(store: &MemoryStore, length: u64) -> StoredUpload {
        let key = "sources/upload".to_string();
        let id = store.start_multipart(&key).await.unwrap();
        StoredUpload::new(key, id, length)
    }

    #[tokio::test]
    async fn an_upload_cut_twice_resumes_at_its_offsets_and_arrives_whole() {
        let store = MemoryStore::new("memory://b");
        let data = source(2 * PART_BYTES + PART_BYTES / 2 + 123);
        let mut state = started(&store, data.len() as u64).await;
        let mut parts_told = Vec::new();
        let mut told = |s: &StoredUpload| parts_told.push(s.parts.len());

        // Cut after 3 MiB and a bit: no part yet, all of it kept as the tail.
        let cut = 3 * 1024 * 1024 + 7;
        let (next, stopped) =
            append(&store, &state, body(&data[..cut], 65_536, true), &mut told).await;
        assert!(matches!(stopped, Err(AppendError::Body(_))), "{stopped:?}");
        assert_eq!(
            (next.offset(), next.parts.len(), next.tail_bytes),
            (cut as u64, 0, cut as u64)
        );
        state = next;

        // From there, cut again past the first part: a part, and the rest as the new tail.
        let cut2 = PART_BYTES + 1_000_000;
        let (next, stopped) = append(
            &store,
            &state,
            body(&data[cut..cut2], 100_000, true),
            &mut told,
        )
        .await;
        assert!(stopped.is_err());
        assert_eq!(next.offset(), cut2 as u64);
        assert_eq!(next.parts.len(), 1);
        assert_eq!(next.tail_bytes, (cut2 - PART_BYTES) as u64);
        state = next;

        // The rest in one request: whole, the end as the last (short) part.
        let (next, stopped) = append(
            &store,
            &state,
            body(&data[cut2..], 1 << 20, false),
            &mut told,
        )
        .await;
        stopped.unwrap();
        assert!(next.is_whole());
        assert_eq!((next.parts.len(), next.tail_bytes), (3, 0));
        assert_eq!(parts_told, [1, 2]);
        complete(&store, &next).await.unwrap();
        // Once more, as a request repeated after a later step failed: the object stays.
        complete(&store, &next).await.unwrap();
        assert_eq!(
            store.get_bytes("sources/upload").await.unwrap().unwrap(),
            data
        );
        assert!(!store.exists(&next.tail_key()).await.unwrap());
        assert_eq!(store.multipart_uploads(), 0);
    }

    #[tokio::test]
    async fn bytes_past_the_length_are_refused_and_the_rest_kept() {
        let store = MemoryStore::new("memory://b");
        let data = source(1000);
        let state = started(&store, 600).await;
        let (next, stopped) = append(&store, &state, body(&data, 256, false), &mut |_| {}).await;
        assert!(matches!(stopped, Err(AppendError::TooLong)), "{stopped:?}");
        assert!(next.is_whole());
        complete(&store, &next).await.unwrap();
        assert_eq!(
            store.get_bytes("sources/upload").await.unwrap().unwrap(),
            data[..600]
        );
    }

    #[tokio::test]
    async fn an_empty_body_changes_nothing_and_discarding_leaves_nothing() {
        let store = MemoryStore::new("memory://b");
        let data = source(5000);
        let state = started(&store, 10_000).await;
        let (state, _) = append(&store, &state, body(&data, 5000, false), &mut |_| {}).await;
        let (same, stopped) = append(&store, &state, body(&[], 1, false), &mut |_| {}).await;
        stopped.unwrap();
        assert_eq!(same, state);
        discard(&store, &same).await.unwrap();
        assert_eq!(store.multipart_uploads(), 0);
        assert!(store.keys().is_empty(), "{:?}", store.keys());
    }
}
