//! MPEG-TS muxing into memory and cutting into HLS segments.
//!
//! One mpegts muxer per rendition writes into a shared buffer through a custom AVIO; at each
//! cut the muxer is flushed, the bytes taken as a finished segment, and PAT/PMT re-armed so
//! the next segment starts with them. Nothing touches the disk.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use ffmpeg_next::{Dictionary, Packet, Rational, codec, encoder, format};

use crate::Error;
use crate::hls::avc_codec_string;
use crate::media::ffi;
use crate::media::interleave::Track;
use crate::media::timeline::TICKS;
use crate::media::ts_continuity::ContinuityCounters;
use crate::segmenting::{Boundaries, Segmenting, seconds};

/// A segment ready to publish.
#[derive(Debug)]
pub(crate) struct FinishedSegment {
    /// From 1.
    pub(crate) sequence: u64,
    /// Seconds, from this segment's first frame to the next segment's first frame.
    pub(crate) duration: f64,
    /// MPEG-TS bytes, starting with PAT and PMT.
    pub(crate) bytes: Vec<u8>,
    /// How many of them lead up to the end of the keyframe that opens the segment: its byte
    /// range in an I-frame playlist. 0 when unknown.
    pub(crate) keyframe_bytes: u64,
    /// The video's RFC 6381 codec string, read from its first keyframe's SPS.
    pub(crate) video_codec: Option<String>,
    /// Video frames in it.
    pub(crate) frames: u64,
    /// Where the next segment starts; `None` for the last one.
    pub(crate) join: Option<SegmentJoin>,
}

/// Where one segment ends and the next starts: what a conversion resumed there continues from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentJoin {
    /// The next segment's first frame, in [`TICKS`] on the output clock.
    pub(crate) pts: i64,
    /// Its decode time: audio packets before it belong to the segments before.
    pub(crate) dts: i64,
    /// The TS continuity counters the next segment continues (PID, counter).
    pub(crate) continuity: Vec<(u16, u8)>,
}

/// Where a resumed muxer takes over from segments already published.
#[derive(Debug, Clone)]
pub(crate) struct Continuation {
    /// The first segment's sequence number.
    pub(crate) sequence: u64,
    /// The continuity counters it continues.
    pub(crate) counters: ContinuityCounters,
}

/// The bytes the muxer has written since the last cut.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuffer {
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

pub(crate) struct TsSegmenter {
    output: format::context::Output,
    buffer: SharedBuffer,
    video_time_base: Rational,
    audio_time_base: Rational,
    audio_packets_time_base: Rational,
    /// The audio stream's index in the muxer: 1 after the video, 0 in an audio rendition.
    audio_stream: usize,
    /// Whether the muxer has a video stream; without, segments are cut by [`TsSegmenter::cut_at`].
    has_video: bool,
    /// Packets written since the last cut.
    packets: u64,
    /// Segments cut so far.
    cuts: u64,
    boundaries: Boundaries,
    segment_start: Option<i64>,
    sequence: u64,
    video_end: i64,
    video_codec: Option<String>,
    counters: ContinuityCounters,
    frames: u64,
    /// The current segment's [`FinishedSegment::keyframe_bytes`].
    keyframe_bytes: u64,
}

impl TsSegmenter {
    /// A muxer for one video stream (its packets' timestamps in [`TICKS`]) and, optionally,
    /// the shared AAC stream (timestamps in `audio_time_base`), or for an AAC stream alone (an
    /// audio rendition); resumed, it numbers its segments and continuity counters on from
    /// `continuation`.
    pub(crate) fn new(
        video: Option<codec::Parameters>,
        audio: Option<(codec::Parameters, Rational)>,
        segmenting: Segmenting,
        continuation: Option<Continuation>,
    ) -> Result<TsSegmenter, Error> {
        let fail = |what: &'static str| Error::internal(format!("{what} the MPEG-TS muxer"));
        let buffer = SharedBuffer::default();
        let io = format::context::StreamIo::from_write(buffer.clone())
            .map_err(fail("creating the output of"))?;
        let mut output =
            format::output_to_stream(io, None, Some("mpegts")).map_err(fail("creating"))?;
        let has_video = video.is_some();
        if let Some(video) = video {
            output
                .add_stream(encoder::find(codec::Id::None))
                .map_err(fail("adding video to"))?
                .set_parameters(video);
        }
        let audio_stream = usize::from(has_video);
        let audio_packets_time_base = audio.as_ref().map(|(_, tb)| *tb).unwrap_or(TICKS);
        if let Some((parameters, _)) = audio {
            output
                .add_stream(encoder::find(codec::Id::None))
                .map_err(fail("adding audio to"))?
                .set_parameters(parameters);
        }
        let mut options = Dictionary::new();
        // As ffmpeg's own hls muxer: PAT/PMT only where we ask (at each segment start), and
        // room for B-frame reordering before the first PCR.
        options.set("pat_period", "86400");
        options.set("sdt_period", "86400");
        options.set("max_delay", "700000");
        // Timestamps pass unchanged so every rendition's segments share one clock.
        options.set("avoid_negative_ts", "0");
        let unused: Option<String> = {
            let unused = output
                .write_header_with(options)
                .map_err(fail("starting"))?;
            unused.iter().next().map(|(name, _)| name.to_string())
        };
        if let Some(name) = unused {
            let reason = format!("starting the mpegts muxer, which ignored option `{name}`");
            return Err(Error::Internal {
                context: reason,
                source: crate::error::LibavError::from_av(ffmpeg_next::Error::OptionNotFound),
            });
        }
        let video_time_base = match has_video {
            true => output.stream(0).expect("video stream").time_base(),
            false => TICKS,
        };
        let audio_time_base = output
            .stream(audio_stream)
            .map(|s| s.time_base())
            .unwrap_or(TICKS);
        let continuation = continuation.unwrap_or(Continuation {
            sequence: 1,
            counters: ContinuityCounters::default(),
        });
        Ok(TsSegmenter {
            output,
            buffer,
            video_time_base,
            audio_time_base,
            audio_packets_time_base,
            audio_stream,
            has_video,
            packets: 0,
            cuts: 0,
            boundaries: Boundaries::new(segmenting),
            segment_start: None,
            sequence: continuation.sequence,
            video_end: 0,
            video_codec: None,
            counters: continuation.counters,
            frames: 0,
            keyframe_bytes: 0,
        })
    }

