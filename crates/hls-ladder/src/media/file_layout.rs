//! The file's layout as a second clock: a muxer writes the streams side by side in time order,
//! so the picture and the sound found at one place in the file belong to about the same
//! moment, whatever their timestamps say. When one stream's timestamps jump forward, this
//! tells a broken clock (the stream now runs ahead of its neighbours in the file) from a real
//! pause (the neighbours moved on by as much: a screen recorder that stored no picture while
//! nothing changed, a microphone that was cut).
//!
//! It compares positions, so it works on the order the muxer chose even when the demuxer
//! hands packets out in another (MP4 by decode time). Where a stream has no neighbour (no
//! other stream, packets without a position, a stream that ended) it has no opinion.

use std::collections::{BTreeMap, VecDeque};

/// One of the two streams a conversion reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    Video = 0,
    Audio = 1,
}

impl Lane {
    fn other(self) -> Lane {
        match self {
            Lane::Video => Lane::Audio,
            Lane::Audio => Lane::Video,
        }
    }
}

/// Positions remembered per stream: about five minutes of audio frames, ten of video.
const REMEMBERED: usize = 16_384;
/// How many of a stream's latest offsets from its neighbour describe the file's interleaving.
const RECENT: usize = 64;
/// Offsets needed before the interleaving is known well enough to judge.
const KNOWN: usize = 8;
/// The smallest jump this can tell from a pause: below, the interleaving's own unevenness
/// (a page of Ogg audio, a chunk of MP4 samples) is as large. Kept as pauses, such steps are
/// also what skipped frames look like (a Theora frame repeated by an empty packet).
const SMALLEST_JUMP: f64 = 0.1;

/// Where each stream's items were placed, by their position in the file.
#[derive(Debug, Default)]
pub(crate) struct FileLayout {
    /// Position in the file -> placed time in seconds, per lane.
    placed: [BTreeMap<i64, f64>; 2],
    /// A lane's latest offsets (its time minus its neighbour's at the same place).
    offsets: [VecDeque<f64>; 2],
    /// A lane's latest known position: items without one (the second and later frames of an
    /// MPEG-TS audio PES, of an Ogg page) come from about there.
    latest: [Option<i64>; 2],
}

impl FileLayout {
    /// Records that an item of `lane` from `position` in the file was placed at `seconds`.
    pub(crate) fn record(&mut self, lane: Lane, position: Option<i64>, seconds: f64) {
        let Some(position) = self.position(lane, position) else {
            return;
        };
        self.latest[lane as usize] = Some(position);
        if let Some(neighbour) = self.neighbour(lane, position) {
            let offsets = &mut self.offsets[lane as usize];
            if offsets.len() == RECENT {
                offsets.pop_front();
            }
            offsets.push_back(seconds - neighbour);
        }
        let placed = &mut self.placed[lane as usize];
        placed.insert(position, seconds);
        if placed.len() > REMEMBERED {
            placed.pop_first();
        }
    }

    /// Whether a step of `gap` seconds forward, to `seconds`, of the item of `lane` at
    /// `position` is the stream's clock jumping: the item would run ahead of its neighbour by
    /// more than half the gap (and more than [`SMALLEST_JUMP`]) beyond what the file's
    /// interleaving shows. `false` when there is not enough to compare with.
    pub(crate) fn clock_jumped(
        &self,
        lane: Lane,
        position: Option<i64>,
        seconds: f64,
        gap: f64,
    ) -> bool {
        let Some(position) = self.position(lane, position) else {
            return false;
        };
        let Some(neighbour) = self.neighbour(lane, position) else {
            return false;
        };
        let offsets = &self.offsets[lane as usize];
        if offsets.len() < KNOWN {
            return false;
        }
        let usual = offsets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        seconds - neighbour - usual > (gap / 2.0).max(SMALLEST_JUMP)
    }

    /// An item's position, or its lane's latest when it has none.
    fn position(&self, lane: Lane, position: Option<i64>) -> Option<i64> {
        position.filter(|&p| p >= 0).or(self.latest[lane as usize])
    }

