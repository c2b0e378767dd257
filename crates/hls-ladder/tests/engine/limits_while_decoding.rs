//! Limits hold on what an input really holds, not on what its header declares: streams with
//! no declared length are measured at the probe, headers that understate are caught while
//! decoding, and a picture size that grows midway is refused before it is allocated.

use std::path::{Path, PathBuf};
use std::process::Command;

use hls_ladder::{
    ConvertOptions, Error, Limit, MemorySink, SourceLimits, convert, probe_with_limits,
};

use crate::helpers::fixture;

fn ffmpeg(args: &[&str], out: &Path) -> PathBuf {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "making {}", out.display());
    out.to_path_buf()
}

/// A raw H.264 elementary stream (no container, so no declared duration or frame count).
fn raw_h264(dir: &Path, name: &str, source: &str) -> PathBuf {
    let args = ["-f", "lavfi", "-i", source, "-c:v", "libx264"];
    let more = ["-preset", "ultrafast", "-bf", "0", "-f", "h264"];
    ffmpeg(&[&args[..], &more[..]].concat(), &dir.join(name))
}

fn convert_with(path: &Path, limits: SourceLimits) -> (Result<(), Error>, MemorySink) {
    let options = ConvertOptions {
        limits,
        segment_seconds: 1.0,
        ..ConvertOptions::default()
    };
    let mut sink = MemorySink::new();
    let result = convert(path, &options, &mut sink, |_| {}).map(|_| ());
    (result, sink)
}

