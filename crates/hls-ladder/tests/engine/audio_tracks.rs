//! Several audio tracks: each becomes an audio rendition of its own (`#EXT-X-MEDIA:TYPE=AUDIO`)
//! with the source's language, title, channels and default, as long as the video, and carrying
//! that track's sound; a single track stays muxed into every variant.

use std::path::Path;
use std::process::Command;

use hls_ladder::ConvertReport;

use crate::helpers::{
    assert_valid_hls, attribute, convert_fixture, convert_fixture_path, decode_warnings, ffprobe,
    fixture, playlist_segments, short_segments, volume_through,
};

/// The `#EXT-X-MEDIA:TYPE=AUDIO` lines of the master playlist in `out`.
fn audio_media(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("master.m3u8"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=AUDIO,"))
        .map(str::to_string)
        .collect()
}

/// Every audio rendition: decodes without a warning, holds one AAC stream and no video in
/// every segment, is cut where the video is (same segment durations) and lasts as long.
fn assert_audio_renditions(out: &Path, report: &ConvertReport) {
    let video = std::fs::read_to_string(out.join(&report.renditions[0].playlist)).unwrap();
    let video_durations: Vec<f64> = playlist_segments(&video).iter().map(|s| s.0).collect();
    for audio in &report.audio {
        let playlist = out.join(&audio.playlist);
        let warnings = decode_warnings(&playlist);
        assert!(warnings.is_empty(), "{}: {warnings}", audio.playlist);
        let text = std::fs::read_to_string(&playlist).unwrap();
        let segments = playlist_segments(&text);
        assert_eq!(segments.len() as u64, audio.segments, "{}", audio.playlist);
        let durations: Vec<f64> = segments.iter().map(|s| s.0).collect();
        assert_eq!(durations.len(), video_durations.len(), "{text}\n{video}");
        for (a, v) in durations
            .iter()
            .zip(&video_durations)
            .take(durations.len() - 1)
        {
            assert!((a - v).abs() < 1e-3, "{}: {a} vs {v}", audio.playlist);
        }
        let folder = playlist.parent().unwrap();
        for (_, name) in &segments {
            // Named as TS: a segment of silence is too small for ffprobe to guess the format.
            let streams = ffprobe(&[
                "-f",
                "mpegts",
                "-show_entries",
                "stream=codec_type,codec_name,profile,channels,sample_rate",
                folder.join(name).to_str().unwrap(),
            ]);
            let streams = streams["streams"].as_array().unwrap();
            assert_eq!(streams.len(), 1, "{name}: {streams:?}");
            assert_eq!(streams[0]["codec_name"], "aac", "{name}");
            assert_eq!(streams[0]["profile"], "LC", "{name}");
            assert_eq!(streams[0]["sample_rate"], "48000", "{name}");
            assert_eq!(streams[0]["channels"], audio.channels, "{name}");
        }
        // As long as the video, within an AAC frame (the sum of EXTINF, and what decodes).
        let duration = ffprobe(&[
            "-show_entries",
            "format=duration",
            playlist.to_str().unwrap(),
        ]);
        let decoded: f64 = duration["format"]["duration"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let video_total: f64 = video_durations.iter().sum();
        assert!(
            (decoded - video_total).abs() < 0.05,
            "{}: {decoded} s of audio for {video_total} s of video",
            audio.playlist
        );
    }
}

#[test]
fn each_of_several_audio_tracks_is_an_audio_rendition_and_the_default_is_the_sources() {
    let options = short_segments();
    let (dir, report) = convert_fixture("two_audio_tracks.mkv", &options);
    assert_valid_hls(
        dir.path(),
        &fixture("two_audio_tracks.mkv"),
        &report,
        options.segment_seconds,
    );
    let tracks: Vec<(&str, Option<&str>, u16, bool, &str)> = report
        .audio
        .iter()
        .map(|a| {
            let language = a.language.as_deref();
            (
                a.name.as_str(),
                language,
                a.channels,
                a.default,
                a.playlist.as_str(),
            )
        })
        .collect();
    // The fixture: #1 English 440 Hz not default, #2 French 880 Hz default, both stereo,
    // each titled.
    assert_eq!(
        tracks,
        [
            (
                "Track 1 (440 Hz, not default)",
                Some("eng"),
                2,
                false,
                "audio/eng/index.m3u8"
            ),
            (
                "Track 2 (880 Hz, default)",
                Some("fra"),
                2,
                true,
                "audio/fra/index.m3u8"
            ),
        ]
    );
    let media = audio_media(dir.path());
    assert_eq!(
        media,
        [
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Track 1 (440 Hz, not default)\",LANGUAGE=\"eng\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio/eng/index.m3u8\"",
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Track 2 (880 Hz, default)\",LANGUAGE=\"fra\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio/fra/index.m3u8\"",
        ]
    );
    assert_audio_renditions(dir.path(), &report);
    // Each rendition carries its own track: the French one is mostly above 660 Hz (880),
    // the English one mostly below (440).
    for (playlist, tone_above) in [
        ("audio/fra/index.m3u8", true),
        ("audio/eng/index.m3u8", false),
    ] {
        let playlist = dir.path().join(playlist);
        let above = volume_through(&playlist, "highpass", 660);
        let below = volume_through(&playlist, "lowpass", 660);
        let louder = if tone_above {
            above - below
        } else {
            below - above
        };
        assert!(
            louder > 10.0,
            "{}: {above} dB above 660 Hz, {below} dB below",
            playlist.display()
        );
    }
    // BANDWIDTH counts the audio a variant plays with.
    let master = std::fs::read_to_string(dir.path().join("master.m3u8")).unwrap();
    let peak = report.audio.iter().map(|a| a.bandwidth).max().unwrap();
    for rendition in &report.renditions {
        let line = master
            .lines()
            .find(|l| {
                l.starts_with("#EXT-X-STREAM-INF:")
                    && l.contains(&format!("x{}", rendition.rendition.height))
            })
            .unwrap();
        let bandwidth: u64 = attribute(line, "BANDWIDTH").parse().unwrap();
        assert!(bandwidth > peak, "{line}");
        assert_eq!(bandwidth, rendition.bandwidth, "{line}");
    }
}

/// A source with three tracks made here: a stereo one titled, a mono one much shorter than
/// the video, and one no track marks as default.
#[test]
fn titles_channels_and_short_tracks_of_several_audio_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("three_tracks.mkv");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=4",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100:duration=4",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=1320:sample_rate=48000:duration=1.5",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=2000:sample_rate=48000:duration=4",
        ])
        .args(["-map", "0", "-map", "1", "-map", "2", "-map", "3"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args([
            "-c:a", "aac", "-ac:a:0", "2", "-ac:a:1", "1", "-ac:a:2", "6",
        ])
        .args([
            "-metadata:s:a:0",
            "language=eng",
            "-metadata:s:a:0",
            "title=Director's commentary",
        ])
        .args(["-metadata:s:a:1", "language=deu"])
        .args([
            "-disposition:a:0",
            "0",
            "-disposition:a:1",
            "0",
            "-disposition:a:2",
            "0",
        ])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let options = short_segments();
    let (out, report) = convert_fixture_path(&input, &options);
    assert_valid_hls(out.path(), &input, &report, options.segment_seconds);
    let tracks: Vec<(&str, Option<&str>, u16, bool)> = report
        .audio
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.language.as_deref(),
                a.channels,
                a.default,
            )
        })
        .collect();
    // Mono stays mono, 5.1 is mixed to stereo; with no default marked, the one libav would
    // play alone is the default; a track without a language is `und`.
    let default = report.audio.iter().position(|a| a.default).unwrap();
    assert_eq!(report.audio.iter().filter(|a| a.default).count(), 1);
    assert_eq!(
        tracks.iter().map(|t| (t.0, t.1, t.2)).collect::<Vec<_>>(),
        [
            ("Director's commentary", Some("eng"), 2),
            ("deu", Some("deu"), 1),
            ("Audio 3", None, 2),
        ],
        "default {default}"
    );
    let media = audio_media(out.path());
    assert!(
        media[0].contains("NAME=\"Director's commentary\""),
        "{media:?}"
    );
    assert!(
        media[1].contains("CHANNELS=\"1\",URI=\"audio/deu/index.m3u8\""),
        "{media:?}"
    );
    assert!(
        media[2].contains("URI=\"audio/und/index.m3u8\""),
        "{media:?}"
    );
    // The 1.5 s German track is padded with silence to the video's 4 s.
    assert_audio_renditions(out.path(), &report);
}

