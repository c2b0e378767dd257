//! The web page in a real browser: Debian's Chromium, driven by playwright-core
//! (`tests/browser/page_test.mjs`), against this service with API keys on, through a proxy
//! that paces the upload like a slow uplink. It uploads a clip through the page with
//! tus-js-client; the connection is cut mid-upload (the page goes on from the service's
//! offset by itself) and the page is reloaded later (choosing the file again resumes it);
//! then it presses Play while it still converts, watches the per-frame progress
//! reach 100 %, plays the video to its end with hls.js and switches renditions; then a file that is not a video, whose refusal it must show. The screenshot lands in `target/browser/page.png`; with
//! `UPDATE_SCREENSHOT=1` it also replaces the README's (`docs/images/page.png`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::helpers::{long_clip, spawn_app_with_workers};
use crate::tcp_proxy::TcpProxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_uploads_follows_progress_and_plays_in_chromium() {
    let key = "browser-test-key";
    let app = spawn_app_with_workers(|c| {
        c.access.api_keys = vec![key.into()];
        c.access.private_reads = true;
        // The page offers the MP4 download of a completed video.
        c.conversion.mp4_download = true;
    })
    .await;
    let temp = tempfile::tempdir().unwrap();
    let clip = long_clip(temp.path());
    let size = std::fs::metadata(&clip).unwrap().len();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let screenshot = root.join("target/browser/page.png");
    // A 4 MiB/s uplink: the upload takes seconds, time to cut it.
    let target: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let proxy = std::sync::Arc::new(TcpProxy::start_paced(target, Some(4 << 20)).await);
    let address = proxy.url();
    // Once a third of the file went through, the connection drops for 1.5 s.
    let cutter = {
        let proxy = std::sync::Arc::clone(&proxy);
        tokio::spawn(async move {
            let start = proxy.forwarded();
            while proxy.forwarded() - start < size / 3 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let at = proxy.forwarded() - start;
            proxy.cut();
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            proxy.restore();
            at
        })
    };
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(root.join("tests/browser/page_test.mjs"))
            .env("RESUME_CHECKS", "1")
            .env("BASE_URL", &address)
            .env("FIXTURE", &clip)
            .env("SCREENSHOT", &screenshot)
            .env("API_KEY", key)
            .env("BAD_FIXTURE", root.join("fixtures/not_a_video.mp4"))
            .output()
            .expect("node runs (make deps installs it, and `make web` the page's packages)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    let summary: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    assert_eq!(summary["ok"], true, "{summary}");
    // Cut mid-way, it went on from the offset the service kept, not from zero; reloaded, the
    // page resumed the same upload further on.
    let cut_at = cutter.await.unwrap();
    assert!(cut_at < size, "cut mid-upload: {cut_at} of {size}");
    // (The proxy forwards what it had read while the cut takes effect, so the service may
    // hold a few KiB more than `cut_at`.)
    let after_cut = summary["resumed_after_cut_at"].as_u64().unwrap();
    assert!(after_cut > 0 && after_cut < size, "{summary}");
    let after_reload = summary["resumed_after_reload_at"].as_u64().unwrap();
    assert!(
        after_reload >= after_cut && after_reload < size,
        "{summary}"
    );
    assert!(proxy.refused() >= 1, "the cut turned the page's retry away");
    // Every byte crossed the uplink about once: no upload started over.
    let overhead = proxy.forwarded().saturating_sub(size);
    assert!(
        overhead < size / 4,
        "{overhead} bytes more than the file went up"
    );
    assert!(summary["current_time"].as_f64().unwrap() > 1.0, "{summary}");
    // Started while converting, played through to the end of the 20 s clip.
    assert_eq!(summary["played_while"]["status"], "processing", "{summary}");
    assert!(summary["ended_at"].as_f64().unwrap() > 19.5, "{summary}");
    assert!(summary["levels"].as_u64().unwrap() >= 2, "{summary}");
    // The completed video's poster before play, and a storyboard thumbnail on hover: the
    // poster at the top rendition's width, a preview one thumbnail wide at 75 % (about 15 s).
    assert!(
        summary["poster_width"].as_u64().unwrap() >= 640,
        "{summary}"
    );
    assert_eq!(
        summary["preview"]["width"].as_u64().unwrap(),
        160,
        "{summary}"
    );
    assert!(
        summary["preview"]["time"]
            .as_str()
            .unwrap()
            .starts_with("0:1"),
        "{summary}"
    );
    assert!(
        summary["preview_sheet_width"].as_u64().unwrap() >= 160,
        "{summary}"
    );
    // The refusal as the page words it: the problem's status, code and detail.
    let refusal = summary["refused_upload_error"].as_str().unwrap();
    assert!(
        refusal.contains("422") && refusal.contains("not-a-video"),
        "{refusal}"
    );
    assert!(refusal.contains("not a video file"), "{refusal}");

    // What the page did, seen from the API: one video, converted, with its playback URL.
    let id = summary["video_id"].as_str().unwrap();
    let video: Value = app
        .get_with_key(&format!("/v1/videos/{id}"), key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(video["status"], "completed", "{video}");
    assert_eq!(video["original_filename"], "long.mp4");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        std::fs::create_dir_all(root.join("docs/images")).unwrap();
        std::fs::copy(
            root.join("target/browser/page.png"),
            root.join("docs/images/page.png"),
        )
        .unwrap();
    }
    app.stop().await;
}
