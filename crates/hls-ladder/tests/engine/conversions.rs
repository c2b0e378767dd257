//! Real fixtures from several containers and codecs, converted and checked independently.

use hls_ladder::{ConvertOptions, Rung};

use crate::helpers::{assert_valid_hls, convert_fixture, ffprobe, fixture, short_segments};

fn converts_cleanly(name: &str) -> hls_ladder::ConvertReport {
    let options = short_segments();
    let (dir, report) = convert_fixture(name, &options);
    assert_valid_hls(dir.path(), &fixture(name), &report, options.segment_seconds);
    report
}

fn sizes(report: &hls_ladder::ConvertReport) -> Vec<(u32, u32)> {
    report
        .renditions
        .iter()
        .map(|r| (r.rendition.width, r.rendition.height))
        .collect()
}

#[test]
fn an_h264_aac_mp4_becomes_a_two_rung_ladder_capped_at_its_480p_source() {
    let report = converts_cleanly("h264_aac.mp4");
    assert_eq!(sizes(&report), [(854, 480), (640, 360)]);
    assert_eq!(report.renditions[0].segments, 4);
}

#[test]
fn a_vp8_vorbis_webm_converts() {
    converts_cleanly("vp8_vorbis.webm");
}

#[test]
fn a_video_without_audio_gives_video_only_hls() {
    let report = converts_cleanly("no_audio.mp4");
    assert_eq!(report.renditions[0].codecs.len(), 1);
}

#[test]
fn a_portrait_phone_video_is_rotated_upright() {
    let report = converts_cleanly("rotated.mp4");
    assert_eq!(report.source.rotation, 90);
    assert_eq!(sizes(&report), [(360, 640)]);
}

#[test]
fn variable_frame_rate_keeps_every_frame_at_its_time() {
    converts_cleanly("vfr.mkv");
}

#[test]
fn odd_dimensions_round_to_even_and_5_1_audio_is_downmixed_to_stereo() {
    let options = short_segments();
    let (dir, report) = convert_fixture("odd_size_51.mkv", &options);
    assert_valid_hls(
        dir.path(),
        &fixture("odd_size_51.mkv"),
        &report,
        options.segment_seconds,
    );
    assert_eq!(sizes(&report), [(322, 242)]);
    let audio = ffprobe(&[
        "-select_streams",
        "a",
        "-show_entries",
        "stream=channels,sample_rate",
        dir.path().join("242p/segment_00001.ts").to_str().unwrap(),
    ]);
    assert_eq!(audio["streams"][0]["channels"], 2);
    assert_eq!(audio["streams"][0]["sample_rate"], "48000");
}

#[test]
fn interlaced_mpeg2_in_mpeg_ts_is_deinterlaced_and_converted() {
    let report = converts_cleanly("interlaced.ts");
    assert!(report.source.interlaced);
}