#[test]
fn a_single_audio_track_stays_in_every_variant_and_mono_stays_mono() {
    let options = short_segments();
    let (dir, report) = convert_fixture("anamorphic.mkv", &options);
    assert!(report.audio.is_empty());
    assert!(audio_media(dir.path()).is_empty());
    let playlist = dir.path().join(&report.renditions[0].playlist);
    let streams = ffprobe(&[
        "-select_streams",
        "a",
        "-show_entries",
        "stream=channels",
        playlist.to_str().unwrap(),
    ]);
    assert_eq!(streams["streams"][0]["channels"], 1, "{streams}");
}

/// Published progressively, the growing master comes once every video and audio rendition
/// has a segment, and lists the audio group like the final one.
#[test]
fn a_progressive_run_publishes_the_audio_renditions_before_its_first_master() {
    let options = hls_ladder::ConvertOptions {
        progressive: true,
        ..short_segments()
    };
    let mut sink = hls_ladder::MemorySink::new();
    let report =
        hls_ladder::convert(fixture("two_audio_tracks.mkv"), &options, &mut sink, |_| {}).unwrap();
    let first_master = sink
        .objects
        .iter()
        .position(|o| {
            matches!(
                o.kind,
                hls_ladder::ObjectKind::MasterPlaylist { growing: true }
            )
        })
        .expect("a growing master");
    for audio in &report.audio {
        let growing = sink.objects[..first_master].iter().any(|o| {
            o.path == audio.playlist
                && matches!(
                    o.kind,
                    hls_ladder::ObjectKind::MediaPlaylist { growing: true, .. }
                )
        });
        assert!(growing, "{} before the first master", audio.playlist);
    }
    let text = String::from_utf8(sink.objects[first_master].bytes.clone()).unwrap();
    assert_eq!(
        text.matches("#EXT-X-MEDIA:TYPE=AUDIO,").count(),
        2,
        "{text}"
    );
    assert!(text.contains(",AUDIO=\"audio\""), "{text}");
}
