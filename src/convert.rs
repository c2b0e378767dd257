//! The entry point: run the media pipeline and publish its output to a sink, in order.
//!
//! This is the consumer end of the segment channel. It runs on the caller's thread, so a
//! sink need not be `Send`; it builds the playlists from the segments it has seen and
//! publishes each media playlist after its segments and the master playlist last.

use std::path::Path;
use std::time::{Duration, Instant};

use crossbeam_channel::{never, select};
use serde::{Deserialize, Serialize};

use crate::hls::{AAC_LC, MasterPlaylist, MediaPlaylist, PlaylistSegment, Variant};
use crate::ladder::Rendition;
use crate::media::pipeline::{self, Pipeline, SegmentReady};
use crate::media::rung_encoder::{EncoderSettings, RungSummary};
use crate::media::source::{self, SourceInfo};
use crate::plan::plan_for;
use crate::progress::{Progress, ProgressMeter};
use crate::sink::{HlsObject, ObjectKind, Sink};
use crate::{CancelToken, ConvertOptions, Error};

/// Path of the master playlist, relative to the output root.
pub const MASTER_PLAYLIST: &str = "master.m3u8";

/// What one rendition came to. Read back leniently (`serde(default)`), like [`Progress`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RenditionReport {
    /// Name, size and target bitrate.
    #[serde(flatten)]
    pub rendition: Rendition,
    /// RFC 6381 codec strings as published, read from the encoded stream.
    pub codecs: Vec<String>,
    /// Path of the media playlist, relative to the output root.
    pub playlist: String,
    /// Number of segments.
    pub segments: u64,
    /// Total bytes of the segments.
    pub bytes: u64,
    /// Duration in seconds.
    pub duration: f64,
    /// Frames encoded.
    pub frames: u64,
    /// Peak segment bitrate (BANDWIDTH), bits per second.
    pub bandwidth: u64,
    /// Average bitrate (AVERAGE-BANDWIDTH), bits per second.
    pub average_bandwidth: u64,
}

/// What a finished conversion produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvertReport {
    /// Facts about the input.
    pub source: SourceInfo,
    /// The renditions, largest first.
    pub renditions: Vec<RenditionReport>,
    /// Path of the master playlist, relative to the output root.
    pub master_playlist: String,
    /// Duration of the output in seconds.
    pub duration: f64,
    /// Wall time the conversion took.
    #[serde(serialize_with = "as_secs")]
    pub elapsed: Duration,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Converts the video file at `input` to HLS, handing every segment and playlist to `sink` and
/// reporting per-frame progress to `on_progress`. Blocks until done; media work runs on
/// threads of its own, the sink and the callback on the calling thread.
///
/// ```no_run
/// use hls_ladder::{convert, ConvertOptions, DirectorySink};
/// let sink = DirectorySink::new("out")?;
/// let report = convert("input.mp4", &ConvertOptions::default(), sink, |p| {
///     eprintln!("{} frames, {:?}%", p.frames_done, p.percent);
/// })?;
/// println!("{} renditions, {:.1} s", report.renditions.len(), report.duration);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn convert<S: Sink>(
    input: impl AsRef<Path>,
    options: &ConvertOptions,
    sink: S,
    on_progress: impl FnMut(&Progress),
) -> Result<ConvertReport, Error> {
    convert_with_cancel(input, options, sink, on_progress, &CancelToken::new())
}

