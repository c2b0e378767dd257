//! The demux thread: reads the input, decodes the video once and every audio track once, and
//! hands the frames and packets on to the renditions, the audio lanes and the stills thread;
//! in a resumed run it skips to the point; at the end it judges whether the input was whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crossbeam_channel::Sender;
use ffmpeg_next::Packet;

use crate::Error;
use crate::cancel::CancelToken;
use crate::captions::Cue;
use crate::media::audio_track::AudioTrack;
use crate::media::ffi;
use crate::media::file_layout::FileLayout;
use crate::media::messages::{LaneInput, RungInput, StillInput, Stop};
use crate::media::source::Source;
use crate::media::subtitle_track::SubtitleTrack;
use crate::media::video_decoder::{TimedFrame, VideoDecoder};
use crate::segmenting::{Boundaries, Segmenting, TICKS_PER_SECOND, seconds};

/// Where the demuxer starts handing frames on, in a resumed run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Skip {
    /// The first frame to encode, on the output clock.
    pub(super) pts: i64,
    /// How many frames come before it.
    pub(super) frames: u64,
    /// The clock was clean up to the point: video before the group of pictures that leads to
    /// it need not even be decoded (audio still is, from the start).
    pub(super) clean: bool,
    pub(super) skipped: u64,
    pub(super) reached: bool,
}

/// Video decoding of a resumed run on a clean clock starts this long before the point, at
/// the keyframe before that: the frames just before the point are then decoded as in a full
/// run (deinterlacing looks at the previous one).
const DECODE_BEFORE_POINT: i64 = TICKS_PER_SECOND;
/// The most video withheld from the decoder while looking for the last keyframe before the
/// point: a stream with keyframes further apart is decoded from where this runs out.
const MAX_WITHHELD_BYTES: usize = 64 << 20;

/// The source's text subtitle tracks (stream index, decoder when it opened), and where the
/// demux thread leaves their cues at the end.
pub(super) struct Subtitles<'a> {
    pub(super) tracks: Vec<(usize, Option<SubtitleTrack>)>,
    pub(super) cues: &'a Mutex<Vec<Vec<Cue>>>,
}

/// What the demux thread tells the conversion while it runs.
pub(super) struct Flags<'a> {
    pub(super) point_missed: &'a AtomicBool,
    pub(super) clock_repaired: &'a AtomicBool,
}

/// Hands the stills thread a frame every few seconds of video.
pub(super) struct Sampler {
    pub(super) input: Sender<StillInput>,
    /// Ticks between samples.
    pub(super) interval: i64,
    /// The time of the next sample; `None` before the first frame.
    pub(super) next: Option<i64>,
}

impl Sampler {
    /// Offers a decoded frame: shared with the stills thread when a sample is due.
    pub(super) fn offer(&mut self, timed: &TimedFrame) -> Result<(), Error> {
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

    pub(super) fn end(&self, video_end: i64) -> Result<(), Error> {
        self.input
            .send(StillInput::End { video_end })
            .map_err(|_| Error::Canceled)
    }
}

/// The demux thread's body: reads the input's packets, decodes the video once (and each
/// audio track once), and hands frames, packets and samples to the other threads until the
/// input ends, the conversion is canceled or another thread stops.
#[expect(
    clippy::too_many_arguments,
    reason = "a thread body: every argument is one of its channel ends"
)]
pub(super) fn run(
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
pub(super) struct Declared {
    /// The duration, when the header declares it (not when libav estimated it).
    pub(super) duration: Option<f64>,
    /// The video frames the container's index lists with data (MP4, AVI): frames that carry
    /// a picture and so cannot silently go missing.
    pub(super) frames: Option<u64>,
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
