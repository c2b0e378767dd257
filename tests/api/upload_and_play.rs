//! The whole flow: upload over HTTP, poll, play the published URL with an independent client.

use std::time::Duration;

use crate::helpers::{decode_url, fixture, spawn_app_with_workers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_video_is_published_to_s3_and_plays_from_its_url() {
    let app = spawn_app_with_workers(|_| {}).await;
    let response = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let created: serde_json::Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/videos/{id}"));
    assert_eq!(created["status_url"], location);
    assert!(["pending", "processing"].contains(&created["status"].as_str().unwrap()));
    assert_eq!(created["source"]["width"], 854);

    let video = app.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(video["status"], "completed", "{video}");
    let url = video["playback_url"].as_str().unwrap().to_string();
    // Under the prefix of the claim that converted it: the first.
    assert_eq!(
        url,
        format!(
            "{}/{}/videos/{id}/1/master.m3u8",
            crate::helpers::s3_endpoint(),
            app.config.storage.s3_bucket
        )
    );
    assert_eq!(video["progress"]["percent"], 100.0);
    assert_eq!(video["progress"]["frames_done"], 120);
    assert_eq!(video["renditions"].as_array().unwrap().len(), 2);
    assert!((video["duration_seconds"].as_f64().unwrap() - 4.0).abs() < 0.05);
    assert!(video["finished_at"].is_string() && video["started_at"].is_string());

    // An anonymous client fetches the master playlist and every rendition through the URL.
    let master = reqwest::get(&url).await.unwrap();
    assert_eq!(master.status(), 200);
    assert_eq!(
        master.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let text = master.text().await.unwrap();
    let variants: Vec<&str> = text.lines().filter(|l| l.ends_with("index.m3u8")).collect();
    assert_eq!(variants, ["480p/index.m3u8", "360p/index.m3u8"]);
    for variant in variants {
        let playlist_url = url.replace("master.m3u8", variant);
        let (errors, duration) = decode_url(&playlist_url);
        assert!(errors.is_empty(), "{variant}: {errors}");
        assert!((duration - 4.0).abs() < 0.05, "{variant}: {duration} s");
    }
    let segment = reqwest::get(url.replace("master.m3u8", "360p/segment_00001.ts"))
        .await
        .unwrap();
    assert_eq!(segment.headers()["content-type"], "video/mp2t");
    assert!(
        segment.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // The upload is removed once converted.
    app.wait_until_uploads_removed().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_keeps_the_file_name_as_metadata_and_completes() {
    let app = spawn_app_with_workers(|_| {}).await;
    let response = app.upload_multipart(&fixture("no_audio.mp4")).await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(created["original_filename"], "no_audio.mp4");
    let video = app
        .wait_until_finished(created["id"].as_str().unwrap(), Duration::from_secs(120))
        .await;
    assert_eq!(video["status"], "completed", "{video}");
    app.stop().await;
}
