//! Running conversions on fixtures and checking HLS output with ffprobe/ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;

use hls_ladder::{ConvertOptions, ConvertReport, DirectorySink, convert};
use serde_json::Value;

/// One AAC frame at 48 kHz: how far audio and video may start apart (encoder priming).
pub const AUDIO_FRAME_SECONDS: f64 = 1024.0 / 48_000.0;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Options for short fixtures: 1 s segments so every clip has several.
pub fn short_segments() -> ConvertOptions {
    ConvertOptions {
        segment_seconds: 1.0,
        ..ConvertOptions::default()
    }
}

/// Converts a fixture into a fresh temporary directory.
pub fn convert_fixture(name: &str, options: &ConvertOptions) -> (tempfile::TempDir, ConvertReport) {
    convert_fixture_path(&fixture(name), options)
}

/// Converts any file into a fresh temporary directory.
pub fn convert_fixture_path(
    input: &Path,
    options: &ConvertOptions,
) -> (tempfile::TempDir, ConvertReport) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = DirectorySink::new(dir.path()).expect("sink");
    let report = convert(input, options, sink, |_| {})
        .unwrap_or_else(|e| panic!("converting {}: {e}", input.display()));
    (dir, report)
}

/// `ffprobe -of json` with the given arguments.
pub fn ffprobe(args: &[&str]) -> Value {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("ffprobe json")
}

pub fn number(value: &Value) -> f64 {
    match value {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {s}")),
        Value::Number(n) => n.as_f64().expect("f64"),
        other => panic!("not a number: {other}"),
    }
}

/// Decodes a playlist or file end to end with ffmpeg and returns its warnings and errors
/// (empty = clean): stricter than [`decode_errors`], it also hears about timestamps ffmpeg
/// finds out of order or doubled.
pub fn decode_warnings(path: &Path) -> String {
    decode_log(path, "warning")
}

/// Decodes a playlist or file end to end with ffmpeg; returns its error output (empty = clean).
pub fn decode_errors(path: &Path) -> String {
    decode_log(path, "error")
}

/// What ffmpeg says at `level` and above while decoding `path` to nothing.
fn decode_log(path: &Path, level: &str) -> String {
    ffmpeg_to_null(&["-v", level], path, &[])
}

/// Runs ffmpeg on `path` with `before` the input's options and `after` the null output's,
/// and returns what it printed on stderr; it must succeed.
pub fn ffmpeg_to_null(before: &[&str], path: &Path, after: &[&str]) -> String {
    let output = Command::new("ffmpeg")
        .arg("-nostdin")
        .args(before)
        .arg("-i")
        .arg(path)
        .args(after)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        output.status.success(),
        "ffmpeg failed on {}",
        path.display()
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Video frames of a file: (timestamp, duration) in seconds, in presentation order.
pub fn video_frames(path: &Path) -> Vec<(f64, f64)> {
    let json = ffprobe(&[
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=best_effort_timestamp_time,pkt_duration_time",
        path.to_str().unwrap(),
    ]);
    json["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f.get("best_effort_timestamp_time").is_some())
        .map(|f| {
            (
                number(&f["best_effort_timestamp_time"]),
                f.get("pkt_duration_time").map(number).unwrap_or(0.0),
            )
        })
        .collect()
}

/// Seconds from the first video frame to the end of the last one.
pub fn video_span(frames: &[(f64, f64)]) -> f64 {
    let first = frames.iter().map(|f| f.0).fold(f64::INFINITY, f64::min);
    let end = frames
        .iter()
        .map(|f| f.0 + f.1)
        .fold(f64::NEG_INFINITY, f64::max);
    end - first
}

/// Parses `#EXTINF` durations and URIs of a media playlist.
pub fn playlist_segments(text: &str) -> Vec<(f64, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let duration = line
                .strip_prefix("#EXTINF:")?
                .trim_end_matches(',')
                .parse()
                .ok()?;
            Some((duration, lines[i + 1].to_string()))
        })
        .collect()
}

/// The value of attribute `name` in a playlist tag line, without its quotes.
pub fn attribute<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("{name} missing in {line}"))
        + name.len()
        + 1;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        &quoted[..quoted.find('"').unwrap()]
    } else {
        &rest[..rest.find(',').unwrap_or(rest.len())]
    }
}

