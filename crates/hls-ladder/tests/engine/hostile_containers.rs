//! Inputs that try to make libav read other files than themselves: playlists, scripts and
//! manifests naming a sibling, image-sequence patterns, protocol names given as paths. Each is
//! refused before anything is read from the sibling, and nothing reaches the sink.
//!
//! Every attack file is first checked to be a working attack: the ffmpeg CLI, which opens
//! names the way libav does by default, does follow it to the sibling's video.

use std::path::{Path, PathBuf};
use std::process::Command;

use hls_ladder::{ConvertOptions, Error, MemorySink, convert, probe};

use crate::helpers::fixture;

/// A directory holding the victim (another user's upload) in the formats the attacks name.
struct Neighbourhood {
    dir: tempfile::TempDir,
}

impl Neighbourhood {
    fn new() -> Neighbourhood {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("h264_aac.mp4"), dir.path().join("victim.mp4")).unwrap();
        let status = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(dir.path().join("victim.mp4"))
            .args(["-c", "copy", "-f", "mpegts"])
            .arg(dir.path().join("victim.ts"))
            .status()
            .unwrap();
        assert!(status.success());
        Neighbourhood { dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The ffmpeg CLI, with libav's default way of opening names, reads a video through `path`:
/// so `path` would reach the sibling if we opened it by name.
fn assert_libav_would_follow(path: &Path, extra: &[&str]) {
    let output = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(extra)
        .args(["-select_streams", "v", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let codecs = String::from_utf8_lossy(&output.stdout);
    assert!(
        codecs.contains("h264"),
        "the attack in {} should work against libav's defaults (ffprobe: {codecs} {})",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Converting `path` is refused as not a video, with a reason containing `because`, and the
/// sink receives nothing at all. `probe` refuses it too.
fn assert_refused(path: &Path, because: &str) {
    let mut sink = MemorySink::new();
    let error = convert(path, &ConvertOptions::default(), &mut sink, |_| {})
        .expect_err("an input naming other files must not convert");
    assert!(
        matches!(&error, Error::NotAVideo { reason } if reason.contains(because)),
        "{}: {error:?}",
        path.display()
    );
    assert_eq!(error.code(), "not-a-video");
    assert!(
        sink.objects.is_empty(),
        "nothing may reach the sink, got {:?}",
        sink.objects.iter().map(|o| &o.path).collect::<Vec<_>>()
    );
    let probed = probe(path).expect_err("probe refuses it too");
    assert_eq!(probed.code(), "not-a-video", "{probed:?}");
}

#[test]
fn an_ffconcat_script_naming_a_sibling_is_refused() {
    let place = Neighbourhood::new();
    let relative = place.write("a.upload", "ffconcat version 1.0\nfile victim.mp4\n");
    assert_libav_would_follow(&relative, &[]);
    assert_refused(&relative, "ffconcat script");

    let absolute = place.dir.path().join("victim.mp4");
    let text = format!("ffconcat version 1.0\nfile '{}'\n", absolute.display());
    let absolute = place.write("b.upload", &text);
    assert_libav_would_follow(&absolute, &["-safe", "0"]);
    assert_refused(&absolute, "ffconcat script");

    let nested = "ffconcat version 1.0\nfile 'subfile,,start,0,end,0,,:victim.mp4'\n";
    assert_refused(&place.write("c.upload", nested), "ffconcat script");
}

#[test]
fn an_hls_playlist_naming_a_sibling_segment_is_refused() {
    let place = Neighbourhood::new();
    let playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n\
                    #EXTINF:10.0,\nvictim.ts\n#EXT-X-ENDLIST\n";
    let path = place.write("playlist.m3u8", playlist);
    assert_libav_would_follow(&path, &[]);
    assert_refused(&path, "HLS playlist");
    // The same text under any name: detection is by content, not by extension.
    assert_refused(&place.write("p.upload", playlist), "HLS playlist");
}

#[test]
fn a_dash_manifest_naming_a_sibling_is_refused() {
    let place = Neighbourhood::new();
    let manifest = r#"<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S"
     minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period>
    <AdaptationSet mimeType="video/mp4">
      <Representation id="1" bandwidth="500000" width="640" height="360" codecs="avc1.64001e">
        <BaseURL>victim.mp4</BaseURL>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"#;
    let path = place.write("manifest.mpd", manifest);
    assert_libav_would_follow(&path, &[]);
    assert_refused(&path, "DASH manifest");
    assert_refused(&place.write("m.upload", manifest), "DASH manifest");
}

#[test]
fn an_image_sequence_pattern_is_read_as_one_file_never_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=64x64:rate=10:duration=3")
        .arg(dir.path().join("img%03d.png"))
        .status()
        .unwrap();
    assert!(status.success());
    let pattern = dir.path().join("img%03d.png");
    assert_libav_would_follow_images(&pattern);
    // No file has the pattern's literal name: nothing to open, and no sibling expanded.
    let error = probe(&pattern).expect_err("a pattern is not a file");
    assert_eq!(error.code(), "input-unreadable", "{error:?}");
    // A file with the pattern's name is read as itself: one still image, refused.
    std::fs::copy(dir.path().join("img001.png"), &pattern).unwrap();
    assert_refused(&pattern, "still image");
}

fn assert_libav_would_follow_images(pattern: &Path) {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(pattern)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "30");
}

#[test]
fn protocol_and_nested_file_names_given_as_paths_are_only_file_names() {
    let video = fixture("h264_aac.mp4");
    for name in [
        format!("subfile,,start,0,end,0,,:{}", video.display()),
        format!("file:{}", video.display()),
        "http://127.0.0.1:9/clip.mp4".to_string(),
        "data:video/mp4;base64,AAAA".to_string(),
    ] {
        let error = probe(&name).expect_err(&name);
        assert_eq!(error.code(), "input-unreadable", "{name}: {error:?}");
    }
}

#[test]
fn a_script_or_unknown_format_is_refused_by_name_and_a_real_file_still_converts() {
    let place = Neighbourhood::new();
    // An SBG script synthesizes audio; no video container reads it.
    let sbg = place.write("tones.upload", "-SE\na: 300+2.5/3 \nNOW a\n");
    let error = probe(&sbg).expect_err("a script is no video");
    assert!(
        matches!(&error, Error::NotAVideo { reason } if reason.contains("script that generates media")),
        "{error:?}"
    );
    // The victim itself is a fine video, read through the same opening.
    assert!(probe(place.dir.path().join("victim.mp4")).is_ok());
    assert!(probe(place.dir.path().join("victim.ts")).is_ok());
}
