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
use ffmpeg_next::Packet;

use crate::Error;
use crate::cancel::CancelToken;
use crate::captions::Cue;
use crate::ladder::Rendition;
use crate::media::audio_lane::{AudioLane, LaneStart};
use crate::media::audio_track::{AUDIO_TIME_BASE, AudioTrack};
use crate::media::ffi;
use crate::media::file_layout::FileLayout;
use crate::media::rung_encoder::{
    DownloadPlan, EncoderSettings, RungEncoder, RungStart, RungSummary,
};
use crate::media::source::Source;
use crate::media::still_maker::{StillMaker, StillReady, StillsPlan};
use crate::media::subtitle_track::SubtitleTrack;
use crate::media::thread_budget::x264_threads;
use crate::media::timeline::{Boundaries, Segmenting, TICKS_PER_SECOND, seconds};
use crate::media::ts_continuity::ContinuityCounters;
use crate::media::ts_segmenter::{Continuation, FinishedSegment};
use crate::media::video_decoder::{TimedFrame, VideoDecoder};
use crate::resume::ResumePoint;

/// Frames and packets that may wait for a rendition thread.
const RUNG_QUEUE: usize = 4;

/// A finished segment of one rendition, as it travels to the caller.
#[derive(Debug)]
pub(crate) struct SegmentReady {
    pub(crate) of: SegmentOf,
    pub(crate) segment: FinishedSegment,
}

/// Which output a segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SegmentOf {
    /// The rendition at this index in the list given to [`start`].
    Rendition(usize),
    /// The audio rendition of the source's audio track at this index (of
    /// `SourceInfo::audio_tracks`), when the source has several.
    Audio(usize),
}

/// What the demux thread tells an audio track's own rendition.
enum LaneInput {
    /// A video frame at this time (90 kHz) went to the renditions; it opens a segment.
    Video {
        pts: i64,
        opens: bool,
    },
    Audio(Packet),
    End,
}

/// Messages that may wait for an audio track's thread: they are small.
const LANE_QUEUE: usize = 64;

enum RungInput {
    Frame {
        frame: ffmpeg_next::frame::Video,
        pts: i64,
        duration: i64,
        key: bool,
    },
    Audio(Packet),
    /// The default audio track's AAC for the MP4 download only, when the segments have none.
    DownloadAudio(Packet),
    End,
}

/// An MP4 download to mux along the rendition at this index, into a file at `path`.
#[derive(Debug, Clone)]
pub(crate) struct Download {
    pub(crate) rendition: usize,
    pub(crate) path: std::path::PathBuf,
}

enum StillInput {
    /// A sampled frame and its time on the output clock.
    Frame {
        frame: ffmpeg_next::frame::Video,
        pts: i64,
    },
    /// The video ends here (output clock).
    End { video_end: i64 },
}

/// Frames that may wait for the stills thread.
const STILLS_QUEUE: usize = 2;

/// Why a thread stopped early: its own failure, or because another one did.
enum Stop {
    Failed(Error),
    Disconnected,
}

impl From<Error> for Stop {
    fn from(error: Error) -> Stop {
        Stop::Failed(error)
    }
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

/// Where the demuxer starts handing frames on, in a resumed run.
#[derive(Debug, Clone, Copy)]
struct Skip {
    /// The first frame to encode, on the output clock.
    pts: i64,
    /// How many frames come before it.
    frames: u64,
    /// The clock was clean up to the point: video before the group of pictures that leads to
    /// it need not even be decoded (audio still is, from the start).
    clean: bool,
    skipped: u64,
    reached: bool,
}

/// Video decoding of a resumed run on a clean clock starts this long before the point, at
/// the keyframe before that: the frames just before the point are then decoded as in a full
/// run (deinterlacing looks at the previous one).
const DECODE_BEFORE_POINT: i64 = TICKS_PER_SECOND;
/// The most video withheld from the decoder while looking for the last keyframe before the
/// point: a stream with keyframes further apart is decoded from where this runs out.
const MAX_WITHHELD_BYTES: usize = 64 << 20;

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
                let result = run_demux(
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

/// The source's text subtitle tracks (stream index, decoder when it opened), and where the
/// demux thread leaves their cues at the end.
struct Subtitles<'a> {
    tracks: Vec<(usize, Option<SubtitleTrack>)>,
    cues: &'a Mutex<Vec<Vec<Cue>>>,
}

/// What the demux thread tells the conversion while it runs.
struct Flags<'a> {
    point_missed: &'a AtomicBool,
    clock_repaired: &'a AtomicBool,
}

