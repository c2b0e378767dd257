//! Repairing broken timestamps: missing ones, ones that repeat or step back, and jumps that
//! are discontinuities (concatenated MPEG-TS, clock wraps) rather than real pauses.
//!
//! Pure arithmetic on one stream's timestamps, in that stream's units.

/// Places the timestamps of one stream on a continuous timeline.
///
/// - An item that starts at or before the previous one, or well before the previous one
///   ends (a clock that repeats or steps back), goes right after what came before, and
///   everything after it moves by as much: the data is whole, the clock is wrong.
/// - An item that starts well after the previous one ends is either that clock catching up
///   after standing still (the gap is no more than what was moved), a pause, or a clock that
///   jumped. The caller tells the last two apart (see
///   [`FileLayout`](crate::media::file_layout::FileLayout)); a jump, or a gap beyond
///   `max_gap`, is closed like a step back.
/// - Small differences either way are left as they are (jitter, or audio clock drift the
///   resampler corrects).
#[derive(Debug, Clone)]
pub(crate) struct Continuity {
    /// Added to every raw timestamp; changes at each repaired fault.
    shift: i64,
    /// How much of `shift` came from a clock that stood still or stepped back by less than
    /// `restart`: a later gap of about this much is that clock catching up.
    behind: i64,
    last: Option<i64>,
    /// Where the latest item ends.
    next: i64,
    /// Where the timeline ends: the furthest end of any item.
    end: i64,
    /// Where the stream ends on its own clock, faults and all.
    raw_end: i64,
    /// A start this close after the previous item's start is a repeat.
    repeat: i64,
    /// A start this much before the previous item's end is a step back, not jitter.
    max_back: i64,
    /// A step back larger than this is a restarted clock (concatenated files), whose later
    /// gaps are pauses.
    restart: i64,
    /// A start this much after the previous item's end is a gap to judge.
    min_gap: i64,
    /// A gap larger than this is always a broken clock, never an hour of nothing.
    max_gap: i64,
    /// Whether any item was moved (or had no timestamp) so far.
    repaired: bool,
}

impl Continuity {
    /// `repeat`: an item starting this close after the previous one's start repeats it;
    /// `max_back`: starting this much before the previous one's end is a step back; `restart`:
    /// a step back beyond this is a restarted clock; `min_gap`: a gap beyond this is judged;
    /// `max_gap`: a gap beyond this is always closed.
    pub(crate) fn new(
        repeat: i64,
        max_back: i64,
        restart: i64,
        min_gap: i64,
        max_gap: i64,
    ) -> Continuity {
        Continuity {
            repeat,
            shift: 0,
            behind: 0,
            last: None,
            next: 0,
            end: 0,
            raw_end: 0,
            max_back,
            restart,
            min_gap,
            max_gap,
            repaired: false,
        }
    }

    /// Whether any item so far was placed elsewhere than its own timestamp says (or had
    /// none): while not, the timeline is the stream's own clock from its first item.
    pub(crate) fn repaired(&self) -> bool {
        self.repaired
    }

    /// Where the latest item ends: the timeline's length so far.
    pub(crate) fn end(&self) -> i64 {
        self.end
    }

    /// Where the stream ends by its own timestamps: what a truncated file is judged by, since
    /// a repaired jump rightly makes the timeline shorter than the clock says.
    pub(crate) fn raw_end(&self) -> i64 {
        self.raw_end
    }

