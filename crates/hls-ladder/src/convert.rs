//! The entry point: run the media pipeline and publish its output to a sink, in order.
//!
//! This is the consumer end of the segment channel. It runs on the caller's thread, so a
//! sink need not be `Send`; what it publishes, and in which order, is `publisher.rs`'s.

use std::path::Path;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use crossbeam_channel::{never, select};

use crate::ladder::Rendition;
use crate::media::pipeline::{self, Pipeline};
use crate::media::rung_encoder::EncoderSettings;
use crate::media::source;
use crate::media::still_maker::StillsPlan;
use crate::plan::plan_for;
use crate::progress::{Progress, ProgressMeter};
use crate::publisher::Publisher;
use crate::report::{ConvertReport, MASTER_PLAYLIST};
use crate::resume::ResumePoint;
use crate::sink::Sink;
use crate::source_info::{SourceInfo, separate_audio_tracks};
use crate::{CancelToken, ConvertOptions, Error};

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
    run(
        input.as_ref(),
        options,
        None,
        &mut sink,
        &mut on_progress,
        cancel,
    )
}

/// [`convert_with_cancel`], continuing an earlier run of the same conversion that stopped
/// after handing its sink `from` (see [`Sink::resume_point`]): the segments it lists are
/// kept (the playlists name them as the point does), and this run publishes only the ones
/// after them, joined so that no player or check can tell the result from an uninterrupted
/// run (see [`ResumePoint`]). The input must be the same file.
///
/// When the point does not fit (another input, ladder, settings or version of this crate,
/// or an input whose frames are not where the point says), the conversion starts from the
/// beginning instead and says why in [`ConvertReport::resume_refused`].
pub fn resume_with_cancel<S: Sink>(
    input: impl AsRef<Path>,
    options: &ConvertOptions,
    from: &ResumePoint,
    mut sink: S,
    mut on_progress: impl FnMut(&Progress),
    cancel: &CancelToken,
) -> Result<ConvertReport, Error> {
    run(
        input.as_ref(),
        options,
        Some(from),
        &mut sink,
        &mut on_progress,
        cancel,
    )
}

fn run<S: Sink>(
    input: &Path,
    options: &ConvertOptions,
    resume: Option<&ResumePoint>,
    sink: &mut S,
    on_progress: &mut dyn FnMut(&Progress),
    cancel: &CancelToken,
) -> Result<ConvertReport, Error> {
    let started = Instant::now();
    options.validate()?;
    let mut source = source::open(input, &options.limits)?;
    options.limits.check(&source.info)?;
    source.read_written_clock(input);
    let plan = plan_for(source.info.clone(), options);
    let renditions: Vec<Rendition> = plan
        .renditions
        .iter()
        .map(|p| p.rendition.clone())
        .collect();
    let settings = resume_settings(input, &source.info, &renditions, options);
    let (resume, mut refused) = match resume {
        Some(point) if point.settings != settings => (
            None,
            Some("the input, the ladder, the encoding settings or the version changed".to_string()),
        ),
        Some(_) if options.mp4_download => (
            None,
            Some("an MP4 download needs every packet from the start".to_string()),
        ),
        Some(point)
            if point.renditions.len() != renditions.len()
                || point.audio.len() != separate_audio_tracks(&source.info) =>
        {
            (
                None,
                Some("the point does not list every rendition".to_string()),
            )
        }
        other => (other, None),
    };
    let frame_rate = ffmpeg_next::Rational::from(source.info.frame_rate);
    let encoder_settings = EncoderSettings {
        preset: options.preset,
        frame_rate,
        segmenting: options.segmenting(),
    };
    let info = source.info.clone();
    let names = renditions.iter().map(|r| r.name.clone()).collect();
    let meter = ProgressMeter::new(info.frames_expected, info.frame_rate, names)
        .resumed_after(resume.map_or(0, |p| p.frames));

    let stills = renditions
        .iter()
        .max_by_key(|r| r.height)
        .filter(|_| options.stills)
        .map(|top| StillsPlan::for_video(top, info.duration));
    let pipeline = pipeline::start(
        source,
        &renditions,
        encoder_settings,
        options.audio_bitrate,
        options.segment_queue,
        stills,
        options
            .mp4_download
            .then(|| download_plan(&renditions, options)),
        cancel.clone(),
        resume,
    )?;
    let mut publisher = Publisher::new(&renditions, &info, options, settings, resume, stills);
    let mut reported = None;
    let consumed = publisher.begin(sink).and_then(|()| {
        let closing = |counts: &[u64]| ends_soon(&meter.measure(counts, started.elapsed()));
        consume(&pipeline, sink, &mut publisher, &closing, &mut |counts| {
            let progress = meter.measure(counts, started.elapsed());
            if reported != Some(progress.frames_done) {
                reported = Some(progress.frames_done);
                on_progress(&progress);
            }
        })
    });
    if consumed.is_err() {
        pipeline.abort();
        pipeline.drain();
    }
    let counts = pipeline.frames_encoded();
    let missed = pipeline.missed_resume_point();
    let captions = pipeline.captions();
    let summaries = pipeline.join();
    if let (Some(point), true) = (resume, missed) {
        // Nothing was encoded: the demuxer stops at the first frame after the published ones.
        if let Err(error) = &summaries {
            tracing::warn!(%error, segments = point.segments, "the resume point does not fit the input; converting from the beginning");
            refused.get_or_insert_with(|| error.to_string());
        }
        let mut report = run(input, options, None, sink, on_progress, cancel)?;
        report.resume_refused = refused;
        return Ok(report);
    }
    consumed?;
    let summaries = summaries?;

    let captions = std::mem::take(&mut *captions.lock().unwrap_or_else(PoisonError::into_inner));
    let published = publisher.finish(sink, &summaries, &captions)?;
    let (reports, stills, subtitles, audio, downloads) = (
        published.renditions,
        published.stills,
        published.subtitles,
        published.audio,
        published.downloads,
    );
    sink.finish().map_err(|source| Error::Sink {
        object: "(finish)".into(),
        source,
    })?;
    on_progress(&meter.finished(&counts, started.elapsed()));
    let duration = reports.iter().map(|r| r.duration).fold(0.0, f64::max);
    if let Some(reason) = &refused {
        tracing::warn!(reason, "not resumed: converted from the beginning");
    }
    Ok(ConvertReport {
        source: info,
        renditions: reports,
        master_playlist: MASTER_PLAYLIST.into(),
        duration,
        elapsed: started.elapsed(),
        resumed_from_segment: resume.map(|p| p.segments),
        resume_refused: refused,
        stills,
        subtitles,
        audio,
        downloads,
    })
}

