//! Repairing broken timestamps: missing ones, ones that repeat or step back, and jumps that
//! are discontinuities (concatenated MPEG-TS, clock wraps) rather than real pauses.
//!
//! Pure arithmetic on one stream's timestamps, in that stream's units.

/// Places the timestamps of one stream on a continuous timeline.
#[derive(Debug, Clone)]
pub(crate) struct Continuity {
    /// Added to every raw timestamp; grows at each discontinuity.
    shift: i64,
    last: Option<i64>,
    end: i64,
    /// A step back larger than this is a discontinuity, not reordering noise.
    max_back: i64,
    /// A step forward larger than this is a discontinuity, not a pause.
    max_gap: i64,
    /// Every timestamp must be larger than the previous one (video frames).
    strictly_increasing: bool,
}

impl Continuity {
    pub(crate) fn new(max_back: i64, max_gap: i64, strictly_increasing: bool) -> Continuity {
        Continuity {
            shift: 0,
            last: None,
            end: 0,
            max_back,
            max_gap,
            strictly_increasing,
        }
    }

    /// Where the latest item ends: the timeline's length so far.
    pub(crate) fn end(&self) -> i64 {
        self.end
    }

    /// The place of an item with this raw timestamp lasting `duration`.
    pub(crate) fn place(&mut self, raw: Option<i64>, duration: i64) -> i64 {
        let placed = match (raw, self.last) {
            (None, None) => 0,
            (Some(raw), None) => raw,
            (None, Some(_)) => self.end,
            (Some(raw), Some(last)) => {
                let t = raw + self.shift;
                if t < self.end - self.max_back || t > self.end + self.max_gap {
                    self.shift += self.end - t;
                    self.end
                } else if self.strictly_increasing && t <= last {
                    self.end
                } else {
                    t
                }
            }
        };
        self.last = Some(placed);
        self.end = self.end.max(placed + duration.max(0));
        placed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(c: &mut Continuity, raws: &[Option<i64>], duration: i64) -> Vec<i64> {
        raws.iter().map(|&r| c.place(r, duration)).collect()
    }

    #[test]
    fn clean_timestamps_pass_unchanged_with_their_pauses() {
        let mut c = Continuity::new(50, 1000, true);
        assert_eq!(
            placed(&mut c, &[Some(0), Some(10), Some(20), Some(500)], 10),
            [0, 10, 20, 500]
        );
    }

    #[test]
    fn missing_and_repeated_timestamps_continue_one_duration_later() {
        let mut c = Continuity::new(50, 1000, true);
        assert_eq!(
            placed(&mut c, &[Some(0), None, Some(10), Some(10), Some(40)], 10),
            [0, 10, 20, 30, 40]
        );
    }

    #[test]
    fn a_jump_back_is_a_discontinuity_and_what_follows_keeps_its_spacing() {
        let mut c = Continuity::new(50, 1000, true);
        // Two files concatenated: the second restarts at 0.
        assert_eq!(
            placed(
                &mut c,
                &[Some(0), Some(10), Some(20), Some(0), Some(10)],
                10
            ),
            [0, 10, 20, 30, 40]
        );
    }

    #[test]
    fn a_huge_jump_forward_is_a_discontinuity_not_an_hour_of_nothing() {
        let mut c = Continuity::new(50, 1000, true);
        assert_eq!(
            placed(&mut c, &[Some(0), Some(10), Some(90_000), Some(90_010)], 10),
            [0, 10, 20, 30]
        );
    }

    #[test]
    fn audio_may_overlap_slightly_and_is_left_for_the_resampler_to_trim() {
        let mut c = Continuity::new(50, 1000, false);
        assert_eq!(
            placed(&mut c, &[Some(0), Some(1020), Some(2040)], 1024),
            [0, 1020, 2040]
        );
        let mut c = Continuity::new(2000, 100_000, false);
        assert_eq!(placed(&mut c, &[Some(0), Some(1020)], 1024), [0, 1020]);
    }
}
