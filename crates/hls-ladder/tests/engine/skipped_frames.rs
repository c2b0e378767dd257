//! Skipped frames are not truncation: a file whose container declares frames that carry no
//! picture ("show the previous one again", as capture tools write them), or whose frames stop
//! for a while (a screen recording that stores a picture only when it changes), converts
//! whole, lasts as long as its source, holds each picture until the next one at a steady
//! frame rate, and reports progress that neither stalls nor passes 100 %.

use std::path::{Path, PathBuf};
use std::process::Command;

use hls_ladder::{ConvertOptions, DirectorySink, Progress, convert};

use crate::helpers::{decode_warnings, ffprobe, number};

fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .args(["-fps_mode", "passthrough"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "making {name}");
    path
}

/// The class: (name, file, frame rate of the timeline).
fn sources(dir: &Path) -> Vec<(&'static str, PathBuf, f64)> {
    let clip = |size: &str, rate: u32, seconds: u32| {
        format!("testsrc2=size={size}:rate={rate}:duration={seconds}")
    };
    // One frame in seven kept until the last second; the AVI muxer fills the gaps with
    // empty chunks, as old capture tools do.
    let one_in_seven = "select='not(mod(n\\,7))+gte(n\\,435)'";
    // Pictures only at 0-2 s, 7-12 s and from 19 s on.
    let with_pauses = "select='lt(t\\,2)+between(t\\,7\\,12)+gte(t\\,19)'";
    let source = clip("320x240", 15, 30);
    let paused = clip("640x360", 30, 20);
    let screen = clip("640x360", 30, 8);
    let skipped_avi = |codec: &str| {
        let args = [
            "-f",
            "lavfi",
            "-i",
            &source,
            "-vf",
            one_in_seven,
            "-c:v",
            codec,
        ];
        ffmpeg(dir, &format!("{codec}.avi"), &args)
    };
    let paused_in = |name: &str| {
        let x264 = ["-c:v", "libx264", "-preset", "ultrafast"];
        let args = ["-f", "lavfi", "-i", &paused, "-vf", with_pauses];
        ffmpeg(dir, name, &[&args[..], &x264[..]].concat())
    };
    vec![
        ("AVI, Cinepak, empty chunks", skipped_avi("cinepak"), 15.0),
        (
            "AVI, MPEG-4 Part 2, empty chunks",
            skipped_avi("mpeg4"),
            15.0,
        ),
        ("MP4 with 5 s and 7 s pauses", paused_in("pauses.mp4"), 30.0),
        ("MKV with 5 s and 7 s pauses", paused_in("pauses.mkv"), 30.0),
        (
            "screen recording, 4 s still, duplicates elided",
            ffmpeg(
                dir,
                "screen.mkv",
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    &screen,
                    "-filter_complex",
                    "[0:v]split[a][b];[a][b]freezeframes=first=60:last=180:replace=59,mpdecimate",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                ],
            ),
            30.0,
        ),
    ]
}

#[test]
fn skipped_frames_and_pauses_convert_whole_at_a_steady_rate_with_steady_progress() {
    let dir = tempfile::tempdir().unwrap();
    for (name, source, rate) in sources(dir.path()) {
        let probed = ffprobe(&[
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets:format=duration",
            "-select_streams",
            "v",
            source.to_str().unwrap(),
        ]);
        let stored = number(&probed["streams"][0]["nb_read_packets"]) as u64;
        let seconds = number(&probed["format"]["duration"]);
        let timeline = (seconds * rate).round() as u64;
        assert!(
            stored * 2 < timeline,
            "{name}: the fixture skips too little: {probed}"
        );

        let out = dir.path().join(format!(
            "out_{}",
            source.file_name().unwrap().to_string_lossy()
        ));
        let mut seen: Vec<Progress> = Vec::new();
        let options = ConvertOptions {
            segment_seconds: 2.0,
            ..ConvertOptions::default()
        };
        let report = convert(&source, &options, DirectorySink::new(&out).unwrap(), |p| {
            seen.push(p.clone())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));

        // As long as the source, every picture held until the next at a steady rate.
        let frame = 1.0 / rate;
        assert!(
            (report.duration - seconds).abs() <= frame + 0.01,
            "{name}: {} s",
            report.duration
        );
        let playlist = out.join(&report.renditions[0].playlist);
        let published = ffprobe(&[
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames,avg_frame_rate:format=duration",
            playlist.to_str().unwrap(),
        ]);
        let published_seconds = number(&published["format"]["duration"]);
        assert!(
            (published_seconds - seconds).abs() <= frame + 0.01,
            "{name}: {published}"
        );
        let frames = number(&published["streams"][0]["nb_read_frames"]) as u64;
        assert!(
            frames.abs_diff(timeline) <= 2,
            "{name}: {frames} frames for {timeline}"
        );
        let warnings = decode_warnings(&playlist);
        assert!(warnings.is_empty(), "{name}: ffmpeg warns: {warnings}");

        // Progress counts the frames of the timeline: steadily to 100 % and no further.
        let percents: Vec<f64> = seen.iter().filter_map(|p| p.percent).collect();
        assert!(
            percents.windows(2).all(|w| w[0] <= w[1]),
            "{name}: {percents:?}"
        );
        assert_eq!(percents.last().copied(), Some(100.0), "{name}");
        let between = percents.iter().filter(|&&p| p > 20.0 && p < 90.0).count();
        assert!(
            between > 0,
            "{name}: progress stalled then jumped: {percents:?}"
        );
        let done = seen.last().unwrap().frames_done;
        assert!(
            done.abs_diff(timeline) <= 2,
            "{name}: {done} frames done for {timeline}"
        );
    }
}