/// The tallest rendition up to this height gets the MP4 download.
const DOWNLOAD_MAX_HEIGHT: u32 = 1080;

/// Which rendition the MP4 download holds (the tallest up to 1080p, else the smallest), and
/// the scratch file it is muxed into.
fn download_plan(renditions: &[Rendition], options: &ConvertOptions) -> pipeline::Download {
    let fits = |r: &&Rendition| r.height.min(r.width) <= DOWNLOAD_MAX_HEIGHT;
    let chosen = renditions
        .iter()
        .enumerate()
        .filter(|(_, r)| fits(r))
        .max_by_key(|(_, r)| r.height.min(r.width))
        .or_else(|| {
            renditions
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| r.height.min(r.width))
        })
        .map_or(0, |(index, _)| index);
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!(
        "hls-ladder-{}-{}-{unique}.mp4",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let dir = options
        .scratch_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    // Made when missing; one that cannot be made fails the download's muxer, which says so.
    let _ = std::fs::create_dir_all(&dir);
    pipeline::Download {
        rendition: chosen,
        path: dir.join(name),
    }
}

/// What must not change between a run and the run that resumes it: the input (its length
/// and what the probe saw), the renditions, how they are cut and encoded, and this crate's
/// version (another encoder build may cut or encode differently).
fn resume_settings(
    input: &Path,
    info: &SourceInfo,
    renditions: &[Rendition],
    options: &ConvertOptions,
) -> String {
    let length = std::fs::metadata(input).map(|m| m.len()).ok();
    format!(
        "{} {}; input {length:?} bytes {info:?}; renditions {renditions:?}; segments {} s, first {} s; {}; audio {} b/s",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        options.segment_seconds,
        options.segmenting().first_seconds,
        options.preset,
        options.audio_bitrate,
    )
}

/// How close to its estimated end a conversion stops publishing growing playlists: the final
/// ones follow within about this long anyway. A store whose `Last-Modified` has whole seconds
/// needs a final version to land a second after the growing one it replaces (the service's
/// sink waits for that); a growing version this late would only make it wait.
const LAST_GROWING_BEFORE_END: Duration = Duration::from_millis(1500);

/// Whether the conversion is expected to end within [`LAST_GROWING_BEFORE_END`]: by its
/// estimate, so never once it has encoded more frames than expected (the estimate was short).
fn ends_soon(progress: &Progress) -> bool {
    progress
        .frames_expected
        .is_some_and(|expected| progress.frames_done < expected)
        && progress
            .eta
            .is_some_and(|eta| eta < LAST_GROWING_BEFORE_END)
}

fn consume<S: Sink>(
    pipeline: &Pipeline,
    sink: &mut S,
    publisher: &mut Publisher<'_>,
    closing: &dyn Fn(&[u64]) -> bool,
    progress: &mut dyn FnMut(&[u64]),
) -> Result<(), Error> {
    let mut ticks = pipeline.ticks.clone();
    let mut stills = pipeline.stills.clone();
    loop {
        select! {
            recv(pipeline.segments) -> ready => match ready {
                Ok(ready) => {
                    let closing = closing(&pipeline.frames_encoded());
                    publisher.segment(sink, ready, pipeline.clock_clean(), closing)?;
                }
                // Every rendition is done: the stills follow once their thread is.
                Err(_) => {
                    for ready in pipeline.stills.iter() {
                        publisher.still(sink, ready)?;
                    }
                    return Ok(());
                }
            },
            recv(stills) -> ready => match ready {
                Ok(ready) => publisher.still(sink, ready)?,
                Err(_) => stills = never(),
            },
            recv(ticks) -> tick => match tick {
                Ok(()) => progress(&pipeline.frames_encoded()),
                Err(_) => ticks = never(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u64, expected: Option<u64>, fps: f64) -> Progress {
        let meter = ProgressMeter::new(expected, 24.0, vec!["360p".into()]);
        meter.measure(&[done], Duration::from_secs_f64(done as f64 / fps))
    }

    #[test]
    fn a_conversion_ends_soon_only_by_a_running_estimate() {
        // 60 fps, 48 frames to go: 0.8 s.
        assert!(ends_soon(&progress(952, Some(1000), 60.0)));
        // 120 frames to go: 2 s.
        assert!(!ends_soon(&progress(880, Some(1000), 60.0)));
        // Past the estimate: it was short, and the end is unknown.
        assert!(!ends_soon(&progress(1000, Some(1000), 60.0)));
        assert!(!ends_soon(&progress(1200, Some(1000), 60.0)));
        // No estimate.
        assert!(!ends_soon(&progress(952, None, 60.0)));
    }
}
