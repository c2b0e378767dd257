//! Subtitle renditions as a player sees them: hls.js in Chromium (`tests/browser/
//! captions_test.mjs`) lists the tracks of a converted video and shows a cue at its time.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_js_lists_the_subtitle_tracks_and_shows_a_cue_at_its_time() {
    let app = spawn_app().await;
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
    let video = app.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(video["status"], "completed", "{video}");
    // The status lists the tracks as the master playlist does.
    let subtitles = video["subtitles"].as_array().unwrap();
    assert_eq!(subtitles.len(), 2, "{video}");
    assert_eq!(subtitles[0]["name"], "English");
    assert_eq!(subtitles[0]["playlist"], "subs/eng/index.m3u8");
    assert_eq!(subtitles[0]["cues"], 1);
    assert_eq!(subtitles[0]["default"], true);
    assert_eq!(subtitles[1]["language"], "fre");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/captions_test.mjs");
    let page = app.url("/");
    let playback = video["playback_url"].as_str().unwrap().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("PAGE_URL", page)
            .env("PLAYBACK_URL", playback)
            .env("CUE_TEXT", "Hello there")
            .env("CUE_AT", "1.5")
            .output()
            .expect("node runs (`make web` installs playwright-core)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
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
    app.stop().await;
}
