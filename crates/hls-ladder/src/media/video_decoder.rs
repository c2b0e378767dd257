//! Decoding the chosen video stream once, onto the output clock, with durations known.
//!
//! Frames leave here with a strictly increasing pts in [`TICKS`], a duration, and the
//! deinterlacing and rotation the source needs already applied.

use ffmpeg_next::{Packet, Rational, Rescale, codec, decoder, format, frame};

use crate::media::continuity::Continuity;
use crate::media::drained;
use crate::media::ffi;
use crate::media::file_layout::{FileLayout, Lane};
use crate::media::picture_filter::PictureFilter;
use crate::media::thread_budget::decoder_threads;
use crate::media::timeline::TICKS;
use crate::segmenting::TICKS_PER_SECOND;
use crate::{Error, SourceLimits};

/// A decoded picture on the output clock.
pub(crate) struct TimedFrame {
    pub(crate) frame: frame::Video,
    /// Presentation time in [`TICKS`], from the start of the timeline.
    pub(crate) pts: i64,
    /// Time until the next frame, in [`TICKS`].
    pub(crate) duration: i64,
}

/// A jump forward larger than this between two frames is a broken timestamp, not a pause.
const MAX_GAP: i64 = 60 * TICKS_PER_SECOND;
/// A step back larger than this is a restarted clock (e.g. concatenated MPEG-TS files).
const RESTART: i64 = TICKS_PER_SECOND;

pub(crate) struct VideoDecoder {
    decoder: decoder::Video,
    stream_time_base: Rational,
    start: i64,
    nominal_duration: i64,
    rotation: u32,
    filter: Option<PictureFilter>,
    filter_checked: bool,
    continuity: Continuity,
    held: Option<(frame::Video, i64)>,
    limits: SourceLimits,
    pub(crate) frames: u64,
    pub(crate) errors: u64,
}

