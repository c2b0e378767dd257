//! Subtitle renditions as a player sees them: hls.js in Chromium (`tests/browser/
//! captions_test.mjs`) lists the tracks of a converted video and shows a cue at its time.

use std::process::Command;

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_js_lists_the_subtitle_tracks_and_shows_a_cue_at_its_time() {
    let app = spawn_app().await;
    lists_the_tracks_and_shows_a_cue(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subtitle_renditions_play_behind_signed_playback_links() {
    let app = crate::helpers::spawn_private_app().await;
    lists_the_tracks_and_shows_a_cue(&app).await;
    app.stop().await;
}

/// Uploads a clip with two subtitle tracks to `app` and plays its `playback_url` with hls.js:
/// both tracks listed with their language and flags, the English cue shown at its time.
async fn lists_the_tracks_and_shows_a_cue(app: &crate::helpers::TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let (en, fr) = (dir.path().join("en.srt"), dir.path().join("fr.srt"));
    std::fs::write(&en, "1\n00:00:01,000 --> 00:00:02,500\nHello there\n").unwrap();
    std::fs::write(&fr, "1\n00:00:03,000 --> 00:00:04,000\nBonjour\n").unwrap();
    let clip = dir.path().join("subtitled.mkv");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=25:duration=6")
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=6",
        ])
        .arg("-i")
        .arg(&en)
        .arg("-i")
        .arg(&fr)
        .args(["-map", "0", "-map", "1", "-map", "2", "-map", "3"])
        .args(["-c:v", "libx264", "-c:a", "aac", "-c:s", "srt"])
        .args([
            "-metadata:s:s:0",
            "language=eng",
            "-metadata:s:s:0",
            "title=English",
        ])
        .args([
            "-metadata:s:s:1",
            "language=fre",
            "-disposition:s:0",
            "default",
        ])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let id = app.upload_id(&clip).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    // The status lists the tracks as the master playlist does.
    let subtitles = video["subtitles"].as_array().unwrap();
    assert_eq!(subtitles.len(), 2, "{video}");
    assert_eq!(subtitles[0]["name"], "English");
    assert_eq!(subtitles[0]["playlist"], "subs/eng/index.m3u8");
    assert_eq!(subtitles[0]["cues"], 1);
    assert_eq!(subtitles[0]["default"], true);
    assert_eq!(subtitles[1]["language"], "fre");

    let playback = video["playback_url"].as_str().unwrap().to_string();
    let result = play_with_hls_js(app, &playback, "Hello there", 1.5).await;
    let tracks = result["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2, "{result}");
    assert_eq!(tracks[0]["name"], "English", "{result}");
    assert_eq!(tracks[0]["lang"], "eng", "{result}");
    assert_eq!(tracks[0]["default"], true, "{result}");
    assert_eq!(tracks[1]["lang"], "fre", "{result}");
    assert_eq!(tracks[1]["default"], false, "{result}");
    // The cue, at the source's time on the video's clock.
    let cue = result["cues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["text"] == "Hello there")
        .unwrap_or_else(|| panic!("{result}"));
    assert!(
        (cue["start"].as_f64().unwrap() - 1.0).abs() < 0.05,
        "{result}"
    );
    assert!(
        (cue["end"].as_f64().unwrap() - 2.5).abs() < 0.05,
        "{result}"
    );
    let shown_at = result["showing"]["time"].as_f64().unwrap();
    assert!((1.0..2.5).contains(&shown_at), "{result}");
}

/// Runs `tests/browser/captions_test.mjs` against `playback` and returns its result.
async fn play_with_hls_js(
    app: &crate::helpers::TestApp,
    playback: &str,
    cue: &str,
    at: f64,
) -> Value {
    let env = vec![
        ("PAGE_URL", app.url("/")),
        ("PLAYBACK_URL", playback.to_string()),
        ("CUE_TEXT", cue.to_string()),
        ("CUE_AT", at.to_string()),
    ];
    crate::helpers::run_browser_script("captions_test.mjs", env).await
}

async fn put_captions(
    app: &crate::helpers::TestApp,
    id: &str,
    language: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/v1/videos/{id}/captions/{language}")))
        .header("content-type", "text/vtt")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_captions_are_added_replaced_and_removed_on_a_completed_video() {
    let app = spawn_app().await;
    let id = app
        .upload_id(&crate::helpers::fixture("h264_aac.mp4"))
        .await;
    // Not yet: captions go on completed videos.
    let early = put_captions(
        &app,
        &id,
        "de",
        "WEBVTT\n\n00:01.000 --> 00:02.000\nHallo\n",
    )
    .await;
    if early.status() != 200 {
        crate::helpers::problem(early, 409, "not-completed").await;
    }
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    let playback = video["playback_url"].as_str().unwrap().to_string();

    // Refused: a bad language tag, a file with a bad line (named), not text.
    crate::helpers::problem(
        put_captions(&app, &id, "de_DE!", "x").await,
        422,
        "bad-language",
    )
    .await;
    let bad = crate::helpers::problem(
        put_captions(
            &app,
            &id,
            "de",
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 --> 00:00:04,000\nbad\n",
        )
        .await,
        422,
        "bad-captions",
    )
    .await;
    assert!(bad["detail"].as_str().unwrap().contains("line 6"), "{bad}");

    // Added from SRT: listed, in the master, and shown by hls.js at its time.
    let added = put_captions(
        &app,
        &id,
        "de",
        "1\n00:00:01,000 --> 00:00:02,500\nHallo Welt\n",
    )
    .await;
    assert_eq!(added.status(), 200);
    let added: Value = added.json().await.unwrap();
    assert_eq!(
        added["subtitles"][0]["playlist"], "subs/de/index.m3u8",
        "{added}"
    );
    assert_eq!(added["subtitles"][0]["cues"], 1);
    let master = reqwest::get(&playback).await.unwrap();
    assert_eq!(master.headers()["cache-control"], "public, max-age=60");
    let master = master.text().await.unwrap();
    assert!(master.contains("LANGUAGE=\"de\""), "{master}");
    for line in master
        .lines()
        .filter(|l| l.starts_with("#EXT-X-STREAM-INF"))
    {
        assert!(line.ends_with(",SUBTITLES=\"subs\""), "{line}");
    }
    let result = play_with_hls_js(&app, &playback, "Hallo Welt", 1.5).await;
    assert_eq!(result["tracks"][0]["lang"], "de", "{result}");

    // Replaced from WebVTT: still one track, the new cue.
    let replaced = put_captions(
        &app,
        &id,
        "de",
        "WEBVTT\n\n00:02.000 --> 00:03.000\n<i>Neu</i>\n",
    )
    .await;
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(
        replaced["subtitles"].as_array().unwrap().len(),
        1,
        "{replaced}"
    );
    let segment = playback.replace("master.m3u8", "subs/de/segment_00002.vtt");
    let text = reqwest::get(&segment).await.unwrap().text().await.unwrap();
    assert!(
        text.contains("00:00:02.000 --> 00:00:03.000\nNeu\n"),
        "{text}"
    );
    assert!(!text.contains("Hallo"), "{text}");

    // Removed: gone from the status, the master and the bucket.
    let removed = app.delete(&format!("/v1/videos/{id}/captions/de")).await;
    assert_eq!(removed.status(), 200);
    let removed: Value = removed.json().await.unwrap();
    assert!(
        removed["subtitles"].as_array().unwrap().is_empty(),
        "{removed}"
    );
    let master = reqwest::get(&playback).await.unwrap().text().await.unwrap();
    assert!(!master.contains("SUBTITLES"), "{master}");
    assert_eq!(reqwest::get(&segment).await.unwrap().status(), 404);
    crate::helpers::problem(
        app.delete(&format!("/v1/videos/{id}/captions/de")).await,
        404,
        "captions-not-found",
    )
    .await;
    app.stop().await;
}
