//! The handlers and the jobs against the in-memory store: what they publish, delete and
//! answer when the store fails, with no S3 at all (only PostgreSQL). LocalStack's tests keep
//! the S3 backend itself and the end-to-end paths.

use std::sync::Arc;

use hls_ladder_server::config::Role;
use hls_ladder_server::storage::{MemoryStore, ObjectStore, source_key};

use crate::helpers::{TestApp, fixture, problem, start_with_store, test_config};

/// The service with `role`, publishing to `store`, on a database of its own (or on the one
/// `database_url` names).
async fn spawn(role: Role, store: &Arc<MemoryStore>, database_url: Option<&str>) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let mut config = test_config(temp.path());
    config.role = role;
    if let Some(url) = database_url {
        config.database_url = url.to_string().into();
    }
    let store: Arc<dyn ObjectStore> = store.clone();
    start_with_store(config, temp, store).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_is_published_to_the_store_the_service_was_given_and_deleted_from_it() {
    let store = Arc::new(MemoryStore::new("memory://published"));
    let app = spawn(Role::All, &store, None).await;
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");

    let master = format!("videos/{id}/1/master.m3u8");
    assert_eq!(
        video["playback_url"],
        format!("memory://published/{master}")
    );
    let playlist = store.object(&master).expect("the master playlist");
    assert_eq!(playlist.content_type, "application/vnd.apple.mpegurl");
    // Final, but captions added later publish it again: a CDN keeps it for a minute.
    assert_eq!(playlist.cache_control, "public, max-age=60");
    let text = String::from_utf8(playlist.bytes.to_vec()).unwrap();
    // Every variant the master names, and every segment each variant names, is stored.
    let named = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let variants = named(&text);
    assert!(!variants.is_empty(), "{text}");
    let mut segments = 0;
    for variant in &variants {
        let key = format!("videos/{id}/1/{variant}");
        let media = store
            .object(&key)
            .unwrap_or_else(|| panic!("{key} missing"));
        let (rendition, _) = variant.split_once('/').unwrap();
        for segment in named(&String::from_utf8_lossy(&media.bytes)) {
            let key = format!("videos/{id}/1/{rendition}/{segment}");
            let stored = store
                .object(&key)
                .unwrap_or_else(|| panic!("{key} missing"));
            assert_eq!(stored.content_type, "video/mp2t");
            assert!(stored.cache_control.contains("immutable"));
            assert_eq!(stored.bytes[0], 0x47, "{key} is not MPEG-TS");
            segments += 1;
        }
    }
    assert!(segments >= variants.len());
    app.assert_uploads_removed();

    assert_eq!(app.delete(&format!("/v1/videos/{id}")).await.status(), 204);
    let left: Vec<String> = store
        .keys()
        .into_iter()
        .filter(|k| k.contains(&id))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_outage_is_a_503_problem_and_leaves_nothing_half_done() {
    let store = Arc::new(MemoryStore::new("memory://staging"));
    // An API apart from its workers stages uploads in the bucket: it needs the store to
    // accept one.
    let app = spawn(Role::Api, &store, None).await;
    store.set_unavailable(true);
    problem(app.get("/readyz").await, 503, "storage-unavailable").await;
    let refused = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
    problem(refused, 503, "storage-unavailable").await;
    let listed = app.get_json("/v1/videos").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
    assert!(store.keys().is_empty());

    store.set_unavailable(false);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;
    assert_eq!(store.keys(), [source_key(id.parse().unwrap())]);
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
    // Deleting the video while the store is down: 503, and the video stays to be deleted.
    store.set_unavailable(true);
    problem(
        app.delete(&format!("/v1/videos/{id}")).await,
        503,
        "storage-unavailable",
    )
    .await;
    store.set_unavailable(false);
    assert_eq!(app.delete(&format!("/v1/videos/{id}")).await.status(), 204);
    assert!(store.keys().is_empty(), "{:?}", store.keys());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_upload_gone_from_the_store_fails_its_job_as_source_missing() {
    let store = Arc::new(MemoryStore::new("memory://staging"));
    let api = spawn(Role::Api, &store, None).await;
    let id = api.upload_id(&fixture("h264_aac.mp4")).await;
    let key = source_key(id.parse().unwrap());
    assert!(store.exists(&key).await.unwrap());
    store.delete(&key).await.unwrap();

    let worker = spawn(Role::Worker, &store, Some(api.config.database_url.expose())).await;
    let video = api.convert(&id).await;
    assert_eq!(video["status"], "failed", "{video}");
    assert_eq!(video["error"]["code"], "source-missing", "{video}");
    // Nothing to convert again with: a retry says so instead of queueing a doomed job.
    problem(
        api.post(&format!("/v1/videos/{id}/retry")).await,
        409,
        "source-gone",
    )
    .await;
    assert!(
        worker.uploads_left().is_empty(),
        "{:?}",
        worker.uploads_left()
    );
    assert!(
        store.keys().iter().all(|k| !k.contains(&id)),
        "{:?}",
        store.keys()
    );
    worker.stop_keeping_database().await;
    api.stop().await;
}
