//! A worker cut off from the database stops converting before its lease runs out, and never
//! touches what the worker that took the job over wrote: each claim writes under its own
//! prefix, `videos/{id}/{claim}/`, and removes, once it learns it lost the job, only what it
//! wrote beyond the segments the new owner may be resuming after.

use std::time::{Duration, Instant};

use hls_ladder_server::config::Role;
use hls_ladder_server::storage::{ObjectHeaders, ObjectStore};

use crate::helpers::{TestApp, decode_url, long_clip, s3_endpoint, spawn_app_with_workers, start};
use crate::tcp_proxy::TcpProxy;

/// Keys under `prefix` in the test's bucket (LocalStack lists without credentials).
pub async fn keys_under(app: &TestApp, prefix: &str) -> Vec<String> {
    let url = format!(
        "{}/{}?list-type=2&prefix={prefix}",
        s3_endpoint(),
        app.config.storage.s3_bucket
    );
    let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
    body.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

/// A worker process of `api`'s service: its database, its bucket, its own disk.
async fn worker(api: &TestApp, database_url: String) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let mut config = api.config.clone();
    config.role = Role::Worker;
    config.jobs.workers = 1;
    config.database_url = database_url.into();
    config.temp_dir = Some(temp.path().to_path_buf());
    config.listen = "127.0.0.1:0".parse().unwrap();
    start(config, temp).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cut_off_from_the_database_stops_and_never_touches_the_new_owners_output() {
    // The API stages uploads in the bucket, so any worker can take a job.
    let api = spawn_app_with_workers(|c| {
        c.role = Role::Api;
        c.jobs.lease_seconds = 3.0;
    })
    .await;
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let name = crate::helpers::database_name(&api.config);
    let cut_off = worker(
        &api,
        format!("postgres://postgres@{}/{name}", proxy.address),
    )
    .await;

    let clip = long_clip(api.upload_dir.parent().unwrap());
    let id = api.upload_id(&clip).await;
    let first = format!("videos/{id}/1/");
    api.wait_for(&id, Duration::from_secs(60), "converting", |video| {
        video["progress"]["frames_done"].as_u64().unwrap_or(0) >= 30
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while keys_under(&api, &first).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first worker published no segment"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The partition: the first worker can reach S3 but not the database.
    proxy.cut();
    let cut_at = Instant::now();
    let takeover = worker(&api, api.config.database_url.expose().to_string()).await;

    // It stops within the lease (3 s; it gives up after 2.5 s without a renewal): after
    // that, nothing more appears under its prefix while the new owner converts (which may
    // remove what it does not resume after).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let stopped = keys_under(&api, &first).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let appeared: Vec<String> = keys_under(&api, &first)
        .await
        .into_iter()
        .filter(|key| !stopped.contains(key))
        .collect();
    assert!(
        appeared.is_empty(),
        "the cut-off worker went on writing {appeared:?} {:?} after the partition began",
        cut_at.elapsed()
    );

    let video = api.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(video["status"], "completed", "{video}");
    let url = video["playback_url"].as_str().unwrap().to_string();
    assert!(
        url.contains(&format!("/videos/{id}/2/master.m3u8")),
        "{url}"
    );
    assert_eq!(video["attempts"], 2, "{video}");

    // The new owner resumed after the first worker's last recorded segments: its playlists
    // name them under the first prefix.
    let store = crate::helpers::test_store(&api.config).await;
    let mut referenced = Vec::new();
    for rendition in video["renditions"].as_array().unwrap() {
        let dir = rendition["name"].as_str().unwrap();
        let key = format!("videos/{id}/2/{dir}/index.m3u8");
        let text = store.get_bytes(&key).await.unwrap().unwrap();
        for uri in String::from_utf8_lossy(&text).lines() {
            if let Some(rest) = uri.strip_prefix("../../1/") {
                referenced.push(format!("{first}{rest}"));
            }
        }
    }
    referenced.sort();
    assert_eq!(
        video["resumed_from_segment"].as_u64().unwrap_or(0) > 0,
        !referenced.is_empty(),
        "{video}"
    );

    // The partition heals: the first worker learns it lost the job and cleans up its own
    // prefix, and only that, but for the segments the new owner's playlists name.
    proxy.restore();
    let left = || async {
        let mut left = keys_under(&api, &first).await;
        left.sort();
        left
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while left().await != referenced && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        left().await,
        referenced,
        "the lost claim's output is removed but for what the new owner resumed after"
    );
    let second = keys_under(&api, &format!("videos/{id}/2/")).await;
    assert!(
        second.len() > 10,
        "the new owner's output is whole: {second:?}"
    );
    let (errors, duration) = decode_url(&url);
    assert!(errors.trim().is_empty(), "{errors}");
    assert!((duration - 20.0).abs() < 0.5, "duration {duration}");
    let again = api.get_video(&id).await;
    assert_eq!(again["status"], "completed");

    takeover.stop_keeping_database().await;
    cut_off.stop_keeping_database().await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_earlier_claims_never_touches_the_claim_itself_or_a_later_one() {
    let app = spawn_app_with_workers(|_| {}).await;
    let store = crate::helpers::test_store(&app.config).await;
    let id = uuid::Uuid::now_v7();
    let neighbour = uuid::Uuid::now_v7();
    let keys = [
        format!("videos/{id}/master.m3u8"),
        format!("videos/{id}/720p/segment_00001.ts"),
        format!("videos/{id}/1/720p/segment_00001.ts"),
        format!("videos/{id}/2/720p/segment_00001.ts"),
        format!("videos/{id}/3/master.m3u8"),
        format!("videos/{id}/10/master.m3u8"),
        format!("videos/{neighbour}/1/master.m3u8"),
    ];
    for key in &keys {
        let body = bytes::Bytes::from_static(b"x");
        let headers = ObjectHeaders {
            content_type: "text/plain",
            cache_control: "no-cache",
        };
        store.put(key, body, headers).await.unwrap();
    }
    let deleted = store
        .delete_claims_before(id, 3, &Default::default())
        .await
        .unwrap();
    assert_eq!(deleted, 4, "the older layout and claims 1 and 2");
    let mut left = keys_under(&app, "videos/").await;
    left.sort();
    let mut expected = vec![
        format!("videos/{id}/10/master.m3u8"),
        format!("videos/{id}/3/master.m3u8"),
        format!("videos/{neighbour}/1/master.m3u8"),
    ];
    expected.sort();
    assert_eq!(left, expected);
    app.stop().await;
}