/// Every independent check of issue #2 on the output of one conversion.
pub fn assert_valid_hls(out: &Path, source: &Path, report: &ConvertReport, segment_seconds: f64) {
    let source_frames = video_frames(source);
    let source_span = video_span(&source_frames);
    let frame_seconds = 1.0 / report.source.frame_rate;
    let source_has_audio = report.source.audio.is_some();

    let master = std::fs::read_to_string(out.join("master.m3u8")).expect("master playlist");
    let variants: Vec<(&str, &str)> = master
        .lines()
        .zip(master.lines().skip(1))
        .filter(|(tag, _)| tag.starts_with("#EXT-X-STREAM-INF:"))
        .collect();
    assert_eq!(
        variants.len(),
        report.renditions.len(),
        "one variant per rendition:\n{master}"
    );

    for (stream_inf, uri) in variants {
        let playlist_path = out.join(uri);
        let rendition = playlist_path.parent().unwrap().to_path_buf();
        let errors = decode_warnings(&playlist_path);
        assert!(errors.is_empty(), "{uri} decodes with warnings:\n{errors}");

        // CODECS and RESOLUTION as ffprobe sees the stream.
        let streams = ffprobe(&[
            "-show_entries",
            "stream=codec_type,profile,level,width,height",
            playlist_path.to_str().unwrap(),
        ]);
        let streams = streams["streams"].as_array().unwrap();
        let video = streams
            .iter()
            .find(|s| s["codec_type"] == "video")
            .expect("a video stream");
        let (width, height) = (
            video["width"].as_u64().unwrap(),
            video["height"].as_u64().unwrap(),
        );
        assert_eq!(
            attribute(stream_inf, "RESOLUTION"),
            format!("{width}x{height}"),
            "{uri}"
        );
        let profile_idc = match video["profile"].as_str().unwrap() {
            "High" => "64",
            "Main" => "4d",
            "Constrained Baseline" | "Baseline" => "42",
            other => panic!("unexpected profile {other}"),
        };
        let codecs = attribute(stream_inf, "CODECS");
        let video_codec = format!(
            "avc1.{profile_idc}00{:02x}",
            video["level"].as_u64().unwrap()
        );
        // Several audio tracks are renditions of their own, which every variant names.
        let separate_audio = !report.audio.is_empty();
        let has_audio = streams.iter().any(|s| s["codec_type"] == "audio");
        assert_eq!(
            has_audio,
            source_has_audio && !separate_audio,
            "{uri}: audio in its segments iff the source has one audio track"
        );
        assert_eq!(
            stream_inf.contains(",AUDIO=\"audio\""),
            separate_audio,
            "{stream_inf}"
        );
        let expected = if source_has_audio {
            format!("{video_codec},mp4a.40.2")
        } else {
            video_codec
        };
        assert_eq!(codecs, expected, "{uri}: CODECS matches the stream");
        let (bandwidth, average) = (
            attribute(stream_inf, "BANDWIDTH"),
            attribute(stream_inf, "AVERAGE-BANDWIDTH"),
        );
        assert!(
            bandwidth.parse::<u64>().unwrap() >= average.parse::<u64>().unwrap(),
            "{stream_inf}"
        );

        // Durations: the sum within one frame of the source; each segment at most the target.
        let text = std::fs::read_to_string(&playlist_path).unwrap();
        assert!(
            text.ends_with("#EXT-X-ENDLIST\n") && text.contains("#EXT-X-PLAYLIST-TYPE:VOD"),
            "{text}"
        );
        let target: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-TARGETDURATION:"))
            .unwrap()
            .parse()
            .unwrap();
        let segments = playlist_segments(&text);
        assert!(!segments.is_empty());
        let total: f64 = segments.iter().map(|s| s.0).sum();
        assert!(
            (total - source_span).abs() <= frame_seconds + 1e-3,
            "{uri}: {total:.4} s of segments vs {source_span:.4} s of source video"
        );
        for (duration, name) in &segments {
            assert!(
                duration.round() <= target,
                "{uri}/{name}: {duration} rounds above TARGETDURATION {target}"
            );
            assert!(
                duration.round() <= segment_seconds.ceil(),
                "{uri}/{name}: {duration} s for a {segment_seconds} s target"
            );
        }

        // The output holds every picture of the source at its own time, and a picture the
        // source shows longer (a gap, skipped frames) repeated at the frame rate: no hole
        // longer than one and a half frames. Each segment starts with a keyframe.
        let output_frames = video_frames(&playlist_path);
        assert!(
            output_frames.len() >= source_frames.len(),
            "{uri}: {} frames for {} in the source",
            output_frames.len(),
            source_frames.len()
        );
        let relative = |frames: &[(f64, f64)]| -> Vec<f64> {
            let mut times: Vec<f64> = frames.iter().map(|f| f.0).collect();
            times.sort_by(f64::total_cmp);
            let first = times[0];
            times.iter().map(|t| t - first).collect()
        };
        let (source_times, output_times) = (relative(&source_frames), relative(&output_frames));
        for time in &source_times {
            let nearest = output_times
                .iter()
                .map(|o| (o - time).abs())
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest <= 1e-3,
                "{uri}: the source's frame at {time:.4} s is not in the output"
            );
        }
        for pair in output_times.windows(2) {
            assert!(
                pair[1] - pair[0] <= frame_seconds * 1.5 + 1e-3,
                "{uri}: a hole from {:.4} to {:.4} s",
                pair[0],
                pair[1]
            );
        }
        for (index, (_, name)) in segments.iter().enumerate() {
            let segment = rendition.join(name);
            let first = ffprobe(&[
                "-select_streams",
                "v:0",
                "-read_intervals",
                "%+#1",
                "-show_entries",
                "frame=key_frame,pict_type",
                segment.to_str().unwrap(),
            ]);
            let frame = &first["frames"][0];
            assert_eq!(frame["key_frame"], 1, "{uri}/{name} starts with a keyframe");
            assert_eq!(frame["pict_type"], "I", "{uri}/{name}");
            let bytes = std::fs::read(&segment).unwrap();
            assert_eq!(
                bytes.first(),
                Some(&0x47),
                "{name} starts with a TS sync byte"
            );
            assert_eq!(bytes.len() % 188, 0, "{name} holds whole TS packets");
            // The tables come before any media: SDT, PAT and PMT, as ffmpeg's own hls muxer writes.
            let pids: Vec<u16> = bytes
                .chunks(188)
                .map(|p| (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]))
                .collect();
            let first_media = pids
                .iter()
                .position(|&pid| pid >= 0x100 && pid != 0x1000)
                .unwrap();
            assert!(
                pids[..first_media].contains(&0),
                "{name} begins with a PAT: {:?}",
                &pids[..first_media]
            );
            assert!(
                pids[..first_media].contains(&0x1000),
                "{name} begins with a PMT: {:?}",
                &pids[..first_media]
            );
            if index == 0 && has_audio {
                let starts = ffprobe(&[
                    "-show_entries",
                    "stream=codec_type,start_time",
                    segment.to_str().unwrap(),
                ]);
                let start = |kind: &str| {
                    starts["streams"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["codec_type"] == kind)
                        .map(|s| number(&s["start_time"]))
                        .unwrap()
                };
                let gap = (start("audio") - start("video")).abs();
                assert!(
                    gap <= AUDIO_FRAME_SECONDS + 1e-3,
                    "{uri}: audio and video start {gap:.4} s apart"
                );
            }
        }
    }
}