    /// The video's RFC 6381 codec string, once its first keyframe was written.
    pub(crate) fn video_codec(&self) -> Option<&str> {
        self.video_codec.as_deref()
    }

    /// Muxes one packet, cutting a segment first when it is the keyframe that opens one.
    pub(crate) fn write(
        &mut self,
        track: Track,
        mut packet: Packet,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut opens = false;
        match track {
            Track::Video => {
                let pts = packet.pts().unwrap_or(0);
                let opens_segment = packet.is_key() && self.boundaries.crossed(pts);
                opens = opens_segment || self.segment_start.is_none();
                match self.segment_start {
                    None => self.segment_start = Some(pts),
                    Some(start) if opens_segment => {
                        let dts = packet.dts().unwrap_or(pts);
                        self.cut(pts - start, (pts, dts), out)?;
                        self.segment_start = Some(pts);
                    }
                    Some(_) => {}
                }
                self.frames += 1;
                self.video_end = self.video_end.max(pts + packet.duration());
                if self.video_codec.is_none() {
                    self.video_codec = packet.data().and_then(avc_codec_string);
                }
                packet.set_stream(0);
                packet.rescale_ts(TICKS, self.video_time_base);
            }
            Track::Audio => {
                if !self.has_video {
                    let tb = self.audio_packets_time_base;
                    let end = packet.pts().unwrap_or(0) + packet.duration();
                    let end = ffmpeg_next::Rescale::rescale(&end, tb, TICKS);
                    self.video_end = self.video_end.max(end);
                }
                packet.set_stream(self.audio_stream);
                packet.rescale_ts(self.audio_packets_time_base, self.audio_time_base);
            }
        }
        self.packets += 1;
        packet
            .write(&mut self.output)
            .map_err(Error::internal("muxing MPEG-TS"))?;
        if opens {
            // The muxer writes a video packet at once, whole: what reached the buffer ends
            // with the keyframe.
            ffi::flush_io(&mut self.output);
            self.keyframe_bytes = self.buffer.len() as u64;
        }
        Ok(())
    }

    /// Audio rendition: ends the segment so far where the video's next segment starts, at
    /// `pts` (the first call sets where the first one starts). A segment with no packet yet
    /// is not cut: its time goes to the next.
    pub(crate) fn cut_at(
        &mut self,
        pts: i64,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self.segment_start {
            None => self.segment_start = Some(pts),
            Some(start) if pts > start && self.packets > 0 => {
                self.cut(pts - start, (pts, pts), out)?;
                self.segment_start = Some(pts);
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Writes the trailer and hands out the last segment.
    pub(crate) fn finish(
        mut self,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.output
            .write_trailer()
            .map_err(Error::internal("finishing MPEG-TS"))?;
        let start = self.segment_start.unwrap_or(0);
        let mut bytes = self.buffer.take();
        // An audio rendition whose last cut came after its last packet has nothing more.
        let nothing_new = !self.has_video && self.packets == 0 && self.cuts > 0;
        if !bytes.is_empty() && !nothing_new {
            self.counters.renumber(&mut bytes);
            out(FinishedSegment {
                sequence: self.sequence,
                duration: seconds(self.video_end - start),
                bytes,
                keyframe_bytes: self.keyframe_bytes,
                video_codec: self.video_codec.clone(),
                frames: self.frames,
                join: None,
            })?;
        }
        Ok(())
    }

    /// Hands out the segment so far, `ticks` long; the next one starts with the frame at
    /// `(pts, dts)`.
    fn cut(
        &mut self,
        ticks: i64,
        (pts, dts): (i64, i64),
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        ffi::flush_muxer(&mut self.output).map_err(Error::internal("flushing MPEG-TS"))?;
        let mut bytes = self.buffer.take();
        ffi::resend_ts_headers(&mut self.output).map_err(Error::internal("re-arming PAT/PMT"))?;
        self.counters.renumber(&mut bytes);
        let join = Some(SegmentJoin {
            pts,
            dts,
            continuity: self.counters.next(),
        });
        self.packets = 0;
        self.cuts += 1;
        out(FinishedSegment {
            sequence: self.sequence,
            duration: seconds(ticks),
            bytes,
            keyframe_bytes: std::mem::take(&mut self.keyframe_bytes),
            video_codec: self.video_codec.clone(),
            frames: std::mem::take(&mut self.frames),
            join,
        })?;
        self.sequence += 1;
        Ok(())
    }
}
