//! The shared clock of the output: 90 kHz ticks (MPEG-TS's own), starting at the source's
//! first timestamp, and the segment boundaries on it.

use ffmpeg_next::Rational;

/// Output time base for video: 1/90000 s, so variable frame rates keep their exact timing.
pub(crate) const TICKS: Rational = Rational(1, 90_000);

/// Ticks per second.
pub(crate) const TICKS_PER_SECOND: i64 = 90_000;

/// Segment boundaries: multiples of the target duration on the output clock.
///
/// Both the keyframe decision (before encoding) and the segment cut (after encoding) walk
/// the same boundaries with the same rule, so every rendition cuts at the same frames.
#[derive(Debug, Clone)]
pub(crate) struct Boundaries {
    step: i64,
    next: i64,
}

impl Boundaries {
    pub(crate) fn new(segment_seconds: f64) -> Boundaries {
        let step = ((segment_seconds * TICKS_PER_SECOND as f64).round() as i64).max(1);
        Boundaries { step, next: step }
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

    #[test]
    fn ntsc_frames_cross_each_six_second_boundary_once() {
        let mut boundaries = Boundaries::new(6.0);
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
        let mut boundaries = Boundaries::new(2.0);
        assert!(!boundaries.crossed(0));
        assert!(boundaries.crossed(7 * TICKS_PER_SECOND));
        assert!(!boundaries.crossed(7 * TICKS_PER_SECOND + 1));
        assert!(boundaries.crossed(8 * TICKS_PER_SECOND));
    }
}