fn limit_of(error: &Error) -> Limit {
    match error {
        Error::LimitExceeded { limit, .. } => *limit,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn a_raw_stream_declaring_no_length_is_measured_at_the_probe() {
    let dir = tempfile::tempdir().unwrap();
    // 20,000 frames of a few bytes each: 20 s at 1000 fps, in about 200 KB.
    let stream = raw_h264(
        dir.path(),
        "tiny.h264",
        "color=black:size=16x16:rate=1000:duration=20",
    );
    let measured = probe_with_limits(&stream, &SourceLimits::default()).unwrap();
    assert_eq!(measured.frames, None, "nothing is declared");
    assert_eq!(measured.frames_expected, Some(20_000), "{measured:?}");
    let seconds = measured.duration.expect("measured duration");
    assert!((seconds - 20.0).abs() < 0.1, "{seconds}");

    let few_frames = SourceLimits {
        max_frames: 5_000,
        ..SourceLimits::default()
    };
    let error = probe_with_limits(&stream, &few_frames).unwrap_err();
    assert_eq!(limit_of(&error), Limit::Frames);
    assert!(error.to_string().contains("counted in its data"), "{error}");
    let short = SourceLimits {
        max_duration_seconds: 10.0,
        ..SourceLimits::default()
    };
    let error = probe_with_limits(&stream, &short).unwrap_err();
    assert_eq!(limit_of(&error), Limit::Duration);
    // convert refuses it before encoding anything.
    let (result, sink) = convert_with(&stream, few_frames);
    assert_eq!(limit_of(&result.unwrap_err()), Limit::Frames);
    assert!(sink.objects.is_empty());
}

/// Writes `ticks` into the 32-bit duration of every `mvhd`, `tkhd` and `mdhd` box (version 0).
fn with_declared_duration(mut mp4: Vec<u8>, ticks: u32) -> Vec<u8> {
    for (tag, offset) in [(&b"mvhd"[..], 16), (b"tkhd", 20), (b"mdhd", 16)] {
        let mut from = 0;
        while let Some(at) = mp4[from..].windows(4).position(|w| w == tag) {
            let field = from + at + 4 + offset;
            mp4[field..field + 4].copy_from_slice(&ticks.to_be_bytes());
            from += at + 4;
        }
    }
    mp4
}

#[test]
fn a_header_that_understates_the_length_is_caught_while_decoding() {
    let dir = tempfile::tempdir().unwrap();
    // A 4 s video whose header says it lasts one tick.
    let bytes = with_declared_duration(std::fs::read(fixture("h264_aac.mp4")).unwrap(), 1);
    let lying = dir.path().join("lying.mp4");
    std::fs::write(&lying, bytes).unwrap();
    let limits = SourceLimits {
        max_duration_seconds: 2.0,
        ..SourceLimits::default()
    };
    let declared = probe_with_limits(&lying, &limits).expect("the header passes the probe");
    assert!(declared.duration.unwrap_or(0.0) < 1.0, "{declared:?}");

    let (result, sink) = convert_with(&lying, limits);
    let error = result.unwrap_err();
    assert_eq!(limit_of(&error), Limit::Duration, "{error}");
    assert!(
        error.to_string().contains("measured in its data"),
        "{error}"
    );
    assert!(sink.get("master.m3u8").is_none());

    // The frame count is held while decoding too. Matroska declares no frame count, so the
    // expected one is duration x frame rate: a Segment Duration of 0.5 s makes 4 s at 30 fps
    // "15 frames" for 120 real ones.
    let whole = dir.path().join("whole.mkv");
    ffmpeg(
        &[
            "-i",
            fixture("h264_aac.mp4").to_str().unwrap(),
            "-c",
            "copy",
        ],
        &whole,
    );
    let understated = dir.path().join("understated.mkv");
    std::fs::write(
        &understated,
        with_segment_duration(std::fs::read(&whole).unwrap(), 500.0),
    )
    .unwrap();
    let few_frames = SourceLimits {
        max_frames: 60,
        ..SourceLimits::default()
    };
    let declared = probe_with_limits(&understated, &few_frames).expect("15 frames pass");
    assert!(declared.frames_expected.unwrap() < 60, "{declared:?}");
    let (result, sink) = convert_with(&understated, few_frames);
    let error = result.unwrap_err();
    assert_eq!(limit_of(&error), Limit::Frames, "{error}");
    assert!(error.to_string().contains("counted in its data"), "{error}");
    assert!(sink.get("master.m3u8").is_none());
}

/// Writes `milliseconds` into a Matroska file's Segment Duration (EBML 0x4489, an 8-byte
/// float in the default timecode scale).
fn with_segment_duration(mut mkv: Vec<u8>, milliseconds: f64) -> Vec<u8> {
    let at = mkv
        .windows(3)
        .position(|w| w == [0x44, 0x89, 0x88])
        .expect("a Duration element of 8 bytes");
    mkv[at + 3..at + 11].copy_from_slice(&milliseconds.to_be_bytes());
    mkv
}

#[test]
fn a_picture_that_grows_beyond_the_limit_midway_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let small = raw_h264(
        dir.path(),
        "small.h264",
        "testsrc2=size=320x240:rate=25:duration=1",
    );
    let large = raw_h264(
        dir.path(),
        "large.h264",
        "testsrc2=size=1280x720:rate=25:duration=1",
    );
    let mut bytes = std::fs::read(&small).unwrap();
    bytes.extend(std::fs::read(&large).unwrap());
    let switching = dir.path().join("switching.h264");
    std::fs::write(&switching, &bytes).unwrap();
    let as_ts = ffmpeg(
        &[
            "-i",
            switching.to_str().unwrap(),
            "-c",
            "copy",
            "-f",
            "mpegts",
        ],
        &dir.path().join("switching.ts"),
    );
    let limits = SourceLimits {
        max_width: 640,
        max_height: 480,
        ..SourceLimits::default()
    };
    for input in [&switching, &as_ts] {
        let probed = probe_with_limits(input, &limits).expect("it starts small");
        assert_eq!((probed.width, probed.height), (320, 240));
        let (result, sink) = convert_with(input, limits);
        let error = result.unwrap_err();
        assert_eq!(
            limit_of(&error),
            Limit::Resolution,
            "{}: {error}",
            input.display()
        );
        assert!(error.to_string().contains("1280x720"), "{error}");
        assert!(sink.get("master.m3u8").is_none());
    }
    // Within the limits the same stream converts: a size change is not damage.
    let (result, sink) = convert_with(&switching, SourceLimits::default());
    result.expect("converts when the limits allow both sizes");
    assert!(sink.get("master.m3u8").is_some());
}
