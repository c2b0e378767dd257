//! Posters, storyboards and I-frame playlists as clients reach them: from the bucket by the
//! status JSON's URLs, and behind signed links with private playback.

use serde_json::Value;

use crate::helpers::{fixture, problem, spawn_app, spawn_app_with, spawn_private_app};

/// GETs `url` (following redirects) and checks its content type; the body.
async fn fetch(url: &str, content_type: &str) -> Vec<u8> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    assert_eq!(response.headers()["content-type"], content_type, "{url}");
    response.bytes().await.unwrap().to_vec()
}

/// Width and height of a JPEG, as ffprobe decodes it.
fn jpeg_size(bytes: &[u8]) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("still.jpg");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let probe: Value = serde_json::from_slice(&output.stdout).unwrap();
    let stream = &probe["streams"][0];
    assert_eq!(stream["codec_name"], "mjpeg");
    (
        stream["width"].as_u64().unwrap(),
        stream["height"].as_u64().unwrap(),
    )
}

/// Checks the poster and every sheet the storyboard names, reached as a player would from
/// `storyboard_url`; returns the storyboard's text.
async fn check_stills(video: &Value) -> String {
    let stills = &video["stills"];
    let poster = fetch(video["poster_url"].as_str().unwrap(), "image/jpeg").await;
    assert_eq!(
        jpeg_size(&poster),
        (
            stills["poster"]["width"].as_u64().unwrap(),
            stills["poster"]["height"].as_u64().unwrap()
        )
    );
    assert_eq!(
        poster.len() as u64,
        stills["poster"]["bytes"].as_u64().unwrap()
    );
    let board_url = video["storyboard_url"].as_str().unwrap();
    let board = String::from_utf8(fetch(board_url, "text/vtt").await).unwrap();
    assert!(board.starts_with("WEBVTT\n"), "{board}");
    let base = reqwest::Url::parse(board_url).unwrap();
    let mut sheets = std::collections::BTreeSet::new();
    for payload in board.lines().filter(|l| l.contains("#xywh=")) {
        sheets.insert(payload.split_once('#').unwrap().0.to_string());
    }
    assert_eq!(
        sheets.len(),
        stills["storyboard"]["sheets"].as_array().unwrap().len()
    );
    for sheet in sheets {
        let url = base.join(&sheet).unwrap();
        let image = fetch(url.as_str(), "image/jpeg").await;
        assert_eq!(
            jpeg_size(&image).0,
            2 * 160,
            "two thumbnails in a row: {sheet}"
        );
    }
    board
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_video_has_a_poster_and_a_storyboard_in_the_bucket() {
    let app = spawn_app().await;
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    let playback = video["playback_url"].as_str().unwrap();
    let base = playback.strip_suffix("master.m3u8").unwrap();
    assert_eq!(video["poster_url"], format!("{base}poster.jpg"));
    assert_eq!(
        video["storyboard_url"],
        format!("{base}storyboard/storyboard.vtt")
    );
    assert_eq!(video["stills"]["storyboard"]["thumbnails"], 2);
    assert_eq!(video["stills"]["poster_small"]["width"], 640);
    check_stills(&video).await;
    // Posted once under the claim's prefix: cached like segments.
    let poster = reqwest::get(video["poster_url"].as_str().unwrap())
        .await
        .unwrap();
    let cache = poster.headers()["cache-control"].to_str().unwrap();
    assert!(cache.contains("immutable"), "{cache}");
    // The master lists the I-frame playlists, which the bucket serves.
    let master = reqwest::get(playback).await.unwrap().text().await.unwrap();
    for rendition in ["480p", "360p"] {
        assert!(
            master.contains(&format!("URI=\"{rendition}/iframes.m3u8\"")),
            "{master}"
        );
        let iframes = reqwest::get(format!("{base}{rendition}/iframes.m3u8"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(iframes.contains("#EXT-X-I-FRAMES-ONLY"), "{iframes}");
    }
    // The list shows the same fields.
    let list = app.get_json("/v1/videos").await;
    assert_eq!(
        list["items"][0]["poster_url"], video["poster_url"],
        "{list}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stills_off_a_video_has_none() {
    let app = spawn_app_with(|c| c.conversion.stills = false).await;
    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    assert!(video["poster_url"].is_null() && video["storyboard_url"].is_null());
    assert!(video["stills"].is_null());
    let poster = video["playback_url"]
        .as_str()
        .unwrap()
        .replace("master.m3u8", "poster.jpg");
    assert_eq!(reqwest::get(&poster).await.unwrap().status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_private_playback_stills_and_iframe_playlists_are_behind_signed_links() {
    let app = spawn_private_app().await;
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    let poster_url = video["poster_url"].as_str().unwrap();
    assert!(
        poster_url.starts_with(&app.url(&format!("/v1/videos/{id}/play/poster.jpg?expires="))),
        "{poster_url}"
    );
    // The poster link redirects to a presigned URL; the storyboard names presigned sheets.
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(poster_url)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap();
    assert!(location.contains("X-Amz-Signature="), "{location}");
    let board = check_stills(&video).await;
    assert!(
        board
            .lines()
            .filter(|l| l.contains("#xywh="))
            .all(|l| l.contains("X-Amz-Signature=")),
        "{board}"
    );
    // The master's I-frame playlists are signed links too, their segments presigned.
    let master_url = video["playback_url"].as_str().unwrap();
    let master = reqwest::get(master_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = master
        .lines()
        .find(|l| l.starts_with("#EXT-X-I-FRAME-STREAM-INF"))
        .unwrap();
    let uri = line.split("URI=\"").nth(1).unwrap().trim_end_matches('"');
    assert!(uri.contains("signature="), "{line}");
    let base = master_url.rsplit_once('/').unwrap().0;
    let iframes = reqwest::get(format!("{base}/{uri}")).await.unwrap();
    assert_eq!(iframes.status(), 200);
    let iframes = iframes.text().await.unwrap();
    assert!(iframes.contains("#EXT-X-BYTERANGE:"), "{iframes}");
    let segment = iframes
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .unwrap();
    assert!(segment.contains("X-Amz-Signature="), "{segment}");
    // A still's link is bound to its path: the poster's signature does not open a sheet.
    let forged = poster_url.replace("poster.jpg", "storyboard/sprite_001.jpg");
    problem(
        app.client.get(&forged).send().await.unwrap(),
        403,
        "bad-playback-signature",
    )
    .await;
    app.stop().await;
}
