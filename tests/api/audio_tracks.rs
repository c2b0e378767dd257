//! Several audio tracks as a player sees them: hls.js in Chromium (`tests/browser/
//! audio_tracks_test.mjs`) lists the audio renditions of a converted video, starts on the
//! source's default track and switches to the other while playing, heard through the Web
//! Audio API; publicly and behind signed playback links.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::helpers::{TestApp, run_browser_script, spawn_app, spawn_private_app};

/// An 8 s clip with an English track (440 Hz, not default) and a French one (880 Hz,
/// default), each titled.
fn two_language_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("two_languages.mkv");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=8",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=8",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=880:sample_rate=48000:duration=8",
        ])
        .args(["-map", "0", "-map", "1", "-map", "2"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        .args([
            "-metadata:s:a:0",
            "language=eng",
            "-metadata:s:a:0",
            "title=English",
        ])
        .args([
            "-metadata:s:a:1",
            "language=fra",
            "-metadata:s:a:1",
            "title=French",
        ])
        .args(["-disposition:a:0", "0", "-disposition:a:1", "default"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    clip
}

/// Uploads the two-language clip to `app`, waits for it, and plays its `playback_url` with
/// hls.js, switching to the English track; checks what the player lists and what it plays.
async fn plays_both_languages(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let id = app.upload_id(&two_language_clip(dir.path())).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    let tracks = video["source"]["audio_tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2, "{video}");
    assert_eq!(tracks[1]["language"], "fra", "{video}");
    assert_eq!(tracks[1]["default"], true, "{video}");

    let playback = video["playback_url"].as_str().unwrap().to_string();
    let result = play_with_hls_js(app, &playback, 0).await;
    let listed: Vec<(&str, &str, bool, &str)> = result["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let text = |key: &str| t[key].as_str().unwrap_or_default();
            (
                text("name"),
                text("lang"),
                t["default"] == true,
                text("channels"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("English", "eng", false, "1"), ("French", "fra", true, "1")],
        "{result}"
    );
    // The default (French, 880 Hz) plays first; after the switch, English (440 Hz).
    assert_eq!(result["first"]["track"], 1, "{result}");
    let heard = |at: &str| result[at]["heard"].as_f64().unwrap_or(0.0);
    assert!((heard("first") - 880.0).abs() < 15.0, "{result}");
    assert_eq!(result["second"]["track"], 0, "{result}");
    assert!((heard("second") - 440.0).abs() < 15.0, "{result}");
    assert!(
        result["buffered"]["0"].as_u64().unwrap_or(0) > 0,
        "{result}"
    );
    // hls.js 1.7 warns `bufferAppendNoProgress` once at the start of any stream with
    // alternate audio (ffmpeg's own HLS muxer's too); nothing may be fatal.
    let errors = result["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .all(|e| !e.as_str().unwrap().contains("fatal")),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_js_lists_the_audio_tracks_and_switches_between_them() {
    let app = spawn_app().await;
    plays_both_languages(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_renditions_play_behind_signed_playback_links() {
    let app = spawn_private_app().await;
    plays_both_languages(&app).await;
    app.stop().await;
}

/// Runs `tests/browser/audio_tracks_test.mjs` against `playback`, switching to track
/// `switch_to`, and returns its result.
async fn play_with_hls_js(app: &TestApp, playback: &str, switch_to: usize) -> Value {
    let env = vec![
        ("PAGE_URL", app.url("/")),
        ("PLAYBACK_URL", playback.to_string()),
        ("SWITCH_TO", switch_to.to_string()),
    ];
    run_browser_script("audio_tracks_test.mjs", env).await
}
