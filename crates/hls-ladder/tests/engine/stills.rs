//! Posters, storyboards and I-frame playlists, checked by independent readers: ffprobe
//! decodes the JPEGs and each I-frame byte range, webvtt-py parses the storyboard, and the
//! poster's brightness is measured by ffmpeg's `signalstats`, not by our own code.

use std::path::Path;
use std::process::Command;

use hls_ladder::{ConvertOptions, ConvertReport, MemorySink, ObjectKind, convert};

use crate::helpers::{
    convert_fixture, convert_fixture_path, ffprobe, number, playlist_segments, read_vtt,
};

/// Width, height and codec of an image, as ffprobe decodes it.
fn image_size(path: &Path) -> (u32, u32) {
    let probe = ffprobe(&[
        "-count_frames",
        "-show_entries",
        "stream=codec_name,width,height,nb_read_frames",
        path.to_str().unwrap(),
    ]);
    let stream = &probe["streams"][0];
    assert_eq!(stream["codec_name"], "mjpeg", "{}", path.display());
    assert_eq!(number(&stream["nb_read_frames"]), 1.0, "{}", path.display());
    (
        stream["width"].as_u64().unwrap() as u32,
        stream["height"].as_u64().unwrap() as u32,
    )
}

/// Mean luma (0-255) and its spread over the picture, by ffmpeg's signalstats filter.
fn brightness(path: &Path) -> (f64, f64) {
    let probe = ffprobe(&[
        "-f",
        "lavfi",
        "-i",
        &format!("movie={},signalstats", path.display()),
        "-show_entries",
        "frame_tags=lavfi.signalstats.YAVG,lavfi.signalstats.YLOW,lavfi.signalstats.YHIGH",
    ]);
    let tags = &probe["frames"][0]["tags"];
    let tag = |name: &str| number(&tags[format!("lavfi.signalstats.{name}")]);
    (tag("YAVG"), tag("YHIGH") - tag("YLOW"))
}

/// Checks the storyboard against its sheets: every cue is parsed, the cues follow each other
/// from 0 to the end of the video, and each names a rectangle inside a published sheet.
fn check_storyboard(out: &Path, report: &ConvertReport) {
    let stills = report.stills.as_ref().expect("stills");
    let board = &stills.storyboard;
    let cues = read_vtt(&out.join(&board.path));
    assert_eq!(cues.len() as u64, board.thumbnails);
    assert_eq!(cues[0].0, 0.0, "the first thumbnail starts the video");
    for pair in cues.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "cues follow each other: {pair:?}");
        assert!(pair[0].0 < pair[0].1, "{pair:?}");
    }
    let last = cues.last().unwrap();
    assert!(
        (last.1 - report.duration).abs() < 0.1,
        "the last cue ends with the video: {last:?}, {} s",
        report.duration
    );
    let sheets: Vec<(u32, u32)> = board
        .sheets
        .iter()
        .map(|sheet| {
            let size = image_size(&out.join(&sheet.path));
            assert_eq!(size, (sheet.width, sheet.height), "{}", sheet.path);
            size
        })
        .collect();
    for (start, _, payload) in &cues {
        let (file, fragment) = payload.split_once("#xywh=").expect("a media fragment");
        let sheet: usize = file
            .strip_prefix("sprite_")
            .and_then(|f| f.strip_suffix(".jpg"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{payload}"));
        assert!(out.join("storyboard").join(file).is_file(), "{file}");
        let xywh: Vec<u32> = fragment.split(',').map(|n| n.parse().unwrap()).collect();
        let (width, height) = sheets[sheet - 1];
        assert_eq!((xywh[2], xywh[3]), (board.tile_width, board.tile_height));
        assert!(
            xywh[0] + xywh[2] <= width && xywh[1] + xywh[3] <= height,
            "the cue at {start} s points outside {file} ({width}x{height}): {payload}"
        );
    }
}

#[test]
fn a_conversion_publishes_a_poster_a_small_poster_and_a_storyboard() {
    let (dir, report) = convert_fixture("h264_aac.mp4", &ConvertOptions::default());
    let stills = report.stills.clone().expect("stills are made by default");
    let top = &report.renditions[0].rendition;
    assert_eq!(
        image_size(&dir.path().join("poster.jpg")),
        (top.width, top.height)
    );
    assert_eq!(
        (stills.poster.width, stills.poster.height),
        (top.width, top.height)
    );
    let small = image_size(&dir.path().join("poster_small.jpg"));
    assert_eq!(small, (640, 360), "854x480 scaled to 640 wide, even");
    let (mean, _) = brightness(&dir.path().join("poster.jpg"));
    assert!((32.0..224.0).contains(&mean), "mean luma {mean}");
    // 4 s: a thumbnail every 2 s, 160 pixels wide at the source's aspect ratio.
    assert_eq!(stills.storyboard.interval, 2.0);
    assert_eq!(stills.storyboard.thumbnails, 2);
    assert_eq!(
        (stills.storyboard.tile_width, stills.storyboard.tile_height),
        (160, 90)
    );
    check_storyboard(dir.path(), &report);
}

#[test]
fn the_poster_is_not_a_black_intro_nor_a_fade() {
    // 2.5 s of black, a 2 s fade in, then the picture: samples at 0, 2, 4, 6, 8 and 10 s,
    // of which those up to 6 s (half of 12) are candidates. 0 and 2 s are black and 4 s
    // is three quarters into the fade.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("intro.mp4");
    let made = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=25:duration=12,fade=t=in:st=2.5:d=2")
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&input)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let (out, report) = convert_fixture_path(&input, &ConvertOptions::default());
    let stills = report.stills.as_ref().unwrap();
    assert_eq!(stills.poster_time, 6.0, "{stills:?}");
    let (mean, spread) = brightness(&out.path().join("poster.jpg"));
    let (faded, _) = {
        // The frame at 4 s, decoded from the source by ffmpeg, for comparison.
        let still = dir.path().join("at4.png");
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-ss", "4", "-i"])
            .arg(&input)
            .args(["-frames:v", "1"])
            .arg(&still)
            .status()
            .unwrap();
        assert!(status.success());
        brightness(&still)
    };
    assert!(mean > faded, "poster {mean} vs the fade {faded}");
    assert!(
        spread > 100.0,
        "a detailed picture, not a flat one: {spread}"
    );
    check_storyboard(out.path(), &report);
}

