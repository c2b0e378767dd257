//! Multipart uploads through the `ObjectStore` seam, the same checks against S3 (LocalStack)
//! and the in-memory store: parts joined in order into one object, the 5 MiB least size of
//! every part but the last, and an aborted upload gone.

use bytes::Bytes;
use hls_ladder_server::storage::{
    MIN_PART_BYTES, MemoryStore, ObjectStore, StorageError, UploadedPart,
};

use crate::helpers::{spawn_app_with, test_store};

/// Distinct bytes, so that a part out of order or twice shows.
fn bytes(len: u64, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

async fn multipart_uploads_join_their_parts(store: &dyn ObjectStore) {
    let key = "sources/multipart-test";
    let first = bytes(MIN_PART_BYTES, 1);
    let last = bytes(1000, 2);
    let upload = store.start_multipart(key).await.unwrap();
    // Parts may be stored in any order; completing names the order.
    let second = store.put_part(key, &upload, 2, last.clone()).await.unwrap();
    let one = store
        .put_part(key, &upload, 1, first.clone())
        .await
        .unwrap();
    assert_eq!((one.number, one.bytes), (1, MIN_PART_BYTES));
    assert!(
        !store.exists(key).await.unwrap(),
        "nothing before completion"
    );
    store
        .complete_multipart(key, &upload, &[one, second])
        .await
        .unwrap();
    let joined = store.get_bytes(key).await.unwrap().unwrap();
    assert_eq!(joined.len() as u64, MIN_PART_BYTES + 1000);
    assert!(joined[..first.len()] == first[..] && joined[first.len()..] == last[..]);

    // A part but the last under 5 MiB: refused, as S3 refuses it.
    let small = store.start_multipart("sources/too-small").await.unwrap();
    let parts: Vec<UploadedPart> = vec![
        store
            .put_part("sources/too-small", &small, 1, bytes(10, 3))
            .await
            .unwrap(),
        store
            .put_part("sources/too-small", &small, 2, bytes(10, 4))
            .await
            .unwrap(),
    ];
    let refused = store
        .complete_multipart("sources/too-small", &small, &parts)
        .await
        .unwrap_err();
    assert!(!refused.is_transient(), "{refused}");
    store
        .abort_multipart("sources/too-small", &small)
        .await
        .unwrap();

    // Aborted: its parts are gone, and aborting again is fine.
    let aborted = store.start_multipart("sources/aborted").await.unwrap();
    store
        .put_part("sources/aborted", &aborted, 1, bytes(10, 5))
        .await
        .unwrap();
    store
        .abort_multipart("sources/aborted", &aborted)
        .await
        .unwrap();
    let after = store
        .put_part("sources/aborted", &aborted, 2, bytes(10, 6))
        .await;
    assert!(
        matches!(after, Err(StorageError::NotFound { .. })),
        "{after:?}"
    );
    store
        .abort_multipart("sources/aborted", &aborted)
        .await
        .unwrap();
    assert!(!store.exists("sources/aborted").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_on_s3() {
    let app = spawn_app_with(|_| {}).await;
    let store = test_store(&app.config).await;
    multipart_uploads_join_their_parts(&store).await;
    app.stop().await;
}

#[tokio::test]
async fn multipart_uploads_in_memory() {
    let store = MemoryStore::new("memory://b");
    multipart_uploads_join_their_parts(&store).await;
    assert_eq!(store.multipart_uploads(), 0);
}
