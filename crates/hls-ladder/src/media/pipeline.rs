//! The threads of a conversion and the channels between them.
//!
//! ```text
//!  demux+decode thread ──frames, AAC packets──▶ one thread per rendition ──segments──▶ caller
//!    (video decoded once,   bounded channels      (scale, x264, mux TS)    one bounded
//!     audio encoded once)                                                   crossbeam channel
//!          │
//!          ├──a frame every few seconds──▶ stills thread ──sheets, posters──▶ caller
//!          │                               (thumbnails, JPEG)
//!          └──AAC packets, frame times──▶ one thread per audio track ──segments──▶ caller
//!             (sources with several        (mux audio-only TS, cut where
//!              audio tracks only)            the video is cut)
//! ```
//! Every channel is bounded, so a slow consumer slows the encoders instead of filling memory.
//! A thread that fails records the error and drops its channel ends; the others see the
//! disconnect and stop, and [`Pipeline::join`] returns the first real error.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded, never, select};

use crate::Error;
use crate::cancel::CancelToken;
use crate::captions::Cue;
use crate::ladder::Rendition;
use crate::media::audio_lane::{AudioLane, LaneStart};
use crate::media::audio_track::{AUDIO_TIME_BASE, AudioTrack};
use crate::media::demux_thread::{self, Declared, Flags, Sampler, Skip, Subtitles};
use crate::media::ffi;
use crate::media::messages::{LaneInput, RungInput, SegmentOf, SegmentReady, StillInput, Stop};
use crate::media::rung_encoder::{
    DownloadPlan, EncoderSettings, RungEncoder, RungStart, RungSummary,
};
use crate::media::source::Source;
use crate::media::still_maker::{StillMaker, StillReady, StillsPlan};
use crate::media::subtitle_track::SubtitleTrack;
use crate::media::thread_budget::x264_threads;
use crate::media::ts_continuity::ContinuityCounters;
use crate::media::ts_segmenter::{Continuation, FinishedSegment};
use crate::media::video_decoder::VideoDecoder;
use crate::resume::ResumePoint;

/// Frames and packets that may wait for a rendition thread.
const RUNG_QUEUE: usize = 4;

/// Messages that may wait for an audio track's thread: they are small.
const LANE_QUEUE: usize = 64;

/// Frames that may wait for the stills thread.
const STILLS_QUEUE: usize = 2;

/// An MP4 download to mux along the rendition at this index, into a file at `path`.
#[derive(Debug, Clone)]
pub(crate) struct Download {
    pub(crate) rendition: usize,
    pub(crate) path: std::path::PathBuf,
}

/// A running conversion.
pub(crate) struct Pipeline {
    /// Finished segments, in the order the renditions produce them.
    pub(crate) segments: Receiver<SegmentReady>,
    /// Sprite sheets as they fill, then the posters (none when no stills were asked for).
    pub(crate) stills: Receiver<StillReady>,
    /// A tick after frames were encoded (coalesced: at most one waits).
    pub(crate) ticks: Receiver<()>,
    counters: Arc<Vec<AtomicU64>>,
    stop: Arc<AtomicBool>,
    first_error: Arc<Mutex<Option<Error>>>,
    /// The demux thread and the stills thread.
    helpers: Vec<JoinHandle<()>>,
    /// One per rendition, in order.
    rungs: Vec<JoinHandle<Option<RungSummary>>>,
    /// Set when a resumed run did not find its resume point in the input.
    point_missed: Arc<AtomicBool>,
    /// Set once either stream's clock was repaired (see [`Pipeline::clock_clean`]).
    clock_repaired: Arc<AtomicBool>,
    /// Each text subtitle track's cues, once the demux thread read the whole input.
    captions: Arc<Mutex<Vec<Vec<Cue>>>>,
}

impl Pipeline {
    /// Whether the run was resumed from a point the input does not have (the frame that
    /// opened the next segment is not where the point says): it stopped before encoding
    /// anything, and may be started again from the beginning.
    pub(crate) fn missed_resume_point(&self) -> bool {
        self.point_missed.load(Ordering::Relaxed)
    }

    /// Whether every frame and audio packet read so far kept its own timestamp: a resume
    /// point made now needs nothing of the input before its last group of pictures.
    pub(crate) fn clock_clean(&self) -> bool {
        !self.clock_repaired.load(Ordering::Relaxed)
    }

    /// Where the demux thread leaves the cues of each text subtitle track of the source (in
    /// the order of `SourceInfo::subtitles`) once it read the whole input: read it after
    /// [`Pipeline::join`].
    pub(crate) fn captions(&self) -> Arc<Mutex<Vec<Vec<Cue>>>> {
        Arc::clone(&self.captions)
    }

