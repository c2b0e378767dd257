//! Resuming a conversion at its last published segment: the joined output cannot be told from
//! an uninterrupted run, on every kind of input; a point that does not fit starts over.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use hls_ladder::{
    CancelToken, ConvertOptions, ConvertReport, HlsObject, MemorySink, ObjectKind, Progress,
    ResumePoint, Rung, convert, resume_with_cancel,
};

use crate::helpers::{
    assert_valid_hls, decode_warnings, fixture, playlist_segments, short_segments, video_frames,
};
use crate::playlist_text::without_bitrates;
use crate::synthetic_clip::Clip;
use crate::timestamp_faults::{Break, Fault, Track, break_file};

/// An uninterrupted progressive run: its objects, the resume points it offered, its report.
fn uninterrupted(input: &Path, options: &ConvertOptions) -> (MemorySink, ConvertReport) {
    let mut sink = MemorySink::new();
    let report = convert(input, options, &mut sink, |_| {}).unwrap();
    (sink, report)
}

/// What a store holds at the end: the last version of every path.
fn final_state(objects: &[HlsObject]) -> BTreeMap<String, Vec<u8>> {
    objects
        .iter()
        .map(|o| (o.path.clone(), o.bytes.clone()))
        .collect()
}

/// Resumes from `point` and returns the resumed run's objects, report and first progress.
fn resumed(
    input: &Path,
    options: &ConvertOptions,
    point: &ResumePoint,
) -> (MemorySink, ConvertReport, Vec<Progress>) {
    let mut sink = MemorySink::new();
    let mut progress = Vec::new();
    let report = resume_with_cancel(
        input,
        options,
        point,
        &mut sink,
        |p| progress.push(p.clone()),
        &CancelToken::new(),
    )
    .unwrap();
    (sink, report, progress)
}