/// [`convert`], stoppable from another thread with `cancel`; a canceled conversion returns
/// [`Error::Canceled`] and never publishes the master playlist.
pub fn convert_with_cancel<S: Sink>(
    input: impl AsRef<Path>,
    options: &ConvertOptions,
    mut sink: S,
    mut on_progress: impl FnMut(&Progress),
    cancel: &CancelToken,
) -> Result<ConvertReport, Error> {
    let started = Instant::now();
    options.validate()?;
    let mut source = source::open(input.as_ref(), &options.limits)?;
    options.limits.check(&source.info)?;
    source.read_written_clock(input.as_ref());
    let plan = plan_for(source.info.clone(), options);
    let renditions: Vec<Rendition> = plan
        .renditions
        .iter()
        .map(|p| p.rendition.clone())
        .collect();
    let frame_rate = ffmpeg_next::Rational::from(source.info.frame_rate);
    let settings = EncoderSettings {
        preset: options.preset,
        frame_rate,
        segment_seconds: options.segment_seconds,
    };
    let info = source.info.clone();
    let names = renditions.iter().map(|r| r.name.clone()).collect();
    let meter = ProgressMeter::new(info.frames_expected, info.frame_rate, names);

    let pipeline = pipeline::start(
        source,
        &renditions,
        settings,
        options.audio_bitrate,
        options.segment_queue,
        cancel.clone(),
    )?;
    let mut published: Vec<Published> = renditions.iter().map(|_| Published::default()).collect();
    let mut reported = None;
    let consumed = consume(
        &pipeline,
        &mut sink,
        &renditions,
        &mut published,
        &mut |counts| {
            let progress = meter.measure(counts, started.elapsed());
            if reported != Some(progress.frames_done) {
                reported = Some(progress.frames_done);
                on_progress(&progress);
            }
        },
    );
    if consumed.is_err() {
        pipeline.abort();
        for _ in pipeline.segments.iter() {}
    }
    let counts = pipeline.frames_encoded();
    let summaries = pipeline.join();
    consumed?;
    let summaries = summaries?;

    let reports = publish_playlists(&mut sink, &renditions, &published, &summaries, &info)?;
    sink.finish().map_err(|source| Error::Sink {
        object: "(finish)".into(),
        source,
    })?;
    on_progress(&meter.finished(&counts, started.elapsed()));
    let duration = reports.iter().map(|r| r.duration).fold(0.0, f64::max);
    Ok(ConvertReport {
        source: info,
        renditions: reports,
        master_playlist: MASTER_PLAYLIST.into(),
        duration,
        elapsed: started.elapsed(),
    })
}

/// Segments published for one rendition.
#[derive(Default)]
struct Published {
    playlist: MediaPlaylist,
    /// Bytes of each segment, in playlist order.
    sizes: Vec<u64>,
}

impl Published {
    fn bytes(&self) -> u64 {
        self.sizes.iter().sum()
    }

    /// BANDWIDTH: the peak segment bitrate. Segments under a second (the tail) would overstate
    /// it, so they count only when there is nothing else.
    fn peak_bitrate(&self) -> u64 {
        let rates = |min_duration: f64| {
            self.playlist
                .segments
                .iter()
                .zip(&self.sizes)
                .filter(|(s, _)| s.duration >= min_duration)
                .map(|(s, &bytes)| bytes as f64 * 8.0 / s.duration.max(0.001))
                .fold(None, |peak: Option<f64>, rate| {
                    Some(peak.map_or(rate, |p| p.max(rate)))
                })
        };
        rates(1.0).or_else(|| rates(0.0)).unwrap_or(0.0).round() as u64
    }
}

fn consume<S: Sink>(
    pipeline: &Pipeline,
    sink: &mut S,
    renditions: &[Rendition],
    published: &mut [Published],
    progress: &mut dyn FnMut(&[u64]),
) -> Result<(), Error> {
    let mut ticks = pipeline.ticks.clone();
    loop {
        select! {
            recv(pipeline.segments) -> ready => match ready {
                Ok(ready) => publish_segment(sink, renditions, published, ready)?,
                Err(_) => return Ok(()),
            },
            recv(ticks) -> tick => match tick {
                Ok(()) => progress(&pipeline.frames_encoded()),
                Err(_) => ticks = never(),
            },
        }
    }
}