    /// The time of the other lane's item found last before `position` in the file.
    fn neighbour(&self, lane: Lane, position: i64) -> Option<f64> {
        self.placed[lane.other() as usize]
            .range(..position)
            .next_back()
            .map(|(_, &seconds)| seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Audio and video interleaved every 0.1 s from 0 to `until`, positions rising.
    fn interleaved(until: f64) -> (FileLayout, i64) {
        let mut layout = FileLayout::default();
        let mut position = 0;
        let mut t = 0.0;
        while t < until {
            layout.record(Lane::Video, Some(position), t);
            layout.record(Lane::Audio, Some(position + 1), t);
            position += 2;
            t += 0.1;
        }
        (layout, position)
    }

    #[test]
    fn a_stream_that_jumps_ahead_of_its_neighbours_has_a_broken_clock() {
        let (layout, position) = interleaved(3.0);
        // The next video item says 4.5 s where the audio beside it is at 3 s.
        assert!(layout.clock_jumped(Lane::Video, Some(position), 4.5, 1.5));
        assert!(layout.clock_jumped(Lane::Audio, Some(position), 4.5, 1.5));
    }

    #[test]
    fn a_pause_while_the_neighbours_move_on_is_real() {
        let (mut layout, mut position) = interleaved(3.0);
        // Audio goes on for two seconds while the video stores nothing.
        let mut t = 3.0;
        while t < 5.0 {
            layout.record(Lane::Audio, Some(position), t);
            position += 1;
            t += 0.1;
        }
        assert!(!layout.clock_jumped(Lane::Video, Some(position), 5.0, 2.0));
    }

    #[test]
    fn a_step_too_small_to_tell_from_the_interleaving_is_left_as_a_pause() {
        let (layout, position) = interleaved(3.0);
        // A skipped frame's worth, however far ahead of the sound it seems.
        assert!(!layout.clock_jumped(Lane::Video, Some(position), 3.09, 0.09));
    }

    #[test]
    fn without_a_neighbour_or_a_position_there_is_no_opinion() {
        let mut layout = FileLayout::default();
        for i in 0..30 {
            layout.record(Lane::Video, Some(i), f64::from(i as i32) * 0.1);
        }
        assert!(!layout.clock_jumped(Lane::Video, Some(31), 10.0, 7.0));
        assert!(!FileLayout::default().clock_jumped(Lane::Video, None, 10.0, 7.0));
    }

    #[test]
    fn a_coarse_interleaving_is_learnt_and_not_taken_for_a_jump() {
        // Audio written in one-second chunks ahead of the video, as some cameras do: the
        // video beside a chunk is up to 0.9 s behind its last sound.
        let mut layout = FileLayout::default();
        let mut position = 0;
        let chunk = |layout: &mut FileLayout, position: &mut i64, second: f64, video: &[f64]| {
            for i in 0..10 {
                layout.record(Lane::Audio, Some(*position), second + f64::from(i) * 0.1);
                *position += 1;
            }
            for &t in video {
                layout.record(Lane::Video, Some(*position), t);
                *position += 1;
            }
        };
        for second in 0..4 {
            let second = f64::from(second);
            let video: Vec<f64> = (0..10).map(|i| second + f64::from(i) * 0.1).collect();
            chunk(&mut layout, &mut position, second, &video);
        }
        // A real half-second pause of the picture: the next chunk's sound moved on too.
        let mut paused = layout_copy(&layout);
        let mut at = position;
        chunk(&mut paused, &mut at, 4.0, &[]);
        assert!(!paused.clock_jumped(Lane::Video, Some(at), 4.5, 0.5));
        // The picture's clock jumping 1.5 s while its sound stays where it was.
        assert!(layout.clock_jumped(Lane::Video, Some(position), 5.5, 1.5));
    }

    fn layout_copy(layout: &FileLayout) -> FileLayout {
        FileLayout {
            placed: layout.placed.clone(),
            offsets: layout.offsets.clone(),
            latest: layout.latest,
        }
    }
}
