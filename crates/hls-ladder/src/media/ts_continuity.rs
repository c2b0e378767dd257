//! MPEG-TS continuity counters across a resumed conversion.
//!
//! Every TS packet carries a 4-bit continuity counter per PID, which goes up by one with each
//! packet that has a payload (ISO/IEC 13818-1, 2.4.3.3). One muxer writes a rendition's
//! segments, so its counters run on from segment to segment; a conversion resumed after a
//! crash starts a new muxer, whose counters start again at 0. To make the join invisible
//! (no "continuity check failed" in a demuxer), the new muxer's counters are renumbered to
//! continue where the published segments stopped: per PID, one constant offset, found at the
//! first packet of that PID, which keeps the muxer's own sequence intact.
//!
//! Pure byte arithmetic on whole 188-byte packets.

use std::collections::BTreeMap;

const PACKET: usize = 188;
const SYNC: u8 = 0x47;

/// The counters of one muxer's output, as published so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContinuityCounters {
    /// Per PID, the counter its next packet with a payload must carry.
    next: BTreeMap<u16, u8>,
    /// Per PID, what is added to this muxer's counters (0 unless resumed).
    offsets: BTreeMap<u16, u8>,
}

impl ContinuityCounters {
    /// Counters continuing from `next`: per PID, the counter the next packet with a payload
    /// must carry (what [`ContinuityCounters::next`] said when the earlier run stopped).
    pub(crate) fn continuing(next: impl IntoIterator<Item = (u16, u8)>) -> ContinuityCounters {
        ContinuityCounters {
            next: next.into_iter().map(|(pid, cc)| (pid, cc & 0x0f)).collect(),
            offsets: BTreeMap::new(),
        }
    }

    /// Per PID, the counter the next packet with a payload must carry.
    pub(crate) fn next(&self) -> Vec<(u16, u8)> {
        self.next.iter().map(|(&pid, &cc)| (pid, cc)).collect()
    }

    /// Renumbers the packets of one segment in place so that they continue the output so far,
    /// and remembers where they stop. Bytes that are not whole TS packets are left alone.
    pub(crate) fn renumber(&mut self, bytes: &mut [u8]) {
        for packet in bytes.chunks_exact_mut(PACKET) {
            if packet[0] != SYNC {
                continue;
            }
            let pid = (u16::from(packet[1] & 0x1f) << 8) | u16::from(packet[2]);
            let has_payload = packet[3] & 0x10 != 0;
            let cc = packet[3] & 0x0f;
            let offset = *self.offsets.entry(pid).or_insert_with(|| {
                match self.next.get(&pid) {
                    // A packet without a payload repeats the counter of the one before it.
                    Some(&next) if has_payload => next.wrapping_sub(cc) & 0x0f,
                    Some(&next) => next.wrapping_sub(1).wrapping_sub(cc) & 0x0f,
                    None => 0,
                }
            });
            let renumbered = (cc + offset) & 0x0f;
            packet[3] = (packet[3] & 0xf0) | renumbered;
            if has_payload {
                self.next.insert(pid, (renumbered + 1) & 0x0f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TS packet of `pid` with counter `cc`, with a payload or adaptation only.
    fn packet(pid: u16, cc: u8, payload: bool) -> Vec<u8> {
        let mut p = vec![0xff; PACKET];
        p[0] = SYNC;
        p[1] = (pid >> 8) as u8 & 0x1f;
        p[2] = pid as u8;
        p[3] = if payload { 0x10 } else { 0x20 } | cc;
        p
    }

    fn counters_of(bytes: &[u8]) -> Vec<(u16, u8)> {
        bytes
            .chunks_exact(PACKET)
            .map(|p| ((u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]), p[3] & 0x0f))
            .collect()
    }

    #[test]
    fn a_fresh_muxer_is_renumbered_to_continue_the_published_counters() {
        // The first run: PID 0x100 published up to counter 14, PID 0 (PAT) up to 3.
        let mut first = ContinuityCounters::default();
        let mut published: Vec<u8> = [packet(0, 2, true), packet(0, 3, true)]
            .into_iter()
            .chain((5..15).map(|cc| packet(0x100, cc, true)))
            .flatten()
            .collect();
        first.renumber(&mut published);
        assert_eq!(first.next(), [(0, 4), (0x100, 15)], "left as they were");

        // The resumed run's muxer starts at 0 on both, with a PCR-only packet in between.
        let mut resumed = ContinuityCounters::continuing(first.next());
        let mut bytes: Vec<u8> = [
            packet(0, 0, true),
            packet(0x100, 0, true),
            packet(0x100, 0, false),
            packet(0x100, 1, true),
            packet(0x101, 0, true),
        ]
        .concat();
        resumed.renumber(&mut bytes);
        assert_eq!(
            counters_of(&bytes),
            [(0, 4), (0x100, 15), (0x100, 15), (0x100, 0), (0x101, 0)],
            "continuing, wrapping at 16; a PID new to the output keeps its counters"
        );
        assert_eq!(resumed.next(), [(0, 5), (0x100, 1), (0x101, 1)]);

        // The next segment keeps the same offsets.
        let mut later = [packet(0x100, 2, true), packet(0x101, 1, true)].concat();
        resumed.renumber(&mut later);
        assert_eq!(counters_of(&later), [(0x100, 1), (0x101, 1)]);
    }

    #[test]
    fn a_resumed_run_starting_on_a_packet_without_payload_repeats_the_last_counter() {
        // A new muxer's counter stands at 15 until its first payload, which carries 0.
        let mut resumed = ContinuityCounters::continuing([(0x100, 7)]);
        let mut bytes = [packet(0x100, 15, false), packet(0x100, 0, true)].concat();
        resumed.renumber(&mut bytes);
        assert_eq!(counters_of(&bytes), [(0x100, 6), (0x100, 7)]);
    }

    #[test]
    fn bytes_that_are_not_ts_packets_are_left_alone() {
        let mut counters = ContinuityCounters::continuing([(0x100, 7)]);
        let mut junk = vec![0u8; PACKET * 2 + 5];
        counters.renumber(&mut junk);
        assert!(junk.iter().all(|&b| b == 0));
        assert_eq!(counters.next(), [(0x100, 7)]);
    }
}