fn publish_segment<S: Sink>(
    sink: &mut S,
    renditions: &[Rendition],
    published: &mut [Published],
    ready: SegmentReady,
) -> Result<(), Error> {
    let name = &renditions[ready.rendition].name;
    let segment = ready.segment;
    let uri = format!("segment_{:05}.ts", segment.sequence);
    let path = format!("{name}/{uri}");
    let entry = &mut published[ready.rendition];
    let size = segment.bytes.len() as u64;
    let kind = ObjectKind::Segment {
        rendition: name.clone(),
        sequence: segment.sequence,
        duration: segment.duration,
    };
    sink.put(HlsObject {
        path: path.clone(),
        bytes: segment.bytes,
        kind,
    })
    .map_err(|source| Error::Sink {
        object: path,
        source,
    })?;
    if entry.playlist.segments.is_empty() {
        entry.playlist.media_sequence = segment.sequence;
    }
    entry.playlist.segments.push(PlaylistSegment {
        uri,
        duration: segment.duration,
    });
    entry.sizes.push(size);
    Ok(())
}

fn publish_playlists<S: Sink>(
    sink: &mut S,
    renditions: &[Rendition],
    published: &[Published],
    summaries: &[RungSummary],
    info: &SourceInfo,
) -> Result<Vec<RenditionReport>, Error> {
    let mut put = |path: String, text: String, kind: ObjectKind| {
        sink.put(HlsObject {
            path: path.clone(),
            bytes: text.into_bytes(),
            kind,
        })
        .map_err(|source| Error::Sink {
            object: path,
            source,
        })
    };
    let mut reports = Vec::new();
    let mut master = MasterPlaylist::default();
    for ((rendition, entry), summary) in renditions.iter().zip(published).zip(summaries) {
        let playlist = format!("{}/index.m3u8", rendition.name);
        put(
            playlist.clone(),
            entry.playlist.render(),
            ObjectKind::MediaPlaylist {
                rendition: rendition.name.clone(),
            },
        )?;
        let duration = entry.playlist.duration();
        let mut codecs = vec![summary.codec_string.clone()];
        if info.audio.is_some() {
            codecs.push(AAC_LC.to_string());
        }
        let average_bandwidth = (entry.bytes() as f64 * 8.0 / duration.max(0.001)).round() as u64;
        let bandwidth = entry.peak_bitrate().max(average_bandwidth);
        master.variants.push(Variant {
            uri: playlist.clone(),
            bandwidth,
            average_bandwidth,
            width: rendition.width,
            height: rendition.height,
            frame_rate: info.frame_rate,
            codecs: codecs.clone(),
        });
        reports.push(RenditionReport {
            rendition: rendition.clone(),
            codecs,
            playlist,
            segments: entry.playlist.segments.len() as u64,
            bytes: entry.bytes(),
            duration,
            frames: summary.frames,
            bandwidth,
            average_bandwidth,
        });
    }
    put(
        MASTER_PLAYLIST.into(),
        master.render(),
        ObjectKind::MasterPlaylist,
    )?;
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(segments: &[(f64, u64)]) -> Published {
        let mut p = Published::default();
        for (i, &(duration, bytes)) in segments.iter().enumerate() {
            p.playlist.segments.push(PlaylistSegment {
                uri: format!("s{i}.ts"),
                duration,
            });
            p.sizes.push(bytes);
        }
        p
    }

    #[test]
    fn peak_bandwidth_ignores_a_short_tail_segment() {
        let p = published(&[(6.0, 750_000), (6.0, 1_500_000), (0.2, 100_000)]);
        assert_eq!(p.peak_bitrate(), 2_000_000);
        assert_eq!(p.bytes(), 2_350_000);
    }

    #[test]
    fn a_lone_short_segment_still_gives_a_peak() {
        assert_eq!(published(&[(0.5, 1_000)]).peak_bitrate(), 16_000);
        assert_eq!(published(&[]).peak_bitrate(), 0);
    }
}