#[test]
fn a_long_video_fills_several_sprite_sheets() {
    // 1010 s at one frame a second: a thumbnail every 10 s, 101 in all, so a full first
    // sheet of 10 x 10 and a second one with one.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.mp4");
    let made = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=96x54:rate=1:duration=1010")
        .args(["-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"])
        .arg(&input)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let options = ConvertOptions {
        segment_seconds: 30.0,
        ..ConvertOptions::default()
    };
    let (out, report) = convert_fixture_path(&input, &options);
    let board = &report.stills.as_ref().unwrap().storyboard;
    assert_eq!(board.interval, 10.0);
    assert_eq!(board.thumbnails, 101, "0, 10, ..., 1000 s");
    assert_eq!(board.sheets.len(), 2);
    assert_eq!((board.sheets[0].width, board.sheets[0].height), (960, 540));
    assert_eq!((board.sheets[1].width, board.sheets[1].height), (96, 54));
    check_storyboard(out.path(), &report);
}

#[test]
fn without_stills_nothing_but_hls_is_published() {
    let options = ConvertOptions {
        stills: false,
        ..ConvertOptions::default()
    };
    let mut sink = MemorySink::new();
    let report = convert(
        crate::helpers::fixture("h264_aac.mp4"),
        &options,
        &mut sink,
        |_| {},
    )
    .unwrap();
    assert!(report.stills.is_none());
    assert!(sink.objects.iter().all(|o| !matches!(
        o.kind,
        ObjectKind::Poster { .. } | ObjectKind::StoryboardSheet { .. } | ObjectKind::Storyboard
    )));
}

