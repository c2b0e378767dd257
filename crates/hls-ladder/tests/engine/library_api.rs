//! The library as integrators use it: plan, progress, cancel, sinks.

use std::sync::atomic::{AtomicUsize, Ordering};

use hls_ladder::{
    CancelToken, ConvertOptions, Error, HlsObject, MemorySink, Sink, SinkError, convert,
    convert_with_cancel, plan,
};

use crate::helpers::{fixture, short_segments};

#[test]
fn a_shorter_first_segment_is_cut_first_and_the_plan_counts_it() {
    let options = ConvertOptions {
        segment_seconds: 3.0,
        first_segment_seconds: 1.0,
        ..ConvertOptions::default()
    };
    let planned = plan(fixture("h264_aac.mp4"), &options).unwrap();
    let mut sink = MemorySink::new();
    let report = convert(fixture("h264_aac.mp4"), &options, &mut sink, |_| {}).unwrap();
    let rendition = &report.renditions[0];
    // 4 s cut at 1 s and 3 s: 1, 2 and 1 s.
    assert_eq!(planned.expected_segments, Some(rendition.segments));
    let playlist = std::str::from_utf8(&sink.get(&rendition.playlist).unwrap().bytes).unwrap();
    let durations: Vec<f64> = crate::helpers::playlist_segments(playlist)
        .into_iter()
        .map(|(duration, _)| duration)
        .collect();
    assert_eq!(durations.len(), 3, "{playlist}");
    for (duration, expected) in durations.iter().zip([1.0, 2.0, 1.0]) {
        assert!((duration - expected).abs() < 0.05, "{playlist}");
    }
    // The longest segment, rounded (RFC 8216 section 4.3.3.1).
    assert!(playlist.contains("#EXT-X-TARGETDURATION:2\n"), "{playlist}");
    // Off when it is not shorter; and it must be a real duration.
    let off = ConvertOptions {
        first_segment_seconds: 3.0,
        ..options.clone()
    };
    assert_eq!(
        plan(fixture("h264_aac.mp4"), &off)
            .unwrap()
            .expected_segments,
        Some(2)
    );
    let zero = ConvertOptions {
        first_segment_seconds: 0.0,
        ..options
    };
    assert!(matches!(zero.validate(), Err(Error::InvalidOptions(_))));
}

#[test]
fn the_plan_describes_the_source_and_predicts_what_convert_produces() {
    let options = short_segments();
    let planned = plan(fixture("h264_aac.mp4"), &options).unwrap();
    let source = &planned.source;
    assert_eq!(
        (source.width, source.height, source.frame_rate),
        (854, 480, 30.0)
    );
    assert_eq!(source.frames, Some(120));
    assert_eq!(source.video_codec, "h264");
    assert!((source.duration.unwrap() - 4.0).abs() < 0.01);
    let audio = source.audio.as_ref().unwrap();
    assert_eq!(
        (audio.codec.as_str(), audio.sample_rate, audio.channels),
        ("aac", 44_100, 2)
    );
    assert_eq!(planned.expected_segments, Some(4));

    let report = convert(fixture("h264_aac.mp4"), &options, MemorySink::new(), |_| {}).unwrap();
    let planned_renditions: Vec<_> = planned
        .renditions
        .iter()
        .map(|p| (&p.rendition, &p.codecs))
        .collect();
    let produced: Vec<_> = report
        .renditions
        .iter()
        .map(|r| (&r.rendition, &r.codecs))
        .collect();
    assert_eq!(
        planned_renditions, produced,
        "the dry run predicts sizes, bitrates and codec strings"
    );
}

#[test]
fn progress_is_reported_per_frame_up_to_100_percent() {
    let mut seen = Vec::new();
    convert(
        fixture("no_audio.mp4"),
        &short_segments(),
        MemorySink::new(),
        |p| seen.push(p.clone()),
    )
    .unwrap();
    let last = seen.last().unwrap();
    assert_eq!(
        (last.frames_done, last.frames_expected, last.percent),
        (50, Some(50), Some(100.0))
    );
    assert!(
        seen.windows(2)
            .all(|w| w[0].frames_done <= w[1].frames_done),
        "monotonic"
    );
    assert!(
        seen.len() >= 10,
        "many frame-level updates, got {}",
        seen.len()
    );
    assert!(
        seen.iter()
            .all(|p| p.renditions.len() == 1 && p.renditions[0].name == "240p")
    );
    assert!(last.fps > 0.0 && last.speed > 0.0);
}

#[test]
fn a_conversion_canceled_from_another_thread_stops_with_canceled_and_publishes_no_master() {
    let cancel = CancelToken::new();
    let remote = cancel.clone();
    let mut sink = MemorySink::new();
    let result = convert_with_cancel(
        fixture("h264_aac.mp4"),
        &short_segments(),
        &mut sink,
        |p| {
            if p.frames_done >= 5 {
                let remote = remote.clone();
                std::thread::spawn(move || remote.cancel()).join().unwrap();
            }
        },
        &cancel,
    );
    assert!(matches!(result, Err(Error::Canceled)), "{result:?}");
    assert!(sink.get("master.m3u8").is_none());
}

struct FailingSink {
    puts: AtomicUsize,
}

impl Sink for FailingSink {
    fn put(&mut self, _object: HlsObject) -> Result<(), SinkError> {
        if self.puts.fetch_add(1, Ordering::Relaxed) == 2 {
            return Err("bucket is full".into());
        }
        Ok(())
    }
}

#[test]
fn a_failing_sink_stops_the_conversion_with_a_sink_error() {
    let mut sink = FailingSink {
        puts: AtomicUsize::new(0),
    };
    let error = convert(
        fixture("h264_aac.mp4"),
        &short_segments(),
        &mut sink,
        |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Sink { source, .. } if source.to_string() == "bucket is full"),
        "{error:?}"
    );
    assert!(!error.is_client_error());
    assert_eq!(
        sink.puts.load(Ordering::Relaxed),
        3,
        "nothing is put after the failure"
    );
}

#[test]
fn a_custom_ladder_never_upscales() {
    let options = ConvertOptions {
        ladder: vec![hls_ladder::Rung {
            height: 1080,
            video_bitrate: 5_000_000,
        }],
        ..short_segments()
    };
    let report = convert(fixture("no_audio.mp4"), &options, MemorySink::new(), |_| {}).unwrap();
    let r = &report.renditions[0].rendition;
    assert_eq!(
        (r.width, r.height),
        (320, 240),
        "a source smaller than every rung keeps its size"
    );
}

/// Collects what a tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn libav_log_lines_reach_tracing_under_the_libav_target_and_are_quiet_by_default() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("libav=debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // An MP4 cut inside its header: the MP4 demuxer complains while reading it.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.mp4");
    let whole = std::fs::read(fixture("h264_aac.mp4")).unwrap();
    std::fs::write(&cut, &whole[..2000]).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let _ = hls_ladder::probe(&cut);
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("libav"),
        "libav's complaint about the file is logged: {text}"
    );

    let quiet = Captured::default();
    let writer = quiet.clone();
    let default_level = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(default_level, || {
        let _ = hls_ladder::probe(&cut);
    });
    assert!(
        quiet.0.lock().unwrap().is_empty(),
        "nothing from libav at the default level"
    );
}