/// Hands the stills thread a frame every few seconds of video.
struct Sampler {
    input: Sender<StillInput>,
    /// Ticks between samples.
    interval: i64,
    /// The time of the next sample; `None` before the first frame.
    next: Option<i64>,
}

impl Sampler {
    /// Offers a decoded frame: shared with the stills thread when a sample is due.
    fn offer(&mut self, timed: &TimedFrame) -> Result<(), Error> {
        let next = *self.next.get_or_insert(timed.pts);
        if timed.pts < next {
            return Ok(());
        }
        let frame =
            ffi::share_frame(&timed.frame).map_err(Error::internal("sharing a decoded frame"))?;
        let missed = (timed.pts - next) / self.interval;
        self.next = Some(next + (missed + 1) * self.interval);
        self.input
            .send(StillInput::Frame {
                frame,
                pts: timed.pts,
            })
            .map_err(|_| Error::Canceled)
    }

    fn end(&self, video_end: i64) -> Result<(), Error> {
        self.input
            .send(StillInput::End { video_end })
            .map_err(|_| Error::Canceled)
    }
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

#[expect(
    clippy::too_many_arguments,
    reason = "a thread body: every argument is one of its channel ends"
)]
fn run_demux(
    mut source: Source,
    mut video: VideoDecoder,
    mut audio: Vec<(usize, AudioTrack)>,
    rungs: &[Sender<RungInput>],
    lanes: &[Sender<LaneInput>],
    download_audio: Option<(usize, usize)>,
    segmenting: Segmenting,
    declared: Declared,
    mut skip: Option<Skip>,
    mut sampler: Option<Sampler>,
    mut subtitles: Subtitles<'_>,
    flags: Flags<'_>,
    cancel: &CancelToken,
    stop: &AtomicBool,
) -> Result<(), Stop> {
    let missed = flags.point_missed;
    let limits = source.limits;
    let started = std::time::Instant::now();
    let mut boundaries = Boundaries::new(segmenting);
    let mut video_end = 0i64;
    let mut frames_sent = 0u64;
    // Resumed on a clean clock: video packets withheld from the decoder, from the latest
    // keyframe on, until the point is near. Not with stills: they are made from the whole
    // video again, so that a resumed run publishes the same poster and storyboard.
    let decode_from = skip.map_or(0, |s| s.pts - DECODE_BEFORE_POINT);
    let mut withheld: Option<(Vec<Packet>, usize)> = skip
        .filter(|s| s.clean && decode_from > 0 && sampler.is_none())
        .map(|_| (Vec::new(), 0));
    let point_missed = |skip: &Skip, found: Option<(i64, bool)>| {
        missed.store(true, Ordering::Relaxed);
        let found = match found {
            Some((pts, key)) => format!(
                "frame {} at {:.3} s{}",
                skip.skipped + 1,
                seconds(pts),
                if key { "" } else { ", not a segment start" }
            ),
            None => format!("the end after {} frames", skip.skipped),
        };
        Error::Internal {
            context: format!(
                "resuming: the point is frame {} at {:.3} s, but the input has {found}",
                skip.frames + 1,
                seconds(skip.pts)
            ),
            source: crate::error::LibavError::from_av(ffmpeg_next::Error::InvalidData),
        }
    };
    let mut send_frame = |timed: TimedFrame| -> Result<(), Error> {
        // Held here, on what is really decoded: a header may declare nothing, or lie, and
        // the picture size may change midway.
        frames_sent += 1;
        limits.check_picture(timed.frame.width(), timed.frame.height())?;
        limits.check_decoded(frames_sent, seconds(timed.pts))?;
        let key = boundaries.crossed(timed.pts);
        video_end = video_end.max(timed.pts + timed.duration);
        if let Some(sampler) = sampler.as_mut() {
            sampler.offer(&timed)?;
        }
        // Resumed: what lies before the point is published; the first frame at it must be
        // the one that opened the next segment.
        if let Some(skip) = skip.as_mut().filter(|s| !s.reached) {
            if timed.pts < skip.pts {
                skip.skipped += 1;
                return Ok(());
            }
            // On a clean clock the frames before the last group of pictures were not decoded,
            // so only the point's time and keyframe can be checked, not the count.
            let count_wrong = !skip.clean && skip.skipped != skip.frames;
            if timed.pts != skip.pts || count_wrong || !key {
                return Err(point_missed(skip, Some((timed.pts, key))));
            }
            skip.reached = true;
            frames_sent = skip.frames + 1;
            tracing::info!(
                frames = skip.frames,
                seconds = seconds(skip.pts),
                decoding_seconds = started.elapsed().as_secs_f64(),
                "resume point reached: encoding from here"
            );
        }
        for rung in rungs {
            let shared = ffi::share_frame(&timed.frame)
                .map_err(Error::internal("sharing a decoded frame"))?;
            let input = RungInput::Frame {
                frame: shared,
                pts: timed.pts,
                duration: timed.duration,
                key,
            };
            rung.send(input).map_err(|_| Error::Canceled)?;
        }
        for lane in lanes {
            let input = LaneInput::Video {
                pts: timed.pts,
                opens: key,
            };
            lane.send(input).map_err(|_| Error::Canceled)?;
        }
        Ok(())
    };
    // Track `number`'s AAC: to its own rendition when there are several, else to every one.
    let send_audio = |number: usize, packet: Packet| -> Result<(), Error> {
        if let Some(lane) = lanes.get(number) {
            if let Some((_, rung)) = download_audio.filter(|(track, _)| *track == number) {
                rungs[rung]
                    .send(RungInput::DownloadAudio(packet.clone()))
                    .map_err(|_| Error::Canceled)?;
            }
            return lane
                .send(LaneInput::Audio(packet))
                .map_err(|_| Error::Canceled);
        }
        for rung in rungs {
            rung.send(RungInput::Audio(packet.clone()))
                .map_err(|_| Error::Canceled)?;
        }
        Ok(())
    };
    let disconnected = |e: Error| {
        if matches!(e, Error::Canceled) {
            Stop::Disconnected
        } else {
            Stop::Failed(e)
        }
    };

    let video_index = source.video_index;
    let mut layout = FileLayout::default();
    loop {
        if cancel.is_canceled() {
            return Err(Stop::Failed(Error::Canceled));
        }
        if stop.load(Ordering::Relaxed) {
            return Err(Stop::Disconnected);
        }
        let mut packet = Packet::empty();
        match packet.read(&mut source.input) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => break,
            Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::error::EAGAIN => {
                continue;
            }
            Err(e) => {
                let at = seconds(video_end);
                let reason = format!("reading failed after {at:.2} s of video: {e}");
                return Err(Stop::Failed(Error::CorruptInput { reason }));
            }
        }
        source.mp4_clock.restore(&mut packet);
        if packet.stream() == video_index {
            if let Some((gop, bytes)) = withheld.as_mut() {
                if packet.is_key() {
                    gop.clear();
                    *bytes = 0;
                }
                let near = video.raw_ticks(&packet).is_some_and(|t| t >= decode_from);
                *bytes += packet.size();
                gop.push(packet);
                if !near && *bytes <= MAX_WITHHELD_BYTES {
                    continue;
                }
                let (gop, _) = withheld.take().expect("just seen");
                tracing::debug!(
                    packets = gop.len(),
                    "decoding from the keyframe before the resume point"
                );
                for packet in &gop {
                    video
                        .decode(packet, &mut layout, &mut send_frame)
                        .map_err(disconnected)?;
                }
            } else {
                video
                    .decode(&packet, &mut layout, &mut send_frame)
                    .map_err(disconnected)?;
            }
            if video.clock_repaired() {
                flags.clock_repaired.store(true, Ordering::Relaxed);
            }
        } else if let Some((_, track)) = subtitles
            .tracks
            .iter_mut()
            .find(|(index, _)| *index == packet.stream())
        {
            if let Some(track) = track.as_mut() {
                track.decode(&packet);
            }
        } else if let Some(number) = audio.iter().position(|(i, _)| *i == packet.stream()) {
            let track = &mut audio[number].1;
            track
                .encode(&packet, &mut layout, &mut |p| send_audio(number, p))
                .map_err(disconnected)?;
            limits.check_decoded(0, track.decoded_seconds())?;
            if track.clock_repaired() {
                flags.clock_repaired.store(true, Ordering::Relaxed);
            }
        }
    }
    if let Some((gop, _)) = withheld.take() {
        for packet in &gop {
            video
                .decode(packet, &mut layout, &mut send_frame)
                .map_err(disconnected)?;
        }
    }
    video
        .finish(&mut layout, &mut send_frame)
        .map_err(disconnected)?;
    // An audio rendition of its own lasts as long as the video.
    let pad_to = (!lanes.is_empty()).then(|| seconds(video_end));
    for (number, (_, track)) in audio.iter_mut().enumerate() {
        track
            .finish(&mut layout, pad_to, &mut |p| send_audio(number, p))
            .map_err(disconnected)?;
    }
    // Judged on the file's own clock too: a repaired jump shortens the timeline, not the data.
    let audio_seconds = audio
        .iter()
        .map(|(_, a)| a.decoded_seconds().max(a.clock_seconds()))
        .fold(0.0, f64::max);
    let decoded_seconds = seconds(video_end)
        .max(video.clock_seconds())
        .max(audio_seconds);
    // Frames of a resumed run that were not decoded here (a clean clock's skip) count as read.
    let undecoded = skip
        .filter(|s| s.clean)
        .map_or(0, |s| s.frames.saturating_sub(s.skipped));
    judge_damage(&video, declared, decoded_seconds, undecoded)?;
    if let Some(skip) = skip.filter(|s| !s.reached) {
        return Err(Stop::Failed(point_missed(&skip, None)));
    }
    if let Some(sampler) = &sampler {
        sampler.end(video_end).map_err(|_| Stop::Disconnected)?;
    }
    *subtitles
        .cues
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = subtitles
        .tracks
        .into_iter()
        .map(|(_, track)| track.map(SubtitleTrack::finish).unwrap_or_default())
        .collect();
    for rung in rungs {
        rung.send(RungInput::End).map_err(|_| Stop::Disconnected)?;
    }
    for lane in lanes {
        lane.send(LaneInput::End).map_err(|_| Stop::Disconnected)?;
    }
    Ok(())
}

