//! The `hls-ladder` command as a user runs it.

use std::process::Command;

use crate::helpers::fixture;
use crate::playlist_text::without_bitrates;

fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hls-ladder"))
}

#[test]
fn convert_writes_the_hls_tree_and_prints_progress_lines_when_not_on_a_terminal() {
    let out = tempfile::tempdir().unwrap();
    let output = command()
        .arg("convert")
        .arg(fixture("h264_aac.mp4"))
        .arg(out.path())
        .args([
            "--segment-seconds",
            "2",
            "--rungs",
            "360",
            "--preset",
            "ultrafast",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("progress 120/120 frames 100.0%")),
        "{stderr}"
    );
    let master = std::fs::read_to_string(out.path().join("master.m3u8")).unwrap();
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 1, "{master}");
    assert!(out.path().join("360p/segment_00002.ts").exists());
}

#[test]
fn probe_prints_the_plan_as_json() {
    let output = command()
        .arg("probe")
        .arg(fixture("rotated.mp4"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["source"]["rotation"], 90);
    assert_eq!(plan["renditions"][0]["width"], 360);
    assert_eq!(plan["renditions"][0]["height"], 640);
}

#[test]
fn bad_input_exits_65_with_a_message_a_person_can_act_on() {
    let out = tempfile::tempdir().unwrap();
    let output = command()
        .arg("convert")
        .arg(fixture("not_a_video.mp4"))
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: the input is not a video file"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_preset_is_a_usage_error() {
    let output = command()
        .args(["convert", "in.mp4", "out", "--preset", "turbo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown x264 preset"));
}

/// Every file under `root`, relative path -> bytes.
fn tree(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn convert_progressive_writes_growing_playlists_a_player_can_start_on_and_ends_as_without() {
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::synthetic_clip::Clip {
        size: "1280x720",
        rate: "30",
        seconds: 20.0,
        audio: Some("sine=frequency=440:sample_rate=48000"),
        audio_seconds: None,
    }
    .make(
        &dir.path().join("clip.mp4"),
        &["-c:v", "libx264", "-c:a", "aac"],
    );
    let args = [
        "--segment-seconds",
        "2",
        "--rungs",
        "720,360",
        "--preset",
        "veryfast",
    ];
    let (at_end, progressive) = (dir.path().join("at_end"), dir.path().join("progressive"));
    let status = command()
        .arg("convert")
        .args([&clip, &at_end])
        .args(args)
        .output()
        .unwrap()
        .status;
    assert!(status.success());

    let mut running = command()
        .arg("convert")
        .args([&clip, &progressive])
        .args(args)
        .arg("--progressive")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // While it runs: a master playlist and growing EVENT playlists, before the last segment.
    let mut seen_growing = None;
    while running.try_wait().unwrap().is_none() {
        let media =
            std::fs::read_to_string(progressive.join("360p/index.m3u8")).unwrap_or_default();
        if media.contains("#EXT-X-PLAYLIST-TYPE:EVENT") && progressive.join("master.m3u8").exists()
        {
            seen_growing = Some(media);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(running.wait().unwrap().success());
    let growing = seen_growing.expect("no growing playlist while the conversion ran");
    assert!(!growing.contains("#EXT-X-ENDLIST"), "{growing}");
    // The same files, the same media playlists (every segment's duration), and the same
    // master playlist but for the measured bitrates: libx264 on several threads is not
    // bit-exact from one run to the next, so a 720p segment's bytes (and the bitrates) may
    // differ by a few hundred bytes whether or not the run is progressive. The library's own
    // test compares every byte on a picture small enough for one encoder thread.
    let (progressive, at_end) = (tree(&progressive), tree(&at_end));
    assert_eq!(
        progressive.keys().collect::<Vec<_>>(),
        at_end.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &progressive {
        if path.ends_with("index.m3u8") {
            assert_eq!(bytes, &at_end[path], "{path}");
        } else if path.ends_with(".m3u8") {
            assert_eq!(without_bitrates(bytes), without_bitrates(&at_end[path]));
        }
    }
}