#[test]
fn hevc_at_29_97_fps_converts_with_segment_cuts_aligned_across_renditions() {
    let options = ConvertOptions {
        ladder: vec![
            Rung::with_default_bitrate(360),
            Rung::with_default_bitrate(240),
        ],
        ..short_segments()
    };
    let (dir, report) = convert_fixture("hevc_2997.mp4", &options);
    assert_valid_hls(
        dir.path(),
        &fixture("hevc_2997.mp4"),
        &report,
        options.segment_seconds,
    );
    let durations =
        |name: &str| std::fs::read_to_string(dir.path().join(name).join("index.m3u8")).unwrap();
    let extinf = |text: String| {
        text.lines()
            .filter(|l| l.starts_with("#EXTINF"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        extinf(durations("360p")),
        extinf(durations("240p")),
        "cuts line up across renditions"
    );
}

#[test]
fn non_square_pixels_are_shown_at_their_display_aspect() {
    let report = converts_cleanly("anamorphic.mkv");
    // 720x576 with 64:45 pixels displays as 1024x576: 16:9.
    assert_eq!(
        (report.source.display_width, report.source.display_height),
        (1024, 576)
    );
    assert_eq!(sizes(&report), [(854, 480), (640, 360)]);
}

#[test]
fn playlists_come_after_their_segments_and_the_master_last() {
    let mut sink = hls_ladder::MemorySink::new();
    hls_ladder::convert(
        fixture("h264_aac.mp4"),
        &short_segments(),
        &mut sink,
        |_| {},
    )
    .unwrap();
    let paths: Vec<&str> = sink.objects.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(paths.last(), Some(&"master.m3u8"));
    for rendition in ["480p", "360p"] {
        let playlist = paths
            .iter()
            .position(|p| *p == format!("{rendition}/index.m3u8"))
            .unwrap();
        let last_segment = paths
            .iter()
            .rposition(|p| p.starts_with(rendition) && p.ends_with(".ts"))
            .unwrap();
        assert!(last_segment < playlist, "{rendition}: {paths:?}");
    }
    assert_eq!(paths.iter().filter(|p| p.ends_with(".ts")).count(), 8);
}

#[test]
fn a_qcif_source_with_128_117_pixels_is_rounded_once_to_192_wide() {
    // 176x144 at 128:117 shows 192.55 pixels wide: the nearest even width is 192, not 194.
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::synthetic_clip::Clip {
        size: "176x144",
        rate: "15",
        seconds: 2.0,
        audio: None,
        audio_seconds: None,
    };
    let source = clip.make(
        &dir.path().join("qcif.mp4"),
        &["-vf", "setsar=128/117", "-c:v", "libx264"],
    );
    let (out, report) = crate::helpers::convert_fixture_path(&source, &short_segments());
    // (x264 stores the ratio as 93:85, the same to four decimals.)
    assert_eq!(report.source.display_width, 193, "{:?}", report.source);
    assert_eq!(sizes(&report), [(192, 144)]);
    let rendition = &report.renditions[0].rendition.name;
    let probed = ffprobe(&[
        "-show_entries",
        "stream=width,height,sample_aspect_ratio",
        out.path()
            .join(rendition)
            .join("index.m3u8")
            .to_str()
            .unwrap(),
    ]);
    let stream = &probed["streams"][0];
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(192), Some(144))
    );
    assert!(
        matches!(stream["sample_aspect_ratio"].as_str(), None | Some("1:1")),
        "{stream}"
    );
}

/// A 4K source (made here: 1 s of 3840x2160 at 30 fps) gets 2160p and 1440p on top of the
/// usual ladder, at H.264 levels players accept (High 5.1 for 4K at 30 fps, as the master
/// playlist says and the stream itself says too); `max_output_height` caps it.
#[test]
fn a_4k_source_gets_2160p_and_1440p_within_level_5_1_unless_capped() {
    let temp = tempfile::tempdir().unwrap();
    let source = temp.path().join("uhd.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=3840x2160:rate=30:duration=1")
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=1",
        ])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        .arg(&source)
        .status()
        .unwrap();
    assert!(made.success());
    // The default preset: High profile (ultrafast would make Constrained Baseline).
    let options = ConvertOptions {
        segment_seconds: 1.0,
        ..ConvertOptions::default()
    };
    let (dir, report) = crate::helpers::convert_fixture_path(&source, &options);
    assert_eq!(
        sizes(&report),
        [
            (3840, 2160),
            (2560, 1440),
            (1920, 1080),
            (1280, 720),
            (854, 480),
            (640, 360)
        ]
    );
    assert_valid_hls(dir.path(), &source, &report, options.segment_seconds);
    let top = &report.renditions[0];
    assert_eq!(top.codecs[0], "avc1.640033", "High 5.1: {:?}", top.codecs);
    let segment = dir.path().join("2160p").join("segment_00001.ts");
    let probed = ffprobe(&[
        "-select_streams",
        "v",
        "-show_entries",
        "stream=profile,level,width,height",
        segment.to_str().unwrap(),
    ]);
    let stream = &probed["streams"][0];
    assert_eq!(stream["profile"], "High");
    assert_eq!(stream["level"], 51);
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(3840), Some(2160))
    );
    let master = std::fs::read_to_string(dir.path().join("master.m3u8")).unwrap();
    assert!(
        master.contains("RESOLUTION=3840x2160") && master.contains("avc1.640033"),
        "{master}"
    );

    let capped = ConvertOptions {
        max_output_height: Some(1080),
        ..options
    };
    let (_dir, report) = crate::helpers::convert_fixture_path(&source, &capped);
    assert_eq!(sizes(&report)[0], (1920, 1080));
    assert_eq!(report.renditions.len(), 4);
}