/// Writes the segments the crashed run published (those the point lists) and everything the
/// resumed run published into `dir`, as a store would hold them.
fn join_outputs(dir: &Path, crashed: &MemorySink, point: &ResumePoint, resumed: &MemorySink) {
    let kept: Vec<String> = point.segment_paths().collect();
    let mut state = final_state(&resumed.objects);
    for (path, bytes) in final_state(&crashed.objects) {
        if kept.contains(&path) {
            assert!(
                state.insert(path.clone(), bytes).is_none(),
                "{path} was published again"
            );
        }
    }
    for (path, bytes) in state {
        let file = dir.join(&path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
}

/// The audio of a media playlist, as an MD5 of its AAC packets copied out (`-c copy`).
fn audio_packets_md5(playlist: &Path) -> String {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-allowed_extensions", "ALL", "-i"])
        .arg(playlist)
        .args(["-map", "0:a", "-c", "copy", "-f", "md5", "-"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Every check of an uninterrupted run, and the same playlists, frames and audio packets as
/// the uninterrupted run, for a run resumed at about the middle of each input.
#[test]
fn a_run_resumed_at_a_published_segment_cannot_be_told_from_an_uninterrupted_one() {
    // Plain H.264 + AAC; VFR; interlaced MPEG-TS (yadif); VP8 + Vorbis; HEVC at 29.97.
    for name in [
        "h264_aac.mp4",
        "vfr.mkv",
        "interlaced.ts",
        "vp8_vorbis.webm",
        "hevc_2997.mp4",
        // Two audio tracks: audio renditions of their own.
        "two_audio_tracks.mkv",
    ] {
        assert_resumes_seamlessly(name, &fixture(name), 0.5, true, true);
    }
}

/// Longer clips with keyframes every 1.2 s, closed and open groups of pictures, resumed late:
/// on a clean clock, without stills, the video before the last group of pictures is not even
/// decoded.
#[test]
fn a_run_resumed_late_decodes_only_from_the_keyframe_before_the_point() {
    let dir = tempfile::tempdir().unwrap();
    let clip = Clip {
        size: "320x240",
        rate: "25",
        seconds: 12.0,
        audio: Some("sine=frequency=440:sample_rate=48000"),
        audio_seconds: None,
    };
    for (name, params) in [
        ("closed", "keyint=30:bframes=3"),
        ("open", "keyint=30:bframes=3:open-gop=1"),
    ] {
        let path = dir.path().join(format!("{name}.mp4"));
        clip.make(
            &path,
            &["-c:v", "libx264", "-x264-params", params, "-c:a", "aac"],
        );
        assert_resumes_seamlessly(&format!("{name} GOP"), &path, 0.8, true, false);
    }
}

/// Clocks the engine repairs (a step back, a jump, in either stream) before the point: the
/// resumed run places every frame where the uninterrupted run did.
#[test]
fn a_run_resumed_after_repaired_timestamps_joins_seamlessly() {
    let dir = tempfile::tempdir().unwrap();
    let clip = Clip {
        size: "320x240",
        rate: "25",
        seconds: 7.0,
        audio: Some("sine=frequency=440:sample_rate=48000"),
        audio_seconds: None,
    };
    let faults = [
        ("ts", Track::Video, Fault::Back(0.6)),
        ("ts", Track::Audio, Fault::Jump(1.4)),
        ("mkv", Track::Video, Fault::Jump(1.4)),
        ("mkv", Track::Video, Fault::Repeat(1.5)),
    ];
    for (index, (extension, track, fault)) in faults.into_iter().enumerate() {
        let path = dir.path().join(format!("broken{index}.{extension}"));
        clip.make(
            &path,
            &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
        );
        let mut bytes = std::fs::read(&path).unwrap();
        let broken = Break {
            track,
            at: 2.5,
            fault,
        };
        assert!(break_file(&mut bytes, extension, &broken) > 0, "{broken:?}");
        std::fs::write(&path, bytes).unwrap();
        // Resumed late, after the repair.
        assert_resumes_seamlessly(
            &format!("{broken:?} in {extension}"),
            &path,
            0.75,
            false,
            true,
        );
    }
}

/// Converts `input` whole, resumes it from the point `at` of the way through its resume
/// points, and checks the joined output against the whole one, and against the source with
/// every check of a conversion when `check_source` (not for sources whose clock is broken,
/// which ffprobe measures otherwise). With `stills`, the resumed run's poster and storyboard
/// are the uninterrupted run's, byte for byte.
fn assert_resumes_seamlessly(name: &str, input: &Path, at: f64, check_source: bool, stills: bool) {
    let options = ConvertOptions {
        progressive: true,
        stills,
        ladder: vec![
            Rung::with_default_bitrate(360),
            Rung::with_default_bitrate(240),
        ],
        ..short_segments()
    };
    let (whole, whole_report) = uninterrupted(input, &options);
    let points = &whole.resume_points;
    assert!(!points.is_empty(), "{name}: {} resume points", points.len());
    for pair in points.windows(2) {
        assert!(pair[0].segments() < pair[1].segments(), "{name}");
        assert!(pair[0].frames() < pair[1].frames(), "{name}");
    }
    let point = &points[((points.len() as f64 * at) as usize).min(points.len() - 1)];
    // A clean clock lets the resumed run skip decoding; a repaired one does not.
    let clean = serde_json::to_value(point).unwrap()["clean"] == true;
    assert_eq!(clean, check_source, "{name}: clean {clean}");

    let (rest, report, progress) = resumed(input, &options, point);
    assert_eq!(
        report.resumed_from_segment,
        Some(point.segments()),
        "{name}"
    );
    assert_eq!(report.resume_refused, None, "{name}");
    // Nothing before the point is published again, and the numbering goes on.
    for object in &rest.objects {
        if let ObjectKind::Segment { sequence, .. } = object.kind {
            assert!(sequence > point.segments(), "{name}: {}", object.path);
        }
    }
    // Progress starts at the frames already done, never back at 0.
    assert!(
        progress.iter().all(|p| p.frames_done >= point.frames()),
        "{name}: {:?}",
        progress.first()
    );
    // Resumed progressively, the earlier segments are playable again at once.
    assert_eq!(
        rest.objects.iter().position(|o| o.kind.is_growing()),
        Some(0),
        "{name}"
    );

    // The final playlists are those of the uninterrupted run: every segment's duration.
    let (whole_state, rest_state) = (final_state(&whole.objects), final_state(&rest.objects));
    for (path, bytes) in &whole_state {
        if path.ends_with("index.m3u8") {
            assert_eq!(
                std::str::from_utf8(&rest_state[path]).unwrap(),
                std::str::from_utf8(bytes).unwrap(),
                "{name}: {path}"
            );
        } else if path.ends_with(".m3u8") {
            assert_eq!(without_bitrates(&rest_state[path]), without_bitrates(bytes));
        }
    }
    assert_eq!(report.stills, whole_report.stills, "{name}");
    assert_eq!(report.stills.is_some(), stills, "{name}");
    for (path, bytes) in whole_state
        .iter()
        .filter(|(p, _)| p.ends_with(".jpg") || p.ends_with(".vtt"))
    {
        assert!(rest_state[path] == *bytes, "{name}: {path} differs");
    }
    // The I-frame playlists list the earlier run's segments too (sizes from the point).
    for rendition in &report.renditions {
        let path = rendition.playlist.replace("index.m3u8", "iframes.m3u8");
        let text = std::str::from_utf8(&rest_state[&path]).unwrap();
        assert_eq!(
            text.matches("#EXT-X-BYTERANGE:").count() as u64,
            rendition.segments,
            "{name}: {path}"
        );
    }
    for (whole, resumed) in whole_report.renditions.iter().zip(&report.renditions) {
        assert_eq!(resumed.frames, whole.frames, "{name}");
        assert_eq!(resumed.segments, whole.segments, "{name}");
        assert_eq!(resumed.codecs, whole.codecs, "{name}");
    }

    let joined = tempfile::tempdir().unwrap();
    join_outputs(joined.path(), &whole, point, &rest);
    // Decodes without a warning (TS continuity, timestamps), every segment starts with an
    // IDR, durations, frame rate, A/V start: every check of a whole run.
    if check_source {
        assert_valid_hls(joined.path(), input, &report, options.segment_seconds);
    }
    let complete = tempfile::tempdir().unwrap();
    for (path, bytes) in &whole_state {
        let file = complete.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    for rendition in &report.renditions {
        let (joined_playlist, complete_playlist) = (
            joined.path().join(&rendition.playlist),
            complete.path().join(&rendition.playlist),
        );
        let (a, b) = (
            video_frames(&joined_playlist),
            video_frames(&complete_playlist),
        );
        assert_eq!(a.len(), b.len(), "{name} {}: frames", rendition.playlist);
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.0 - y.0).abs() < 1e-6,
                "{name}: frame at {} vs {}",
                x.0,
                y.0
            );
        }
        if report.source.audio.is_some() && report.audio.is_empty() {
            // The audio across the join is the uninterrupted run's, packet for packet:
            // no gap, no overlap, no click.
            assert_eq!(
                audio_packets_md5(&joined_playlist),
                audio_packets_md5(&complete_playlist),
                "{name} {}",
                rendition.playlist
            );
        }
        let warnings = decode_warnings(&joined_playlist);
        assert!(warnings.is_empty(), "{name}: {warnings}");
        let text = std::fs::read_to_string(&joined_playlist).unwrap();
        assert_eq!(
            playlist_segments(&text).len() as u64,
            rendition.segments,
            "{name}"
        );
    }
    // Audio renditions of their own join the same way.
    assert_eq!(report.audio, whole_report.audio, "{name}");
    for audio in &report.audio {
        let joined_playlist = joined.path().join(&audio.playlist);
        assert_eq!(
            audio_packets_md5(&joined_playlist),
            audio_packets_md5(&complete.path().join(&audio.playlist)),
            "{name} {}",
            audio.playlist
        );
        let warnings = decode_warnings(&joined_playlist);
        assert!(warnings.is_empty(), "{name}: {warnings}");
    }
}

/// A point made for other settings, or one whose frames are not where it says (a changed
/// input), starts the conversion from the beginning, says why, and still completes it.
#[test]
fn a_point_that_does_not_fit_starts_over_and_says_why() {
    let input = fixture("h264_aac.mp4");
    let options = ConvertOptions {
        ladder: vec![Rung::with_default_bitrate(240)],
        ..short_segments()
    };
    let (whole, whole_report) = uninterrupted(&input, &options);
    let point = whole.resume_points[2].clone();

    // Another ladder.
    let other = ConvertOptions {
        ladder: vec![Rung::with_default_bitrate(360)],
        ..options.clone()
    };
    let (sink, report, _) = resumed(&input, &other, &point);
    assert_eq!(report.resumed_from_segment, None);
    let refused = report.resume_refused.expect("says why");
    assert!(refused.contains("changed"), "{refused}");
    assert!(
        sink.objects
            .iter()
            .any(|o| matches!(o.kind, ObjectKind::Segment { sequence: 1, .. }))
    );

    // The same settings, but the point's frame is not in the input.
    let mut json: serde_json::Value = serde_json::to_value(&point).unwrap();
    json["pts"] = (json["pts"].as_i64().unwrap() + 1).into();
    let moved: ResumePoint = serde_json::from_value(json).unwrap();
    let (sink, report, _) = resumed(&input, &options, &moved);
    assert_eq!(report.resumed_from_segment, None);
    let refused = report.resume_refused.expect("says why");
    assert!(refused.contains("resuming"), "{refused}");
    assert_eq!(
        report.renditions[0].frames,
        whole_report.renditions[0].frames
    );
    assert_eq!(
        final_state(&sink.objects)["240p/index.m3u8"],
        final_state(&whole.objects)["240p/index.m3u8"]
    );
}
