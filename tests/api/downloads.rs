//! MP4 downloads through the service: asked for per upload (`?mp4_download=true`), listed in
//! the status with their URL and size, stored as `video/mp4`, played by Chromium's own
//! `<video>`; behind a signed link with private playback; none by default.

use std::process::Command;

use serde_json::Value;

use secrecy::ExposeSecret;

use crate::helpers::{TestApp, fixture, run_browser_script, spawn_app, spawn_private_app};

/// Uploads `name` with `query` and waits for it to complete; the video.
async fn upload_with(app: &TestApp, name: &str, query: &str) -> Value {
    let key = app
        .config
        .access
        .api_keys
        .first()
        .map(|key| key.expose_secret().to_string());
    let mut request = app
        .client
        .post(app.url(&format!("/v1/videos{query}")))
        .header("content-type", "video/mp4")
        .body(std::fs::read(fixture(name)).unwrap());
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    video
}

/// GETs `url` (following redirects): content type and body.
async fn fetch(url: &str) -> (String, Vec<u8>) {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (content_type, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_asking_for_an_mp4_download_gets_one_that_chromium_plays() {
    let app = spawn_app().await;
    let video = upload_with(&app, "h264_aac.mp4", "?mp4_download=true").await;
    let downloads = video["downloads"]
        .as_array()
        .unwrap_or_else(|| panic!("{video}"));
    assert_eq!(downloads.len(), 1, "{video}");
    assert_eq!(downloads[0]["rendition"], "480p", "{video}");
    let url = downloads[0]["url"].as_str().unwrap().to_string();
    assert!(url.ends_with("/download/480p.mp4"), "{url}");
    let (content_type, bytes) = fetch(&url).await;
    assert_eq!(content_type, "video/mp4");
    assert_eq!(bytes.len() as u64, downloads[0]["bytes"].as_u64().unwrap());
    // ffprobe over HTTP: duration and both streams.
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json", "-show_entries"])
        .args(["format=duration:stream=codec_type", &url])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let probe: Value = serde_json::from_slice(&output.stdout).unwrap();
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - 4.0).abs() < 0.1, "{probe}");
    let kinds: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["video", "audio"], "{probe}");

    // Chromium's <video>, no player library.
    let env = vec![("PAGE_URL", app.url("/")), ("MP4_URL", url)];
    let played = run_browser_script("mp4_download_test.mjs", env).await;
    assert!(
        (played["duration"].as_f64().unwrap() - 4.0).abs() < 0.1,
        "{played}"
    );
    assert_eq!(played["width"], 854, "{played}");
    assert_eq!(played["height"], 480, "{played}");
    assert!(played["audio_bytes"].as_u64().unwrap() > 0, "{played}");

    // Without asking, the server's default: none.
    let plain = upload_with(&app, "h264_aac.mp4", "").await;
    assert!(plain["downloads"].is_null(), "{plain}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_private_playback_the_download_is_behind_a_signed_link() {
    let app = spawn_private_app().await;
    let video = upload_with(&app, "h264_aac.mp4", "?mp4_download=true").await;
    let url = video["downloads"][0]["url"].as_str().unwrap().to_string();
    let id = video["id"].as_str().unwrap();
    assert!(
        url.starts_with(&app.url(&format!("/v1/videos/{id}/play/download/480p.mp4?expires="))),
        "{url}"
    );
    let (content_type, bytes) = fetch(&url).await;
    assert_eq!(content_type, "video/mp4");
    assert_eq!(
        bytes.len() as u64,
        video["downloads"][0]["bytes"].as_u64().unwrap()
    );
    // A tampered link is refused.
    let tampered = url.replace("signature=", "signature=0");
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_parameter_that_is_not_a_boolean_is_a_bad_request() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/videos?mp4_download=maybe"))
        .header("content-type", "video/mp4")
        .body(std::fs::read(fixture("h264_aac.mp4")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "bad-query", "{problem}");
    app.stop().await;
}
