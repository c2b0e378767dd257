//! Text subtitle tracks of the source become WebVTT subtitle renditions, checked with
//! webvtt-py (every segment parses, its cues are the source's, at the source's times) and
//! against the master playlist's `#EXT-X-MEDIA` entries.

use std::path::Path;
use std::process::Command;

use hls_ladder::ConvertOptions;

use crate::helpers::{convert_fixture_path, playlist_segments, read_vtt};

const ENGLISH: &str = "1\n00:00:01,000 --> 00:00:02,500\nHello <i>there</i>\n\n\
                       2\n00:00:05,500 --> 00:00:06,500\nAcross\nthe cut\n";
const FRENCH: &str = "1\n00:00:03,250 --> 00:00:04,000\nBonjour & bienvenue\n";

/// An 8 s clip with an English track (default) and a French one (forced), as `subtitle_codec`
/// in the container `extension` names.
fn clip_with_subtitles(dir: &Path, extension: &str, subtitle_codec: &str) -> std::path::PathBuf {
    let (en, fr) = (dir.join("en.srt"), dir.join("fr.srt"));
    std::fs::write(&en, ENGLISH).unwrap();
    std::fs::write(&fr, FRENCH).unwrap();
    let out = dir.join(format!("subtitled.{extension}"));
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=25:duration=8")
        .arg("-i")
        .arg(&en)
        .arg("-i")
        .arg(&fr)
        .args([
            "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-c:s",
        ])
        .arg(subtitle_codec)
        .args([
            "-metadata:s:s:0",
            "language=eng",
            "-metadata:s:s:1",
            "language=fre",
            "-disposition:s:0",
            "default",
            "-disposition:s:1",
            "forced",
        ])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    out
}

/// The cues of a WebVTT file as webvtt-py reads them, and its header lines.
fn read_segment(path: &Path) -> (Vec<(f64, f64, String)>, String) {
    let header = std::fs::read_to_string(path).unwrap();
    let header = header.split("\n\n").next().unwrap().trim_end().to_string();
    (read_vtt(path), header)
}

/// Every cue of a subtitle rendition, once, from its segments; checks each segment on the way.
fn rendition_cues(out: &Path, playlist: &str, video_segments: usize) -> Vec<(f64, f64, String)> {
    let text = std::fs::read_to_string(out.join(playlist)).unwrap();
    let segments = playlist_segments(&text);
    assert_eq!(
        segments.len(),
        video_segments,
        "{playlist}: one per video segment"
    );
    let dir = out.join(playlist).parent().unwrap().to_path_buf();
    let mut cues: Vec<(f64, f64, String)> = Vec::new();
    let mut start = 0.0;
    for (duration, uri) in segments {
        let (in_segment, header) = read_segment(&dir.join(&uri));
        assert_eq!(
            header, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000",
            "{uri}"
        );
        for cue in in_segment {
            assert!(
                cue.0 < start + duration && cue.1 > start,
                "{uri} ({start}..{} s) holds a cue outside it: {cue:?}",
                start + duration
            );
            if !cues.contains(&cue) {
                cues.push(cue);
            }
        }
        start += duration;
    }
    cues
}

#[test]
fn text_subtitle_tracks_become_webvtt_renditions() {
    for (extension, codec) in [("mkv", "srt"), ("mkv", "ass"), ("mp4", "mov_text")] {
        let dir = tempfile::tempdir().unwrap();
        let input = clip_with_subtitles(dir.path(), extension, codec);
        let (out, report) = convert_fixture_path(&input, &ConvertOptions::default());
        let out = out.path();
        let tracks = &report.subtitles;
        assert_eq!(tracks.len(), 2, "{codec}: {tracks:?}");
        assert_eq!(
            (
                tracks[0].language.as_deref(),
                tracks[0].default,
                tracks[0].forced
            ),
            (Some("eng"), true, false),
            "{codec}"
        );
        assert_eq!(
            (
                tracks[1].language.as_deref(),
                tracks[1].default,
                tracks[1].forced
            ),
            (Some("fre"), false, true),
            "{codec}"
        );
        let master = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
        assert!(
            master.contains("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"eng\",LANGUAGE=\"eng\",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI=\"subs/eng/index.m3u8\"\n"),
            "{codec}: {master}"
        );
        assert!(
            master.contains("FORCED=YES,URI=\"subs/fre/index.m3u8\""),
            "{master}"
        );
        for line in master
            .lines()
            .filter(|l| l.starts_with("#EXT-X-STREAM-INF"))
        {
            assert!(line.ends_with(",SUBTITLES=\"subs\""), "{line}");
        }
        let video_segments = report.renditions[0].segments as usize;
        assert_eq!(
            rendition_cues(out, "subs/eng/index.m3u8", video_segments),
            [
                (1.0, 2.5, "Hello there".to_string()),
                (5.5, 6.5, "Across\nthe cut".to_string())
            ],
            "{codec}"
        );
        assert_eq!(
            rendition_cues(out, "subs/fre/index.m3u8", video_segments),
            [(3.25, 4.0, "Bonjour & bienvenue".to_string())],
            "{codec}"
        );
    }
}

#[test]
fn a_source_without_subtitles_has_no_subtitle_group() {
    let (out, report) = convert_fixture_path(
        &crate::helpers::fixture("h264_aac.mp4"),
        &ConvertOptions::default(),
    );
    assert!(report.subtitles.is_empty());
    let master = std::fs::read_to_string(out.path().join("master.m3u8")).unwrap();
    assert!(!master.contains("SUBTITLES"), "{master}");
    assert!(!out.path().join("subs").exists());
}
