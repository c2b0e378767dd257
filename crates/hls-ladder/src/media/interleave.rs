//! Ordering video and audio packets by decode time before they reach a muxer.
//!
//! Video comes out of its encoder late (lookahead), audio comes early; a packet is released
//! once no packet of the other stream can still come before it. When one stream runs more
//! than `max_lag` ahead (the other ended early, or the input is badly interleaved), its oldest
//! packets are released anyway, so memory stays bounded, as libavformat's own interleaver does.

use std::collections::VecDeque;

/// Which stream a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Track {
    Video,
    Audio,
}

#[derive(Debug)]
struct Queue<P> {
    packets: VecDeque<(i64, P)>,
    newest: Option<i64>,
    ended: bool,
}

impl<P> Queue<P> {
    fn new(ended: bool) -> Self {
        Queue {
            packets: VecDeque::new(),
            newest: None,
            ended,
        }
    }

    fn span(&self) -> i64 {
        match (self.packets.front(), self.packets.back()) {
            (Some((first, _)), Some((last, _))) => last - first,
            _ => 0,
        }
    }
}

/// Orders packets of two streams by decode timestamp (on a common clock).
#[derive(Debug)]
pub(crate) struct Interleaver<P> {
    video: Queue<P>,
    audio: Queue<P>,
    max_lag: i64,
}

impl<P> Interleaver<P> {
    /// `has_audio: false` makes the audio side ended from the start.
    pub(crate) fn new(has_audio: bool, max_lag: i64) -> Self {
        Interleaver {
            video: Queue::new(false),
            audio: Queue::new(!has_audio),
            max_lag,
        }
    }

    /// Queues a packet; `dts` must not decrease within a track.
    pub(crate) fn push(&mut self, track: Track, dts: i64, packet: P) {
        let queue = self.queue(track);
        queue.newest = Some(dts);
        queue.packets.push_back((dts, packet));
    }

    /// Declares that `track` will get no more packets.
    pub(crate) fn end(&mut self, track: Track) {
        self.queue(track).ended = true;
    }

    /// The next packet that may be written, if any.
    pub(crate) fn pop(&mut self) -> Option<(Track, P)> {
        let track = self.next_track()?;
        self.queue(track)
            .packets
            .pop_front()
            .map(|(_, p)| (track, p))
    }

    fn next_track(&self) -> Option<Track> {
        let (video, audio) = (&self.video, &self.audio);
        match (video.packets.front(), audio.packets.front()) {
            (Some((v, _)), Some((a, _))) => Some(if v <= a { Track::Video } else { Track::Audio }),
            (Some((v, _)), None) => {
                Self::ready(*v, video, audio, self.max_lag).then_some(Track::Video)
            }
            (None, Some((a, _))) => {
                Self::ready(*a, audio, video, self.max_lag).then_some(Track::Audio)
            }
            (None, None) => None,
        }
    }

    /// A head packet with an empty other queue may go when the other stream has ended, has
    /// already been seen past it, or this queue has grown beyond the allowed lag.
    fn ready(dts: i64, this: &Queue<P>, other: &Queue<P>, max_lag: i64) -> bool {
        other.ended || other.newest.is_some_and(|newest| newest >= dts) || this.span() > max_lag
    }

    fn queue(&mut self, track: Track) -> &mut Queue<P> {
        match track {
            Track::Video => &mut self.video,
            Track::Audio => &mut self.audio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(i: &mut Interleaver<&'static str>) -> Vec<&'static str> {
        std::iter::from_fn(|| i.pop().map(|(_, p)| p)).collect()
    }

    #[test]
    fn packets_leave_in_decode_order_once_the_other_stream_has_caught_up() {
        let mut i = Interleaver::new(true, 1000);
        i.push(Track::Audio, 0, "a0");
        i.push(Track::Audio, 20, "a20");
        assert_eq!(
            drain(&mut i),
            Vec::<&str>::new(),
            "video may still come before audio"
        );
        i.push(Track::Video, 10, "v10");
        assert_eq!(drain(&mut i), ["a0", "v10"]);
        i.push(Track::Video, 30, "v30");
        assert_eq!(drain(&mut i), ["a20"]);
        i.end(Track::Audio);
        assert_eq!(drain(&mut i), ["v30"]);
    }

    #[test]
    fn video_only_output_is_never_held_back() {
        let mut i = Interleaver::new(false, 1000);
        i.push(Track::Video, 0, "v0");
        assert_eq!(drain(&mut i), ["v0"]);
    }

    #[test]
    fn a_stream_running_too_far_ahead_is_released_to_bound_memory() {
        let mut i = Interleaver::new(true, 100);
        for (dts, name) in [(0, "v0"), (50, "v50"), (100, "v100"), (150, "v150")] {
            i.push(Track::Video, dts, name);
        }
        assert_eq!(
            drain(&mut i),
            ["v0"],
            "released until the queue spans at most the lag"
        );
    }

    #[test]
    fn equal_timestamps_put_video_first() {
        let mut i = Interleaver::new(true, 1000);
        i.push(Track::Audio, 10, "a10");
        i.push(Track::Video, 10, "v10");
        i.end(Track::Audio);
        i.end(Track::Video);
        assert_eq!(drain(&mut i), ["v10", "a10"]);
    }
}