/// What the container's header promises, to be held against what was decoded.
#[derive(Debug, Clone, Copy)]
struct Declared {
    /// The duration, when the header declares it (not when libav estimated it).
    duration: Option<f64>,
    /// The video frames the container's index lists with data (MP4, AVI): frames that carry
    /// a picture and so cannot silently go missing.
    frames: Option<u64>,
}

/// A file whose decoders failed more often than they succeeded, whose index lists frames with
/// data that could not be read, or whose streams end well before the duration its header
/// declares, is broken: converting it would publish a short or garbled video as if it were
/// whole. Frames the container declares without data (skipped frames) are not missing.
/// `decoded_seconds` is the longer of video and audio.
fn judge_damage(
    video: &VideoDecoder,
    declared: Declared,
    decoded_seconds: f64,
    undecoded: u64,
) -> Result<(), Stop> {
    let corrupt = |reason: String| Err(Stop::Failed(Error::CorruptInput { reason }));
    let frames = video.frames + undecoded;
    if frames == 0 {
        return corrupt(format!(
            "no video frame could be decoded ({} damaged packets)",
            video.errors
        ));
    }
    if video.errors > frames {
        return corrupt(format!(
            "{} damaged video packets for {frames} decoded frames",
            video.errors
        ));
    }
    // An index such as MP4's lists every frame with its bytes: a few may be dropped by edit
    // lists, not 3%. Those missing were in the file's missing tail.
    if let Some(expected) = declared.frames.filter(|&n| n > 0) {
        if frames + 2 < expected * 97 / 100 {
            return corrupt(format!(
                "only {frames} of the {expected} frames its index lists could be read: it is truncated"
            ));
        }
    }
    if let Some(declared) = declared.duration {
        if decoded_seconds + 1.0 + 0.01 * declared < declared {
            return corrupt(format!(
                "the data stops after {decoded_seconds:.2} s but the file declares {declared:.2} s: it is truncated"
            ));
        }
    }
    Ok(())
}