/// The cues of a WebVTT file as webvtt-py reads them (`tests/clients/read_vtt.py`): start and
/// end in seconds, and the text as a player shows it.
pub fn read_vtt(path: &Path) -> Vec<(f64, f64, String)> {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-test/bin/python");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/clients/read_vtt.py"
    );
    let output = Command::new(python)
        .arg(script)
        .arg(path)
        .output()
        .expect("the test venv has webvtt-py (scripts/install-deps.sh --test)");
    assert!(
        output.status.success(),
        "webvtt-py refused {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let cues: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let time = |t: &Value| {
        t.as_str()
            .unwrap()
            .split(':')
            .map(|p| p.parse::<f64>().unwrap())
            .fold(0.0, |total, part| total * 60.0 + part)
    };
    cues.iter()
        .map(|c| {
            let text = c["text"].as_str().unwrap().to_string();
            (time(&c["start"]), time(&c["end"]), text)
        })
        .collect()
}

/// Mean volume (dB) of a playlist's audio through a third-order `filter` (`highpass` or
/// `lowpass`) at `hz`, by ffmpeg's volumedetect.
pub fn volume_through(playlist: &Path, filter: &str, hz: u32) -> f64 {
    let pass = format!("{filter}=f={hz}");
    let filter = format!("{pass},{pass},{pass},volumedetect");
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-i"])
        .arg(playlist)
        .args(["-vn", "-af", &filter, "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    log.lines()
        .find_map(|l| l.split("mean_volume: ").nth(1))
        .and_then(|v| v.trim_end_matches(" dB").parse().ok())
        .unwrap_or_else(|| panic!("no volumedetect output:\n{log}"))
}