impl VideoDecoder {
    /// `start_micros` is the timeline's start; `frame_rate` gives the duration of frames whose
    /// timestamps are missing; a picture beyond `limits` is refused before it is allocated,
    /// at whatever point of the stream its size changes. `(width, height)`, the declared
    /// picture size, bounds the frame threads (see [`decoder_threads`]).
    pub(crate) fn new(
        stream: &format::stream::Stream,
        start_micros: i64,
        frame_rate: f64,
        rotation: u32,
        limits: SourceLimits,
        (width, height): (u32, u32),
    ) -> Result<VideoDecoder, Error> {
        let mut context = codec::Context::from_parameters(stream.parameters())
            .map_err(Error::from_input("reading the video stream parameters"))?;
        ffi::set_max_pixels(&mut context, limits.max_pixels());
        // Held to the largest picture there is, 4:4:4 at 16 bits: 6 bytes a pixel.
        let frame_bytes = u64::from(width) * u64::from(height) * 6;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        context.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            count: decoder_threads(frame_bytes, cores),
            safe: false,
        });
        let mut opening = context.decoder();
        opening.set_packet_time_base(stream.time_base());
        let decoder = opening.video().map_err(|e| match e {
            ffmpeg_next::Error::DecoderNotFound => Error::UnsupportedCodec {
                stream: "video",
                codec: format!("{:?}", stream.parameters().id()).to_lowercase(),
            },
            other => Error::CorruptInput {
                reason: format!("the video decoder rejected the stream: {other}"),
            },
        })?;
        let nominal_duration = (TICKS_PER_SECOND as f64 / frame_rate.max(1.0)).round() as i64;
        Ok(VideoDecoder {
            decoder,
            stream_time_base: stream.time_base(),
            start: start_micros.rescale(Rational::new(1, ffmpeg_next::ffi::AV_TIME_BASE), TICKS),
            nominal_duration: nominal_duration.max(1),
            rotation,
            filter: None,
            filter_checked: false,
            // A frame starting less than a quarter frame after the previous one repeats it;
            // one starting before the previous one ends by more than that steps back; one
            // starting more than half a frame late is a gap to judge.
            continuity: Continuity::new(
                nominal_duration.max(1) / 4,
                nominal_duration.max(1) * 3 / 4,
                RESTART,
                nominal_duration.max(1) / 2,
                MAX_GAP,
            ),
            held: None,
            limits,
            frames: 0,
            errors: 0,
        })
    }

    /// Where the video ends by its own timestamps, in seconds from the timeline's start: what
    /// a truncated file is judged by (see [`Continuity::raw_end`]).
    pub(crate) fn clock_seconds(&self) -> f64 {
        self.continuity.raw_end() as f64 / TICKS_PER_SECOND as f64
    }

    /// Whether any frame so far was moved off its own timestamp (see [`Continuity::repaired`]).
    pub(crate) fn clock_repaired(&self) -> bool {
        self.continuity.repaired()
    }

    /// A packet's decode time (else its presentation time) on the output clock, before any
    /// repair.
    pub(crate) fn raw_ticks(&self, packet: &Packet) -> Option<i64> {
        packet
            .dts()
            .or(packet.pts())
            .map(|ts| ts.rescale(self.stream_time_base, TICKS) - self.start)
    }

    /// Decodes one packet, handing finished frames to `out`; `layout` judges the gaps.
    pub(crate) fn decode(
        &mut self,
        packet: &Packet,
        layout: &mut FileLayout,
        out: &mut dyn FnMut(TimedFrame) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.decoder.send_packet(packet).is_err() {
            // A damaged packet: libav conceals what it can, as players do. Counted, judged at
            // the end; unless the stream switched to a picture size beyond the limits.
            self.errors += 1;
            return self.check_picture_size();
        }
        self.drain(layout, out)
    }

    /// Flushes the decoder and the filter and hands out the last frames.
    pub(crate) fn finish(
        &mut self,
        layout: &mut FileLayout,
        out: &mut dyn FnMut(TimedFrame) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let _ = self.decoder.send_eof();
        self.drain(layout, out)?;
        if let Some(mut filter) = self.filter.take() {
            let mut emit = |f: frame::Video| self.release(f, out);
            filter.push(None, &mut emit)?;
        }
        if let Some((frame, pts)) = self.held.take() {
            let duration =
                frame_duration(&frame, self.stream_time_base).unwrap_or(self.nominal_duration);
            out(TimedFrame {
                frame,
                pts,
                duration,
            })?;
        }
        Ok(())
    }

    fn drain(
        &mut self,
        layout: &mut FileLayout,
        out: &mut dyn FnMut(TimedFrame) -> Result<(), Error>,
    ) -> Result<(), Error> {
        loop {
            let mut decoded = frame::Video::empty();
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {
                    self.frames += 1;
                    let pts = self.place(&decoded, layout);
                    decoded.set_pts(Some(pts));
                    self.filter_and_release(decoded, out)?;
                }
                Err(e) if drained(&e) => return Ok(()),
                Err(_) => {
                    self.errors += 1;
                    self.check_picture_size()?;
                }
            }
        }
    }

    /// After a decoding error: the stream's current picture size (which the decoder takes from
    /// the headers before it allocates a frame) is within the limits, or the input is refused
    /// for it rather than called damaged.
    fn check_picture_size(&self) -> Result<(), Error> {
        self.limits
            .check_picture(self.decoder.width(), self.decoder.height())
    }

    /// The frame's time on the output clock, repaired when missing, repeated, stepping back
    /// or jumping ahead of the audio beside it in the file.
    fn place(&mut self, frame: &frame::Video, layout: &mut FileLayout) -> i64 {
        let raw = frame
            .timestamp()
            .map(|ts| ts.rescale(self.stream_time_base, TICKS) - self.start);
        let position = Some(frame.packet().position);
        let seconds = |ticks: i64| ticks as f64 / TICKS_PER_SECOND as f64;
        let placed = self.continuity.place(raw, self.nominal_duration, |t, gap| {
            layout.clock_jumped(Lane::Video, position, seconds(t), seconds(gap))
        });
        layout.record(Lane::Video, position, seconds(placed));
        placed
    }

    fn filter_and_release(
        &mut self,
        frame: frame::Video,
        out: &mut dyn FnMut(TimedFrame) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !self.filter_checked {
            self.filter_checked = true;
            if let Some(spec) = PictureFilter::spec(frame.is_interlaced(), self.rotation) {
                self.filter = Some(PictureFilter::new(&spec, &frame)?);
            }
        }
        match self.filter.take() {
            None => self.release(frame, out),
            Some(mut filter) => {
                if !filter.accepts(&frame) {
                    // The stream changed size or format midway: drain the old graph, build anew.
                    filter.push(None, &mut |f| self.release(f, out))?;
                    filter = PictureFilter::new(filter.chain(), &frame)?;
                }
                let result = filter.push(Some(&frame), &mut |f| self.release(f, out));
                self.filter = Some(filter);
                result
            }
        }
    }

    /// Holds each frame until the next one arrives, so its duration is known exactly. A
    /// frame followed by a gap (skipped frames, a pause) is shown until the next one, as a
    /// player of the source would show it: repeated at the cadence, so the output keeps a
    /// steady frame rate and lasts as long as the source.
    fn release(
        &mut self,
        frame: frame::Video,
        out: &mut dyn FnMut(TimedFrame) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let pts = frame.pts().unwrap_or(0);
        let Some((previous, previous_pts)) = self.held.replace((frame, pts)) else {
            return Ok(());
        };
        let gap = (pts - previous_pts).max(1);
        let copies = repeats(gap, self.nominal_duration);
        for k in 1..copies {
            let frame =
                ffi::share_frame(&previous).map_err(Error::internal("repeating a frame"))?;
            out(TimedFrame {
                frame,
                pts: previous_pts + gap * (k - 1) / copies,
                duration: gap * k / copies - gap * (k - 1) / copies,
            })?;
        }
        out(TimedFrame {
            frame: previous,
            pts: previous_pts + gap * (copies - 1) / copies,
            duration: gap - gap * (copies - 1) / copies,
        })
    }
}

/// How many times a picture followed by a gap of `gap` is shown at a cadence of `nominal`:
/// once, unless the gap spans one and a half frames or more.
fn repeats(gap: i64, nominal: i64) -> i64 {
    if gap * 2 < nominal * 3 {
        1
    } else {
        ((gap as f64 / nominal as f64).round() as i64).max(1)
    }
}

fn frame_duration(frame: &frame::Video, time_base: Rational) -> Option<i64> {
    let duration = frame.packet().duration;
    (duration > 0).then(|| duration.rescale(time_base, TICKS).max(1))
}

#[cfg(test)]
mod tests {
    use super::repeats;

    #[test]
    fn a_picture_is_repeated_across_a_gap_at_the_cadence_and_never_dropped() {
        let frame = 6000; // 15 fps on the 90 kHz clock
        assert_eq!(repeats(frame, frame), 1);
        assert_eq!(repeats(frame + 100, frame), 1, "jitter is not a gap");
        assert_eq!(repeats(frame * 7, frame), 7, "six skipped frames");
        assert_eq!(repeats(frame * 3 / 2, frame), 2);
        assert_eq!(repeats(1, frame), 1);
    }
}