    /// The place of an item with this raw timestamp lasting `duration`. `clock_jumped(t,
    /// gap)` judges a gap: `true` if an item at `t` after a gap of `gap` is a broken clock
    /// rather than a pause.
    pub(crate) fn place(
        &mut self,
        raw: Option<i64>,
        duration: i64,
        clock_jumped: impl FnOnce(i64, i64) -> bool,
    ) -> i64 {
        let duration = duration.max(0);
        if let Some(raw) = raw {
            self.raw_end = self.raw_end.max(raw + duration);
        }
        let repaired_before = self.repaired;
        self.repaired = true;
        let placed = match (raw, self.last) {
            (None, None) => 0,
            (Some(raw), None) => {
                self.repaired = repaired_before;
                raw
            }
            (None, Some(_)) => self.end,
            (Some(raw), Some(last)) => {
                let t = raw + self.shift;
                let gap = t - self.next;
                if gap < -self.restart {
                    self.shift += self.end - t;
                    self.end
                } else if t <= last + self.repeat || gap < -self.max_back {
                    self.behind += self.end - t;
                    self.shift += self.end - t;
                    self.end
                } else if self.behind > 0
                    && gap > self.min_gap
                    && (gap - self.behind).abs() <= 3 * self.min_gap
                {
                    // The clock resumes where it should be after standing still.
                    self.shift -= self.behind;
                    std::mem::take(&mut self.behind);
                    self.next
                } else if gap > self.max_gap || (gap > self.min_gap && clock_jumped(t, gap)) {
                    self.shift -= gap;
                    self.next
                } else {
                    self.repaired = repaired_before;
                    t
                }
            }
        };
        self.last = Some(placed);
        self.next = placed + duration;
        self.end = self.end.max(self.next);
        placed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(c: &mut Continuity, raws: &[Option<i64>], duration: i64, jumps: bool) -> Vec<i64> {
        raws.iter()
            .map(|&r| c.place(r, duration, |_, _| jumps))
            .collect()
    }

    /// Like the video decoder's: a frame starting within a fifth of a frame after the
    /// previous one repeats it, a gap of half a frame is judged.
    fn video() -> Continuity {
        Continuity::new(2, 8, 100, 5, 1000)
    }

    #[test]
    fn clean_timestamps_pass_unchanged_with_their_pauses() {
        let mut clean = video();
        assert_eq!(
            placed(
                &mut clean,
                &[Some(0), Some(10), Some(20), Some(500)],
                10,
                false
            ),
            [0, 10, 20, 500]
        );
        assert!(!clean.repaired(), "a kept pause is no repair");
        let mut stepping_back = video();
        placed(
            &mut stepping_back,
            &[Some(0), Some(10), Some(5), Some(30)],
            10,
            false,
        );
        assert!(stepping_back.repaired(), "and stays repaired");
        let mut missing = video();
        placed(&mut missing, &[Some(0), None], 10, false);
        assert!(missing.repaired());
    }

    #[test]
    fn missing_and_repeated_timestamps_continue_one_duration_later() {
        assert_eq!(
            placed(
                &mut video(),
                &[Some(0), None, Some(10), Some(10), Some(40)],
                10,
                false
            ),
            [0, 10, 20, 30, 40]
        );
    }

    #[test]
    fn a_clock_standing_still_is_spread_and_then_followed() {
        // Four items stamped 20, then the clock resumes where it should be.
        assert_eq!(
            placed(
                &mut video(),
                &[
                    Some(0),
                    Some(10),
                    Some(20),
                    Some(20),
                    Some(20),
                    Some(20),
                    Some(60)
                ],
                10,
                false
            ),
            [0, 10, 20, 30, 40, 50, 60]
        );
    }

    #[test]
    fn a_step_back_is_closed_and_what_follows_keeps_its_spacing() {
        // Two files concatenated: the second restarts at 0; or a clock losing 15 units.
        assert_eq!(
            placed(
                &mut video(),
                &[Some(0), Some(10), Some(20), Some(0), Some(10)],
                10,
                false
            ),
            [0, 10, 20, 30, 40]
        );
        assert_eq!(
            placed(
                &mut video(),
                &[Some(0), Some(10), Some(20), Some(15), Some(25)],
                10,
                false
            ),
            [0, 10, 20, 30, 40]
        );
    }

    #[test]
    fn a_clock_that_steps_back_for_good_keeps_the_pauses_that_follow() {
        // 30 units back for good; a real skipped item later (a 20-unit gap) stays.
        assert_eq!(
            placed(
                &mut video(),
                &[Some(0), Some(10), Some(20), Some(0), Some(10), Some(30)],
                10,
                false
            ),
            [0, 10, 20, 30, 40, 60]
        );
    }

    #[test]
    fn an_item_a_tick_after_the_previous_one_is_a_repeat() {
        assert_eq!(
            placed(
                &mut video(),
                &[Some(0), Some(10), Some(11), Some(21)],
                10,
                false
            ),
            [0, 10, 20, 30]
        );
    }

    #[test]
    fn a_skipped_item_is_a_pause_when_nothing_was_moved() {
        assert_eq!(
            placed(&mut video(), &[Some(0), Some(20), Some(30)], 10, false),
            [0, 20, 30]
        );
    }

    #[test]
    fn a_restarted_clock_moves_everything_after_it_and_keeps_its_pauses() {
        assert_eq!(
            placed(
                &mut video(),
                &[
                    Some(0),
                    Some(10),
                    Some(20),
                    Some(-500),
                    Some(-490),
                    Some(-200)
                ],
                10,
                false
            ),
            [0, 10, 20, 30, 40, 330]
        );
    }

    #[test]
    fn a_jump_forward_is_closed_when_judged_a_broken_clock_and_kept_when_a_pause() {
        let raws = [Some(0), Some(10), Some(300), Some(310)];
        assert_eq!(placed(&mut video(), &raws, 10, true), [0, 10, 20, 30]);
        assert_eq!(placed(&mut video(), &raws, 10, false), [0, 10, 300, 310]);
    }

    #[test]
    fn a_huge_jump_forward_is_always_a_broken_clock() {
        assert_eq!(
            placed(
                &mut video(),
                &[Some(0), Some(10), Some(90_000), Some(90_010)],
                10,
                false
            ),
            [0, 10, 20, 30]
        );
    }

    #[test]
    fn audio_jitter_and_drift_are_left_to_the_resampler() {
        // Audio: steps back up to 50 units and gaps up to 100 pass as they are.
        let mut c = Continuity::new(0, 50, 2000, 100, 100_000);
        assert_eq!(
            placed(
                &mut c,
                &[Some(0), Some(1020), Some(2040), Some(3100)],
                1024,
                true
            ),
            [0, 1020, 2040, 3100]
        );
    }
}
