//! Inputs that are not whole videos: each is refused with the error that names the problem.

use hls_ladder::{ConvertOptions, Error, MemorySink, convert};

use crate::helpers::fixture;

fn convert_error(name: &str) -> Error {
    let mut sink = MemorySink::new();
    let error =
        convert(fixture(name), &ConvertOptions::default(), &mut sink, |_| {}).expect_err(name);
    assert!(
        sink.get("master.m3u8").is_none(),
        "{name}: no master playlist is published on failure"
    );
    error
}

#[test]
fn a_text_file_named_mp4_is_not_a_video() {
    let error = convert_error("not_a_video.mp4");
    assert!(matches!(error, Error::NotAVideo { .. }), "{error:?}");
    assert!(error.is_client_error());
    assert_eq!(error.code(), "not-a-video");
}

#[test]
fn audio_only_files_and_cover_art_have_no_video_stream() {
    let audio = convert_error("audio_only.m4a");
    assert!(
        matches!(&audio, Error::NoVideoStream { found } if found == "audio"),
        "{audio:?}"
    );
    let cover = convert_error("cover_art.mp3");
    assert!(
        matches!(&cover, Error::NoVideoStream { found } if found.contains("cover art")),
        "{cover:?}"
    );
}

#[test]
fn a_truncated_mp4_is_an_error_not_a_short_success() {
    let error = convert_error("truncated.mp4");
    assert!(
        matches!(&error, Error::CorruptInput { reason } if reason.contains("truncated")),
        "{error:?}"
    );
    assert!(error.is_client_error());
}

#[test]
fn a_truncated_matroska_file_is_an_error_too() {
    let error = convert_error("truncated.mkv");
    assert!(matches!(error, Error::CorruptInput { .. }), "{error:?}");
}

#[test]
fn a_codec_no_decoder_knows_is_unsupported() {
    let error = convert_error("unknown_codec.avi");
    assert!(
        matches!(
            &error,
            Error::UnsupportedCodec {
                stream: "video",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_client_error());
}

#[test]
fn a_missing_file_is_an_input_error_not_the_clients_media_fault() {
    let error = convert_error("does-not-exist.mp4");
    assert!(matches!(error, Error::Input { .. }), "{error:?}");
    assert!(!error.is_client_error());
}

#[test]
fn probing_refuses_the_same_files_without_encoding() {
    assert!(matches!(
        hls_ladder::probe(fixture("not_a_video.mp4")),
        Err(Error::NotAVideo { .. })
    ));
    assert!(matches!(
        hls_ladder::probe(fixture("audio_only.m4a")),
        Err(Error::NoVideoStream { .. })
    ));
}

#[test]
fn impossible_options_are_refused_before_any_work() {
    let options = ConvertOptions {
        ladder: vec![],
        ..ConvertOptions::default()
    };
    let error = convert(fixture("h264_aac.mp4"), &options, MemorySink::new(), |_| {}).unwrap_err();
    assert!(matches!(error, Error::InvalidOptions(_)), "{error:?}");
}

/// `convert` on bytes written to a temporary file.
fn convert_bytes_error(bytes: &[u8]) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.bin");
    std::fs::write(&path, bytes).unwrap();
    convert(&path, &ConvertOptions::default(), MemorySink::new(), |_| {}).expect_err("refused")
}

#[test]
fn a_still_image_is_not_a_video() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("still.png");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64",
        ])
        .args(["-frames:v", "1"])
        .arg(&png)
        .status()
        .unwrap();
    assert!(status.success());
    let error = convert_bytes_error(&std::fs::read(&png).unwrap());
    assert!(
        matches!(&error, Error::NotAVideo { reason } if reason.contains("still image")),
        "{error:?}"
    );
}

#[test]
fn an_mp4_missing_its_last_tenth_is_truncated_by_its_frame_count() {
    // Less than a second is missing, so only the frame index can tell.
    let whole = std::fs::read(fixture("h264_aac.mp4")).unwrap();
    let error = convert_bytes_error(&whole[..whole.len() * 9 / 10]);
    assert!(
        matches!(&error, Error::CorruptInput { reason } if reason.contains("frames its index lists")),
        "{error:?}"
    );
}
