//! The MP4 download: one rendition's encoded packets muxed into a progressive MP4 with its
//! index at the front, checked with ffprobe and ffmpeg; never resumed.

use std::path::Path;
use std::process::Command;

use hls_ladder::{ConvertOptions, MemorySink, ObjectKind, Rung, convert, resume_with_cancel};

use crate::helpers::{convert_fixture, ffprobe, fixture, number, short_segments, volume_through};

fn with_download() -> ConvertOptions {
    ConvertOptions {
        mp4_download: true,
        ..short_segments()
    }
}

/// The top-level MP4 boxes of a file, in order.
fn top_level_boxes(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let mut boxes = Vec::new();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned();
        let size = match size {
            1 => u64::from_be_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize,
            0 => bytes.len() - at,
            n => n,
        };
        boxes.push(kind);
        at += size.max(8);
    }
    boxes
}

/// The MD5 of the decoded pictures of `path`'s first video stream.
fn decoded_video_md5(path: &Path) -> String {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-f", "md5", "-"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn an_mp4_download_of_the_tallest_rendition_up_to_1080p_plays_with_both_streams() {
    let options = ConvertOptions {
        ladder: vec![
            Rung::with_default_bitrate(360),
            Rung::with_default_bitrate(240),
        ],
        ..with_download()
    };
    let (dir, report) = convert_fixture("h264_aac.mp4", &options);
    assert_eq!(report.downloads.len(), 1, "{:?}", report.downloads);
    let download = &report.downloads[0];
    assert_eq!(download.rendition, "360p");
    assert_eq!(download.path, "download/360p.mp4");
    let file = dir.path().join(&download.path);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), download.bytes);
    // faststart: the index before the media.
    let boxes = top_level_boxes(&file);
    let (moov, mdat) = (
        boxes.iter().position(|b| b == "moov").unwrap(),
        boxes.iter().position(|b| b == "mdat").unwrap(),
    );
    assert!(moov < mdat, "{boxes:?}");
    let probe = ffprobe(&[
        "-show_entries",
        "format=duration:stream=codec_type,codec_name,width,height,nb_frames",
        file.to_str().unwrap(),
    ]);
    let streams = probe["streams"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = streams
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap(),
                s["codec_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("video", "h264"), ("audio", "aac")], "{probe}");
    let rendition = report
        .renditions
        .iter()
        .find(|r| r.rendition.name == "360p")
        .unwrap();
    assert_eq!(streams[0]["width"], rendition.rendition.width, "{probe}");
    assert_eq!(
        number(&streams[0]["nb_frames"]) as u64,
        rendition.frames,
        "{probe}"
    );
    let duration = number(&probe["format"]["duration"]);
    assert!(
        (duration - report.duration).abs() < 0.1,
        "{duration} vs {}",
        report.duration
    );
    // The same encoded pictures as the segments: no second encode.
    assert_eq!(
        decoded_video_md5(&file),
        decoded_video_md5(&dir.path().join(&rendition.playlist))
    );
}

#[test]
fn with_several_audio_tracks_the_download_has_the_default_one() {
    let (dir, report) = convert_fixture("two_audio_tracks.mkv", &with_download());
    assert_eq!(report.audio.len(), 2);
    let file = dir.path().join(&report.downloads[0].path);
    let probe = ffprobe(&[
        "-show_entries",
        "stream=codec_type,channels",
        file.to_str().unwrap(),
    ]);
    let audio: Vec<_> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .collect();
    assert_eq!(audio.len(), 1, "{probe}");
    // The default track is the 880 Hz one: it passes a 660 Hz high-pass, 440 Hz would not.
    let volumes = [
        volume_through(&file, "highpass", 660),
        volume_through(&file, "lowpass", 660),
    ];
    assert!(
        volumes[0] > volumes[1] + 10.0,
        "above/below 660 Hz: {volumes:?}"
    );
}

#[test]
fn a_conversion_with_a_download_offers_no_resume_point_and_is_not_resumed() {
    let input = fixture("h264_aac.mp4");
    let plain = ConvertOptions {
        progressive: true,
        ..short_segments()
    };
    let mut sink = MemorySink::new();
    convert(&input, &plain, &mut sink, |_| {}).unwrap();
    let point = sink
        .resume_points
        .first()
        .expect("a point without a download")
        .clone();

    let options = ConvertOptions {
        progressive: true,
        ..with_download()
    };
    let mut sink = MemorySink::new();
    let report = convert(&input, &options, &mut sink, |_| {}).unwrap();
    assert!(sink.resume_points.is_empty());
    // The sink got the file (MemorySink reads it through `put_file`'s default), before the
    // final master.
    let at = |wanted: fn(&ObjectKind) -> bool| sink.objects.iter().position(|o| wanted(&o.kind));
    let download = at(|k| matches!(k, ObjectKind::Download { .. })).unwrap();
    let master = at(|k| matches!(k, ObjectKind::MasterPlaylist { growing: false })).unwrap();
    assert!(download < master);
    assert_eq!(
        sink.objects[download].bytes.len() as u64,
        report.downloads[0].bytes
    );
    assert_eq!(sink.objects[download].content_type(), "video/mp4");

    let mut resumed = MemorySink::new();
    let report = resume_with_cancel(
        &input,
        &options,
        &point,
        &mut resumed,
        |_| {},
        &hls_ladder::CancelToken::new(),
    )
    .unwrap();
    assert_eq!(report.resumed_from_segment, None);
    assert_eq!(
        report.resume_refused.as_deref(),
        Some("an MP4 download needs every packet from the start")
    );
    assert_eq!(report.downloads.len(), 1);
}
