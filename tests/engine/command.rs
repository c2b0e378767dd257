//! The `hls-ladder` command as a user runs it.

use std::process::Command;

use crate::helpers::fixture;

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
