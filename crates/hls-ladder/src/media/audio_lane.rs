//! An audio rendition of its own: one audio track's AAC packets muxed into audio-only
//! MPEG-TS segments, cut where the video's segments are cut. Used when the source has several
//! audio tracks (see ARCHITECTURE.md); runs on a thread of its own.
//!
//! The demux thread tells the lane where each video frame lies on the timeline, and which
//! frames open a segment. AAC packets are held until the video has passed them: only then is
//! it known which segment they belong to (a packet before the frame that opens a segment goes
//! in the segment before, by its decode time, as the muxed renditions' interleaver puts it).

use std::collections::VecDeque;

use ffmpeg_next::{Packet, Rational, Rescale, codec};

use crate::Error;
use crate::media::interleave::Track;
use crate::media::timeline::TICKS;
use crate::media::ts_segmenter::{Continuation, FinishedSegment, TsSegmenter};
use crate::segmenting::Segmenting;

/// Where a lane starts: at the beginning, or resumed after segments already published.
#[derive(Debug, Clone, Default)]
pub(crate) struct LaneStart {
    /// Resumed: where the next segment starts (90 kHz); packets decoding before it are
    /// published already.
    pub(crate) from: Option<i64>,
    /// Where the muxer takes over.
    pub(crate) continuation: Option<Continuation>,
}

pub(crate) struct AudioLane {
    segmenter: TsSegmenter,
    time_base: Rational,
    /// Packets the video has not passed yet, with their decode time (90 kHz).
    pending: VecDeque<(i64, Packet)>,
    /// Times of the frames that open a segment, not yet cut.
    cuts: VecDeque<i64>,
    /// The latest video frame's time: packets before it can be placed.
    video_at: Option<i64>,
    from: Option<i64>,
}

impl AudioLane {
    /// A lane muxing AAC packets with `parameters`, their timestamps in `time_base`.
    pub(crate) fn new(
        parameters: codec::Parameters,
        time_base: Rational,
        segmenting: Segmenting,
        start: LaneStart,
    ) -> Result<AudioLane, Error> {
        let mut segmenter = TsSegmenter::new(
            None,
            Some((parameters, time_base)),
            segmenting,
            start.continuation,
        )?;
        if let Some(from) = start.from {
            segmenter.cut_at(from, &mut |_| Ok(()))?;
        }
        Ok(AudioLane {
            segmenter,
            time_base,
            pending: VecDeque::new(),
            cuts: VecDeque::new(),
            video_at: None,
            from: start.from,
        })
    }

    /// A video frame at `pts` (90 kHz) was sent to the renditions; `opens` a segment.
    pub(crate) fn video(
        &mut self,
        pts: i64,
        opens: bool,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.video_at.is_none() {
            // The first frame: where the first segment starts.
            self.segmenter.cut_at(pts, out)?;
        }
        if opens {
            self.cuts.push_back(pts);
        }
        self.video_at = Some(self.video_at.map_or(pts, |at| at.max(pts)));
        self.place(out)
    }

    /// One AAC packet of the track; resumed, those already published are dropped.
    pub(crate) fn audio(
        &mut self,
        packet: Packet,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let dts = packet.dts().or(packet.pts()).unwrap_or(0);
        let dts = dts.rescale(self.time_base, TICKS);
        if self.from.is_some_and(|from| dts < from) {
            return Ok(());
        }
        self.pending.push_back((dts, packet));
        self.place(out)
    }

    /// Muxes what is left and hands out the last segment.
    pub(crate) fn finish(
        mut self,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.video_at = Some(i64::MAX);
        self.place(out)?;
        self.segmenter.finish(out)
    }

    /// Muxes the packets the video has passed, cutting before each that lies at or after a
    /// segment's first frame.
    fn place(
        &mut self,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Some(video_at) = self.video_at else {
            return Ok(());
        };
        while let Some(&(dts, _)) = self.pending.front() {
            if dts >= video_at {
                break;
            }
            while let Some(&cut) = self.cuts.front().filter(|&&cut| cut <= dts) {
                self.cuts.pop_front();
                self.segmenter.cut_at(cut, out)?;
            }
            let (_, packet) = self.pending.pop_front().expect("just seen");
            self.segmenter.write(Track::Audio, packet, out)?;
        }
        // Cuts with no packet after them yet wait for one (or for the end).
        Ok(())
    }
}
