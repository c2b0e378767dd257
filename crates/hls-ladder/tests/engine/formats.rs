//! The containers and codecs real uploads come in, generated with the ffmpeg CLI at test time
//! (keeping the repository small), converted, and checked like the fixtures.

use crate::helpers::{assert_valid_hls, convert_fixture_path, short_segments};
use crate::synthetic_clip::Clip;

const SMALL: Clip = Clip {
    size: "320x240",
    rate: "25",
    seconds: 2.0,
    audio: Some("sine=frequency=440:sample_rate=44100"),
    audio_seconds: None,
};

fn converts(file: &str, clip: &Clip, codec_args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let input = clip.make(&dir.path().join(file), codec_args);
    let options = short_segments();
    let (out, report) = convert_fixture_path(&input, &options);
    assert_eq!(
        report.source.audio.is_some(),
        clip.audio.is_some(),
        "{file}: audio detected"
    );
    assert_valid_hls(out.path(), &input, &report, options.segment_seconds);
}

#[test]
fn quicktime_prores_with_pcm_audio() {
    converts(
        "prores.mov",
        &SMALL,
        &["-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le"],
    );
}

#[test]
fn avi_mpeg4_part2_with_mp3() {
    converts(
        "mpeg4.avi",
        &SMALL,
        &["-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame"],
    );
}

#[test]
fn flv_h264_with_aac() {
    converts(
        "h264.flv",
        &SMALL,
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
}

#[test]
fn three_gp_h263_with_mono_aac() {
    let clip = Clip {
        size: "176x144",
        audio: Some("sine=frequency=440:sample_rate=16000"),
        ..SMALL
    };
    converts(
        "h263.3gp",
        &clip,
        &["-c:v", "h263", "-c:a", "aac", "-ac", "1"],
    );
}

#[test]
fn asf_wmv2_with_wma() {
    converts("wmv2.wmv", &SMALL, &["-c:v", "wmv2", "-c:a", "wmav2"]);
}

#[test]
fn ogg_theora_with_vorbis() {
    converts(
        "theora.ogv",
        &SMALL,
        &["-c:v", "libtheora", "-q:v", "5", "-c:a", "libvorbis"],
    );
}

#[test]
fn mpeg_program_stream_mpeg2_with_mp2() {
    let clip = Clip {
        size: "352x288",
        audio: Some("sine=frequency=440:sample_rate=48000"),
        ..SMALL
    };
    converts(
        "mpeg2.mpg",
        &clip,
        &[
            "-c:v",
            "mpeg2video",
            "-b:v",
            "1M",
            "-c:a",
            "mp2",
            "-f",
            "vob",
        ],
    );
}

#[test]
fn matroska_av1_with_opus() {
    let clip = Clip {
        audio: Some("sine=frequency=440:sample_rate=48000"),
        ..SMALL
    };
    converts(
        "av1.mkv",
        &clip,
        &[
            "-c:v",
            "libaom-av1",
            "-cpu-used",
            "8",
            "-crf",
            "50",
            "-b:v",
            "0",
            "-c:a",
            "libopus",
        ],
    );
}

#[test]
fn webm_vp9_with_opus() {
    let clip = Clip {
        audio: Some("sine=frequency=440:sample_rate=48000"),
        ..SMALL
    };
    converts(
        "vp9.webm",
        &clip,
        &[
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-c:a",
            "libopus",
        ],
    );
}

#[test]
fn ten_bit_hevc_from_a_modern_phone() {
    converts(
        "hevc10.mp4",
        &SMALL,
        &[
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p10le",
            "-tag:v",
            "hvc1",
            "-c:a",
            "aac",
            "-x265-params",
            "log-level=error",
        ],
    );
}

#[test]
fn full_range_motion_jpeg_from_a_camera() {
    converts(
        "mjpeg.avi",
        &SMALL,
        &[
            "-c:v",
            "mjpeg",
            "-pix_fmt",
            "yuvj422p",
            "-q:v",
            "5",
            "-c:a",
            "pcm_s16le",
        ],
    );
}

#[test]
fn mpeg_ts_with_5_1_ac3() {
    let clip = Clip {
        audio: Some("sine=frequency=440:sample_rate=48000"),
        ..SMALL
    };
    converts(
        "ac3.ts",
        &clip,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "ac3",
            "-ac",
            "6",
        ],
    );
}

#[test]
fn film_rate_23_976_fps() {
    let clip = Clip {
        rate: "24000/1001",
        seconds: 3.0,
        ..SMALL
    };
    converts(
        "film.mp4",
        &clip,
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
}

#[test]
fn high_frame_rate_59_94_fps() {
    let clip = Clip {
        rate: "60000/1001",
        ..SMALL
    };
    converts(
        "hfr.mp4",
        &clip,
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
}

#[test]
fn a_slow_screen_recording_at_5_fps_without_audio() {
    let clip = Clip {
        size: "1280x720",
        rate: "5",
        seconds: 3.0,
        audio: None,
        ..SMALL
    };
    converts(
        "screen.mkv",
        &clip,
        &["-c:v", "libx264", "-preset", "ultrafast"],
    );
}

#[test]
fn h264_4_4_4_is_converted_to_4_2_0() {
    converts(
        "444.mp4",
        &SMALL,
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv444p",
            "-c:a",
            "aac",
        ],
    );
}

#[test]
fn a_single_frame_video() {
    let clip = Clip {
        rate: "1",
        seconds: 1.0,
        audio: None,
        ..SMALL
    };
    converts(
        "one_frame.mp4",
        &clip,
        &["-c:v", "libx264", "-preset", "ultrafast", "-frames:v", "1"],
    );
}

#[test]
fn concatenated_mpeg_ts_files_whose_clock_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let part = SMALL.make(
        &dir.path().join("part.ts"),
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
    let bytes = std::fs::read(&part).unwrap();
    let joined = dir.path().join("joined.ts");
    std::fs::write(&joined, [bytes.as_slice(), bytes.as_slice()].concat()).unwrap();
    let options = short_segments();
    let (out, report) = convert_fixture_path(&joined, &options);
    let total: f64 = report.renditions[0].duration;
    assert!(
        (total - 4.0).abs() < 0.05,
        "both halves kept, one after the other: {total} s"
    );
    assert_eq!(report.renditions[0].frames, 100);
    let errors = crate::helpers::decode_errors(&out.path().join("240p/index.m3u8"));
    assert!(errors.is_empty(), "{errors}");
}

#[test]
fn audio_that_outlasts_the_video_is_not_mistaken_for_truncation() {
    let dir = tempfile::tempdir().unwrap();
    // One second of picture, four of sound.
    let clip = Clip {
        seconds: 1.0,
        audio: Some("sine=frequency=440:sample_rate=48000"),
        audio_seconds: Some(4.0),
        ..SMALL
    };
    let input = clip.make(
        &dir.path().join("long_audio.mkv"),
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
    let (out, report) = convert_fixture_path(&input, &short_segments());
    assert_eq!(report.renditions[0].frames, 25);
    let errors = crate::helpers::decode_errors(&out.path().join("240p/index.m3u8"));
    assert!(errors.is_empty(), "{errors}");
}
