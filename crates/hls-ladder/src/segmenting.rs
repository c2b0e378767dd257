//! The shared clock of the output, in 90 kHz ticks (MPEG-TS's own) from the source's first
//! timestamp, and how it is cut into segments. Plain numbers: the options, the resume point
//! and the media threads all reason in them.

/// Ticks per second.
pub(crate) const TICKS_PER_SECOND: i64 = 90_000;

/// How the output is cut: segments of `seconds`, except a shorter first one of
/// `first_seconds` (the second then ends at the first multiple of `seconds`), so that a
/// player, and a progressive conversion, can start sooner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Segmenting {
    pub(crate) seconds: f64,
    pub(crate) first_seconds: f64,
}

impl Segmenting {
    /// How many segments `duration` seconds make.
    pub(crate) fn count(&self, duration: f64) -> u64 {
        let regular = (duration / self.seconds).ceil().max(1.0) as u64;
        let shorter_first = self.first_seconds < self.seconds && duration > self.first_seconds;
        regular + u64::from(shorter_first)
    }
}

/// Segment boundaries on the output clock: the first after `first_seconds`, then the
/// multiples of the target duration.
///
/// Both the keyframe decision (before encoding) and the segment cut (after encoding) walk
/// the same boundaries with the same rule, so every rendition cuts at the same frames.
#[derive(Debug, Clone)]
pub(crate) struct Boundaries {
    step: i64,
    next: i64,
}

impl Boundaries {
    pub(crate) fn new(segmenting: Segmenting) -> Boundaries {
        let ticks = |seconds: f64| ((seconds * TICKS_PER_SECOND as f64).round() as i64).max(1);
        let step = ticks(segmenting.seconds);
        Boundaries {
            step,
            next: ticks(segmenting.first_seconds).min(step),
        }
    }

    /// Whether a frame at `pts` starts a new segment: it is the first at or after the next
    /// boundary. Passing it moves on to the boundary after `pts`.
    pub(crate) fn crossed(&mut self, pts: i64) -> bool {
        if pts < self.next {
            return false;
        }
        self.next = (pts.div_euclid(self.step) + 1) * self.step;
        true
    }
}

/// Converts ticks to seconds.
pub(crate) fn seconds(ticks: i64) -> f64 {
    ticks as f64 / TICKS_PER_SECOND as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(seconds: f64) -> Segmenting {
        Segmenting {
            seconds,
            first_seconds: seconds,
        }
    }

    #[test]
    fn ntsc_frames_cross_each_six_second_boundary_once() {
        let mut boundaries = Boundaries::new(every(6.0));
        let frame = 3003; // 1001/30000 s in ticks
        let cuts: Vec<i64> = (0..400)
            .map(|n| n * frame)
            .filter(|&pts| boundaries.crossed(pts))
            .collect();
        // frame 180 is at 6.006 s, frame 360 at 12.012 s
        assert_eq!(cuts, [180 * frame, 360 * frame]);
    }

    #[test]
    fn a_gap_longer_than_a_segment_gives_one_cut_not_several() {
        let mut boundaries = Boundaries::new(every(2.0));
        assert!(!boundaries.crossed(0));
        assert!(boundaries.crossed(7 * TICKS_PER_SECOND));
        assert!(!boundaries.crossed(7 * TICKS_PER_SECOND + 1));
        assert!(boundaries.crossed(8 * TICKS_PER_SECOND));
    }

    #[test]
    fn a_shorter_first_segment_then_the_multiples_of_the_target() {
        let segmenting = Segmenting {
            seconds: 6.0,
            first_seconds: 2.0,
        };
        let mut boundaries = Boundaries::new(segmenting);
        let frame = TICKS_PER_SECOND / 25;
        let cuts: Vec<f64> = (0..25 * 20)
            .map(|n| n * frame)
            .filter(|&pts| boundaries.crossed(pts))
            .map(seconds)
            .collect();
        assert_eq!(cuts, [2.0, 6.0, 12.0, 18.0]);
        assert_eq!(segmenting.count(20.0), cuts.len() as u64 + 1);
        assert_eq!(segmenting.count(1.5), 1);
        assert_eq!(segmenting.count(4.0), 2);
        assert_eq!(segmenting.count(12.0), 3);
        // A "shorter" first segment as long as the others changes nothing.
        assert_eq!(every(6.0).count(20.0), 4);
        let mut plain = Boundaries::new(every(6.0));
        assert!(!plain.crossed(2 * TICKS_PER_SECOND));
        assert!(plain.crossed(6 * TICKS_PER_SECOND));
    }
}