#[test]
fn the_stills_come_before_the_final_playlists_with_their_content_types() {
    let mut sink = MemorySink::new();
    convert(
        crate::helpers::fixture("no_audio.mp4"),
        &ConvertOptions::default(),
        &mut sink,
        |_| {},
    )
    .unwrap();
    let position = |path: &str| {
        sink.objects
            .iter()
            .position(|o| o.path == path)
            .unwrap_or_else(|| panic!("{path} published"))
    };
    let first_final_playlist = sink
        .objects
        .iter()
        .position(|o| matches!(o.kind, ObjectKind::MediaPlaylist { growing: false, .. }))
        .unwrap();
    for (path, content_type) in [
        ("poster.jpg", "image/jpeg"),
        ("poster_small.jpg", "image/jpeg"),
        ("storyboard/sprite_001.jpg", "image/jpeg"),
        ("storyboard/storyboard.vtt", "text/vtt"),
    ] {
        assert!(position(path) < first_final_playlist, "{path}");
        assert_eq!(sink.objects[position(path)].content_type(), content_type);
    }
    assert!(position("storyboard/sprite_001.jpg") < position("storyboard/storyboard.vtt"));
}

/// The entries of an I-frame playlist: (duration, URI), and each byte range's length.
fn iframe_entries(text: &str) -> (Vec<(f64, String)>, Vec<u64>) {
    let (mut entries, mut ranges, mut duration) = (Vec::new(), Vec::new(), None);
    for line in text.lines() {
        if let Some(extinf) = line.strip_prefix("#EXTINF:") {
            duration = Some(extinf.trim_end_matches(',').parse::<f64>().unwrap());
        } else if let Some(range) = line.strip_prefix("#EXT-X-BYTERANGE:") {
            let length = range.strip_suffix("@0").expect("from the segment's start");
            ranges.push(length.parse().unwrap());
        } else if !line.starts_with('#') && !line.is_empty() {
            entries.push((duration.take().expect("EXTINF first"), line.to_string()));
        }
    }
    assert_eq!(
        entries.len(),
        ranges.len(),
        "a byte range per entry:\n{text}"
    );
    (entries, ranges)
}

/// Every entry of every I-frame playlist is a byte range from a segment's start that ffprobe
/// decodes to exactly one picture, a keyframe; the master lists each playlist.
#[test]
fn iframe_playlists_point_at_one_keyframe_each() {
    for fixture in ["h264_aac.mp4", "no_audio.mp4", "rotated.mp4"] {
        let (dir, report) = convert_fixture(fixture, &crate::helpers::short_segments());
        let out = dir.path();
        let master = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
        for rendition in &report.renditions {
            let name = &rendition.rendition.name;
            let uri = format!("{name}/iframes.m3u8");
            let line = master
                .lines()
                .find(|l| l.contains(&format!("URI=\"{uri}\"")))
                .unwrap_or_else(|| panic!("{fixture}: the master lists {uri}:\n{master}"));
            assert!(
                line.starts_with("#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH="),
                "{line}"
            );
            assert!(
                line.contains(&format!("CODECS=\"{}\"", rendition.codecs[0])),
                "{line}"
            );
            let text = std::fs::read_to_string(out.join(&uri)).unwrap();
            assert!(text.contains("#EXT-X-I-FRAMES-ONLY\n"), "{text}");
            let media = std::fs::read_to_string(out.join(name).join("index.m3u8")).unwrap();
            let segments = playlist_segments(&media);
            let (entries, ranges) = iframe_entries(&text);
            assert_eq!(
                entries, segments,
                "{fixture} {name}: one entry per segment, same durations"
            );
            for ((_, segment), length) in segments.iter().zip(&ranges) {
                let bytes = std::fs::read(out.join(name).join(segment)).unwrap();
                assert!(
                    *length as usize <= bytes.len() && length % 188 == 0,
                    "{length}"
                );
                let cut = dir.path().join("keyframe.ts");
                std::fs::write(&cut, &bytes[..*length as usize]).unwrap();
                let probe = ffprobe(&[
                    "-select_streams",
                    "v",
                    "-show_entries",
                    "frame=pict_type,key_frame",
                    cut.to_str().unwrap(),
                ]);
                let frames = probe["frames"].as_array().unwrap();
                assert_eq!(frames.len(), 1, "{fixture} {name}/{segment}: {frames:?}");
                assert_eq!(frames[0]["pict_type"], "I", "{fixture} {name}/{segment}");
                assert_eq!(frames[0]["key_frame"], 1);
            }
        }
    }
}