    /// Frames encoded so far by each rendition.
    pub(crate) fn frames_encoded(&self) -> Vec<u64> {
        self.counters
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Stops every thread soon (the caller gave up, e.g. its sink failed).
    pub(crate) fn abort(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Takes what is left in the output channels until every thread let go of them, after
    /// [`Pipeline::abort`]: a thread blocked on a full channel would never see the stop.
    pub(crate) fn drain(&self) {
        let (mut segments, mut stills) = (self.segments.clone(), self.stills.clone());
        let (mut segments_open, mut stills_open) = (true, true);
        while segments_open || stills_open {
            select! {
                recv(segments) -> ready => if ready.is_err() {
                    segments = never();
                    segments_open = false;
                },
                recv(stills) -> ready => if ready.is_err() {
                    stills = never();
                    stills_open = false;
                },
            }
        }
    }

    /// Waits for every thread; the rendition summaries in order, or the first error.
    pub(crate) fn join(self) -> Result<Vec<RungSummary>, Error> {
        drop(self.segments);
        drop(self.stills);
        for helper in self.helpers {
            let _ = helper.join();
        }
        let summaries: Vec<_> = self
            .rungs
            .into_iter()
            .map(|t| t.join().ok().flatten())
            .collect();
        if let Some(error) = self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            return Err(error);
        }
        let summaries: Option<Vec<RungSummary>> = summaries.into_iter().collect();
        summaries.ok_or_else(|| Error::Internal {
            context: "a rendition thread stopped without a result".into(),
            source: crate::error::LibavError::from_av(ffmpeg_next::Error::Bug),
        })
    }
}

/// Starts the threads for `source` and `renditions`, and for `stills` when asked; resumed from
/// `resume`, when given, which must be for these renditions.
#[expect(
    clippy::too_many_arguments,
    reason = "the conversion's parts, each used once to start its thread"
)]
pub(crate) fn start(
    source: Source,
    renditions: &[Rendition],
    settings: EncoderSettings,
    audio_bitrate: u32,
    segment_queue: usize,
    stills: Option<StillsPlan>,
    download: Option<Download>,
    cancel: CancelToken,
    resume: Option<&ResumePoint>,
) -> Result<Pipeline, Error> {
    let video_stream = source
        .input
        .stream(source.video_index)
        .expect("chosen stream exists");
    let video = VideoDecoder::new(
        &video_stream,
        source.start_micros,
        source.info.frame_rate,
        source.info.rotation,
        source.limits,
        (source.info.width, source.info.height),
    )?;
    let audio = source
        .audio_indexes
        .iter()
        .map(|&index| {
            let stream = source.input.stream(index).expect("chosen stream exists");
            let track = AudioTrack::new(&stream, source.start_micros, audio_bitrate)?;
            Ok((index, track))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // One track is muxed into every rendition; several are renditions of their own.
    let separate_audio = audio.len() > 1;
    let audio_parameters = audio
        .first()
        .filter(|_| !separate_audio)
        .map(|(_, a)| (a.parameters(), AUDIO_TIME_BASE));
    // With several tracks the download has the default one's audio, sent for it alone.
    let download_audio = source
        .default_audio
        .filter(|_| separate_audio)
        .map(|n| (audio[n].1.parameters(), AUDIO_TIME_BASE));

    let (segment_tx, segments) = bounded(segment_queue);
    let (tick_tx, ticks) = bounded(1);
    let counters: Arc<Vec<AtomicU64>> =
        Arc::new(renditions.iter().map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let point_missed = Arc::new(AtomicBool::new(false));
    let clock_repaired = Arc::new(AtomicBool::new(false));
    let first_error = Arc::new(Mutex::new(None));
    let record = {
        let first_error = Arc::clone(&first_error);
        let stop = Arc::clone(&stop);
        move |result: Result<(), Stop>| {
            if let Err(Stop::Failed(error)) = result {
                first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(error);
                stop.store(true, Ordering::Relaxed);
            }
        }
    };

    let mut rung_inputs = Vec::new();
    let mut helpers = Vec::new();
    let mut rung_threads = Vec::new();
    let pixels: Vec<u64> = renditions
        .iter()
        .map(|r| u64::from(r.width) * u64::from(r.height))
        .collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let encoder_threads = x264_threads(&pixels, cores);
    for (index, rendition) in renditions.iter().enumerate() {
        let start = match resume {
            Some(point) => {
                let at = &point.renditions[index];
                counters[index].store(point.frames, Ordering::Relaxed);
                RungStart {
                    frames_before: point.frames,
                    audio_from: Some(at.audio_dts),
                    continuation: Some(Continuation {
                        sequence: point.segments + 1,
                        counters: ContinuityCounters::continuing(at.continuity.iter().copied()),
                    }),
                    // A conversion with a download is never resumed.
                    download: None,
                }
            }
            None => RungStart {
                download: download.as_ref().filter(|d| d.rendition == index).map(|d| {
                    DownloadPlan {
                        path: d.path.clone(),
                        audio: download_audio.clone(),
                    }
                }),
                ..RungStart::default()
            },
        };
        let (tx, rx) = bounded::<RungInput>(RUNG_QUEUE);
        rung_inputs.push(tx);
        let rendition = rendition.clone();
        let settings = settings.clone();
        let x264_threads = encoder_threads[index];
        let audio = audio_parameters.clone();
        let (segment_tx, tick_tx, counters, record) = (
            segment_tx.clone(),
            tick_tx.clone(),
            Arc::clone(&counters),
            record.clone(),
        );
        let span = tracing::debug_span!("rendition", name = %rendition.name);
        rung_threads.push(
            std::thread::Builder::new()
                .name(format!("hls-{}", rendition.name))
                .spawn(move || {
                    let _entered = span.enter();
                    let mut summary = None;
                    let result =
                        RungEncoder::new(&rendition, &settings, x264_threads, audio, start)
                            .map_err(Stop::from)
                            .and_then(|encoder| {
                                run_rung(
                                    index,
                                    encoder,
                                    rx,
                                    &segment_tx,
                                    &tick_tx,
                                    &counters[index],
                                )
                            })
                            .map(|s| summary = Some(s));
                    record(result);
                    summary
                }),
        );
    }
    let segmenting = settings.segmenting;
    let mut lane_inputs = Vec::new();
    for (number, (_, track)) in audio.iter().enumerate().filter(|_| separate_audio) {
        let start = match resume.and_then(|point| Some((point, point.audio.get(number)?))) {
            Some((point, at)) => LaneStart {
                from: Some(at.audio_dts),
                continuation: Some(Continuation {
                    sequence: point.segments + 1,
                    counters: ContinuityCounters::continuing(at.continuity.iter().copied()),
                }),
            },
            None => LaneStart::default(),
        };
        let lane = AudioLane::new(track.parameters(), AUDIO_TIME_BASE, segmenting, start)?;
        let (tx, rx) = bounded(LANE_QUEUE);
        lane_inputs.push(tx);
        let (segment_tx, record) = (segment_tx.clone(), record.clone());
        let thread = std::thread::Builder::new()
            .name(format!("hls-audio-{number}"))
            .spawn(move || record(run_lane(number, lane, rx, &segment_tx)));
        helpers.push(thread.map_err(spawn_failed)?);
    }
    let declared = Declared {
        duration: source
            .info
            .duration
            .filter(|_| ffi::duration_declared_by_header(&source.input)),
        frames: ffi::indexed_frames_with_data(&source.input, source.video_index),
    };
    let (stills_output, stills_received) = bounded(STILLS_QUEUE);
    let sampler = match stills {
        Some(plan) => {
            let (input, frames) = bounded(STILLS_QUEUE);
            let record = record.clone();
            let thread = std::thread::Builder::new()
                .name("hls-stills".into())
                .spawn(move || record(run_stills(StillMaker::new(plan), frames, &stills_output)));
            helpers.push(thread.map_err(spawn_failed)?);
            Some(Sampler {
                input,
                interval: plan.interval_ticks(),
                next: None,
            })
        }
        None => None,
    };
    // Subtitles are a nicety: a track whose decoder does not open is left out.
    let subtitles: Vec<(usize, Option<SubtitleTrack>)> = source
        .subtitle_indexes
        .iter()
        .map(|&index| {
            let stream = source.input.stream(index).expect("chosen stream exists");
            let track = SubtitleTrack::new(&stream, source.start_micros)
                .inspect_err(|error| tracing::warn!(%error, index, "subtitle track left out"))
                .ok();
            (index, track)
        })
        .collect();
    let captions = Arc::new(Mutex::new(Vec::new()));
    let skip = resume.map(|point| Skip {
        pts: point.pts,
        frames: point.frames,
        clean: point.clean,
        skipped: 0,
        reached: false,
    });
    // Which track's AAC the download's rendition also gets, when the segments have none.
    let download_audio_route = download
        .as_ref()
        .zip(source.default_audio.filter(|_| separate_audio))
        .map(|(d, track)| (track, d.rendition));
    let demux = {
        let (stop, record) = (Arc::clone(&stop), record.clone());
        let missed = Arc::clone(&point_missed);
        let repaired = Arc::clone(&clock_repaired);
        let captions = Arc::clone(&captions);
        std::thread::Builder::new()
            .name("hls-demux".into())
            .spawn(move || {
                let result = demux_thread::run(
                    source,
                    video,
                    audio,
                    &rung_inputs,
                    &lane_inputs,
                    download_audio_route,
                    segmenting,
                    declared,
                    skip,
                    sampler,
                    Subtitles {
                        tracks: subtitles,
                        cues: &captions,
                    },
                    Flags {
                        point_missed: &missed,
                        clock_repaired: &repaired,
                    },
                    &cancel,
                    &stop,
                );
                record(result);
            })
    };
    helpers.push(demux.map_err(spawn_failed)?);
    let rungs = rung_threads
        .into_iter()
        .map(|thread| thread.map_err(spawn_failed))
        .collect::<Result<_, _>>()?;
    Ok(Pipeline {
        segments,
        stills: stills_received,
        ticks,
        counters,
        stop,
        first_error,
        helpers,
        rungs,
        point_missed,
        clock_repaired,
        captions,
    })
}

fn run_stills(
    mut maker: StillMaker,
    frames: Receiver<StillInput>,
    output: &Sender<StillReady>,
) -> Result<(), Stop> {
    let mut out = |ready| output.send(ready).map_err(|_| Error::Canceled);
    let stopped = |error: Error| match error {
        Error::Canceled => Stop::Disconnected,
        other => Stop::Failed(other),
    };
    loop {
        match frames.recv() {
            Ok(StillInput::Frame { frame, pts }) => {
                maker.add(frame, pts, &mut out).map_err(stopped)?
            }
            Ok(StillInput::End { video_end }) => {
                return maker.finish(video_end, &mut out).map_err(stopped);
            }
            Err(_) => return Err(Stop::Disconnected),
        }
    }
}

fn spawn_failed(error: std::io::Error) -> Error {
    Error::Internal {
        context: format!("starting a thread: {error}"),
        source: crate::error::LibavError::from_av(ffmpeg_next::Error::Bug),
    }
}

/// Runs the body of a thread that hands the segments of `of` to `segments` through the
/// `out` it is given. A failure after the caller stopped taking segments is a disconnect,
/// not an error of the thread's own.
fn delivering<T>(
    of: SegmentOf,
    segments: &Sender<SegmentReady>,
    body: impl FnOnce(&mut dyn FnMut(FinishedSegment) -> Result<(), Error>) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let mut delivered = true;
    let mut out = |segment: FinishedSegment| {
        if segments.send(SegmentReady { of, segment }).is_err() {
            delivered = false;
            return Err(Error::Canceled);
        }
        Ok(())
    };
    let result = body(&mut out);
    match result {
        Err(Stop::Failed(_)) if !delivered => Err(Stop::Disconnected),
        other => other,
    }
}

fn run_lane(
    number: usize,
    mut lane: AudioLane,
    inputs: Receiver<LaneInput>,
    segments: &Sender<SegmentReady>,
) -> Result<(), Stop> {
    delivering(SegmentOf::Audio(number), segments, |out| {
        loop {
            match inputs.recv() {
                Ok(LaneInput::Video { pts, opens }) => lane.video(pts, opens, out)?,
                Ok(LaneInput::Audio(packet)) => lane.audio(packet, out)?,
                Ok(LaneInput::End) => return lane.finish(out).map_err(Stop::from),
                Err(_) => return Err(Stop::Disconnected),
            }
        }
    })
}

fn run_rung(
    index: usize,
    mut encoder: RungEncoder,
    inputs: Receiver<RungInput>,
    segments: &Sender<SegmentReady>,
    ticks: &Sender<()>,
    counter: &AtomicU64,
) -> Result<RungSummary, Stop> {
    delivering(SegmentOf::Rendition(index), segments, |mut out| {
        loop {
            match inputs.recv() {
                Ok(RungInput::Frame {
                    frame,
                    pts,
                    duration,
                    key,
                }) => {
                    encoder.encode_frame(&frame, pts, duration, key, &mut out)?;
                    counter.store(encoder.frames, Ordering::Relaxed);
                    let _ = ticks.try_send(());
                }
                Ok(RungInput::Audio(packet)) => encoder.add_audio(packet, &mut out)?,
                Ok(RungInput::DownloadAudio(packet)) => encoder.add_download_audio(packet)?,
                Ok(RungInput::End) => break,
                Err(_) => return Err(Stop::Disconnected),
            }
        }
        let summary = encoder.finish(&mut out)?;
        counter.store(summary.frames, Ordering::Relaxed);
        let _ = ticks.try_send(());
        Ok(summary)
    })
}
