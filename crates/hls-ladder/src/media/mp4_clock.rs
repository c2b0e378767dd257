//! An MP4 track's decode times as its index writes them, steps back included.
//!
//! An MP4 index stores each sample's duration (`stts`), unsigned, so a clock that stepped back
//! can only be written as a delta with the top bit set, a negative number read as `int32`.
//! libav reads such a delta (within `max_stts_delta`) as a "DTS correction": it makes that
//! sample last one tick and takes the step out of the following samples' durations, so the
//! timeline reaches us monotonic but squeezed: the video (or the sound) after it runs fast and
//! ends early, and A/V sync drifts by as much as the step.
//!
//! For the tracks whose index holds such a delta, this reads the index itself (`stts` for the
//! durations; `stsz`, `stsc` and `stco`/`co64` for where each sample's bytes are) and gives
//! each packet, found by its byte position, the decode time the file writes: the step back
//! reaches [`Continuity`](super::continuity) as a step back, which repairs it as in every
//! other container. Other tracks and files cost one scan of the index and nothing after.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use ffmpeg_next::Packet;

/// libav's `max_stts_delta` default: a delta above it is a correction (a negative `int32`);
/// below it, a duration, however long.
const MAX_STTS_DELTA: u32 = u32::MAX - 48_000 * 10;
/// The largest `moov` read; a bigger index is left to libav alone.
const MAX_MOOV_BYTES: u64 = 64 << 20;
/// The most samples a track may have for its times to be restored: 32 MiB of table, more
/// than four hours of 60 fps video or of 48 kHz AAC.
const MAX_SAMPLES: usize = 1 << 21;

/// The decode times the file writes, for the tracks libav would otherwise squeeze.
#[derive(Debug, Default)]
pub(crate) struct Mp4Clock {
    /// By libav stream index (libav makes one stream per `trak`, in order).
    tracks: HashMap<usize, TrackClock>,
}

#[derive(Debug)]
struct TrackClock {
    /// (byte position, decode time in the track's timescale) of every sample, by position.
    samples: Vec<(u64, i64)>,
    /// What libav's times add to the file's (edit lists, its own start): set by the first
    /// packet found, before any step.
    offset: Option<i64>,
}

impl Mp4Clock {
    /// Reads the index of the MP4/MOV file at `path`. Empty when no track has a step back, or
    /// when the index cannot be read (then libav's reading stands, as for any other file).
    pub(crate) fn read(path: &Path) -> Mp4Clock {
        let read = |mut file: File| -> Option<HashMap<usize, TrackClock>> {
            let file_bytes = file.metadata().ok()?.len();
            let moov = read_moov(&mut file)?;
            Some(parse_tracks(&moov, file_bytes))
        };
        let tracks = File::open(path).ok().and_then(read).unwrap_or_default();
        Mp4Clock { tracks }
    }

    /// Gives `packet` the decode time its file writes (and moves its presentation time by as
    /// much), if its track is one libav squeezed and its position is a sample's.
    pub(crate) fn restore(&mut self, packet: &mut Packet) {
        let Some(track) = self.tracks.get_mut(&packet.stream()) else {
            return;
        };
        let (Ok(position), Some(dts)) = (u64::try_from(packet.position()), packet.dts()) else {
            return;
        };
        let Ok(found) = track.samples.binary_search_by_key(&position, |&(p, _)| p) else {
            return;
        };
        let written = track.samples[found].1;
        let offset = *track.offset.get_or_insert(dts - written);
        let moved = written + offset - dts;
        packet.set_dts(Some(dts + moved));
        packet.set_pts(packet.pts().map(|pts| pts + moved));
    }
}

/// The body of the top-level `moov` box, if it is there and not too large.
fn read_moov(file: &mut File) -> Option<Vec<u8>> {
    let length = file.metadata().ok()?.len();
    let mut at = 0u64;
    while at + 8 <= length {
        file.seek(SeekFrom::Start(at)).ok()?;
        let mut header = [0u8; 16];
        file.read_exact(&mut header[..8]).ok()?;
        let size32 = u32::from_be_bytes(header[..4].try_into().ok()?);
        let (size, header_len) = match size32 {
            0 => (length - at, 8),
            1 => {
                file.read_exact(&mut header[8..16]).ok()?;
                (u64::from_be_bytes(header[8..16].try_into().ok()?), 16)
            }
            n => (u64::from(n), 8),
        };
        if size < header_len || at.checked_add(size)? > length {
            return None;
        }
        if &header[4..8] == b"moov" {
            let body = size - header_len;
            if body > MAX_MOOV_BYTES {
                return None;
            }
            let mut moov = vec![0u8; usize::try_from(body).ok()?];
            file.read_exact(&mut moov).ok()?;
            return Some(moov);
        }
        at += size;
    }
    None
}

/// The child boxes of `data`: (type, body).
fn boxes(data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let header = data.get(at..at + 8)?;
        let size32 = u32::from_be_bytes(header[..4].try_into().ok()?) as usize;
        let (size, header_len) = match size32 {
            0 => (data.len() - at, 8),
            1 => {
                let large = data.get(at + 8..at + 16)?;
                (
                    usize::try_from(u64::from_be_bytes(large.try_into().ok()?)).ok()?,
                    16,
                )
            }
            n => (n, 8),
        };
        let end = at.checked_add(size)?;
        if size < header_len || end > data.len() {
            return None;
        }
        let found = (&header[4..8], &data[at + header_len..end]);
        at = end;
        Some(found)
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, body)| body)
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// The tracks of `moov` whose index steps back, by their stream index. `file_bytes` bounds
/// what the tables may claim: every sample has bytes in the file.
fn parse_tracks(moov: &[u8], file_bytes: u64) -> HashMap<usize, TrackClock> {
    boxes(moov)
        .filter(|(kind, _)| *kind == b"trak")
        .enumerate()
        .filter_map(|(index, (_, trak))| {
            let stbl = child(trak, b"mdia")
                .and_then(|mdia| child(mdia, b"minf"))
                .and_then(|minf| child(minf, b"stbl"))?;
            let samples = track_samples(stbl, file_bytes)?;
            Some((
                index,
                TrackClock {
                    samples,
                    offset: None,
                },
            ))
        })
        .collect()
}

/// (byte position, decode time) of every sample of a track whose `stts` steps back, sorted by
/// position; `None` for a track that does not step back, whose tables do not agree, or that
/// claims more samples than its file can hold (or than [`MAX_SAMPLES`]).
fn track_samples(stbl: &[u8], file_bytes: u64) -> Option<Vec<(u64, i64)>> {
    let stts = child(stbl, b"stts")?;
    let entries = be32(stts, 4)? as usize;
    let mut runs = Vec::new();
    let mut total = 0usize;
    let mut steps_back = false;
    for entry in 0..entries {
        let count = be32(stts, 8 + entry * 8)? as usize;
        let delta = be32(stts, 12 + entry * 8)?;
        let signed = if delta > MAX_STTS_DELTA {
            steps_back = true;
            i64::from(delta as i32)
        } else {
            i64::from(delta)
        };
        total = total.checked_add(count)?;
        runs.push((count, signed));
    }
    if !steps_back || total > MAX_SAMPLES {
        return None;
    }
    let stsz = child(stbl, b"stsz")?;
    let uniform = u64::from(be32(stsz, 4)?);
    if be32(stsz, 8)? as usize != total {
        return None;
    }
    let size = |i: usize| -> Option<u64> {
        if uniform != 0 {
            Some(uniform)
        } else {
            be32(stsz, 12 + i * 4).map(u64::from)
        }
    };
    if uniform.checked_mul(total as u64)? > file_bytes
        || (uniform == 0 && total > 0 && size(total - 1).is_none())
    {
        return None;
    }
    let chunks: Vec<u64> = if let Some(stco) = child(stbl, b"stco") {
        let n = be32(stco, 4)? as usize;
        (0..n)
            .map(|i| be32(stco, 8 + i * 4).map(u64::from))
            .collect::<Option<_>>()?
    } else {
        let co64 = child(stbl, b"co64")?;
        let n = be32(co64, 4)? as usize;
        (0..n)
            .map(|i| be64(co64, 8 + i * 8))
            .collect::<Option<_>>()?
    };
    let stsc = child(stbl, b"stsc")?;
    let stsc_runs = be32(stsc, 4)? as usize;
    let stsc_run = |i: usize| -> Option<(usize, usize)> {
        Some((
            be32(stsc, 8 + i * 12)? as usize,
            be32(stsc, 12 + i * 12)? as usize,
        ))
    };
    let mut durations = runs
        .into_iter()
        .flat_map(|(count, delta)| std::iter::repeat_n(delta, count));
    let mut samples = Vec::with_capacity(total);
    let mut dts = 0i64;
    'chunks: for r in 0..stsc_runs {
        let (first, per_chunk) = stsc_run(r)?;
        let last = if r + 1 < stsc_runs {
            stsc_run(r + 1)?.0
        } else {
            chunks.len() + 1
        };
        for chunk in first..last {
            let mut at = *chunks.get(chunk.checked_sub(1)?)?;
            for _ in 0..per_chunk {
                if samples.len() == total {
                    break 'chunks;
                }
                samples.push((at, dts));
                at = at.checked_add(size(samples.len() - 1)?)?;
                dts = dts.checked_add(durations.next()?)?;
            }
        }
    }
    if samples.len() != total {
        return None;
    }
    samples.sort_unstable_by_key(|&(position, _)| position);
    Some(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn full_box(kind: &[u8; 4], words: &[u32]) -> Vec<u8> {
        let mut body = vec![0u8; 4];
        for w in words {
            body.extend_from_slice(&w.to_be_bytes());
        }
        mp4_box(kind, &body)
    }

    /// A stbl of 6 samples of 10 bytes in 2 chunks of 3 (at 1000 and 5000), with `stts`.
    fn stbl(stts: &[u32]) -> Vec<u8> {
        let mut body = full_box(b"stts", stts);
        body.extend(full_box(b"stsz", &[10, 6]));
        body.extend(full_box(b"stsc", &[1, 1, 3, 1]));
        body.extend(full_box(b"stco", &[2, 1000, 5000]));
        body
    }

    #[test]
    fn a_negative_delta_is_a_step_back_at_its_sample_and_positions_follow_the_chunks() {
        let back = (-1500i32) as u32;
        let samples = track_samples(&stbl(&[3, 2, 512, 1, back, 3, 512]), 1 << 20).unwrap();
        assert_eq!(
            samples,
            vec![
                (1000, 0),
                (1010, 512),
                (1020, 1024),
                (5000, -476),
                (5010, 36),
                (5020, 548)
            ]
        );
    }

    #[test]
    fn an_index_that_never_steps_back_is_left_to_libav() {
        assert_eq!(track_samples(&stbl(&[1, 6, 512]), 1 << 20), None);
        // A huge delta below libav's threshold is a long duration, not a step back.
        assert_eq!(
            track_samples(&stbl(&[2, 5, 512, 1, MAX_STTS_DELTA]), 1 << 20),
            None
        );
    }

    #[test]
    fn tables_that_disagree_or_are_cut_short_are_left_to_libav() {
        let back = (-100i32) as u32;
        // stts counts 7 samples, stsz has 6.
        assert_eq!(track_samples(&stbl(&[2, 6, 512, 1, back]), 1 << 20), None);
        let mut cut = stbl(&[2, 5, 512, 1, back]);
        cut.truncate(cut.len() - 4);
        assert_eq!(track_samples(&cut, 1 << 20), None);
    }

    #[test]
    fn tables_claiming_more_samples_than_the_file_holds_are_not_expanded() {
        let back = (-100i32) as u32;
        // Two million samples of 10 bytes each claimed by a file of one megabyte.
        let mut body = full_box(b"stts", &[2, 1, back, 1_999_999, 512]);
        body.extend(full_box(b"stsz", &[10, 2_000_000]));
        body.extend(full_box(b"stsc", &[1, 1, 2_000_000, 1]));
        body.extend(full_box(b"stco", &[1, 1000]));
        assert_eq!(track_samples(&body, 1 << 20), None);
        // Over the cap, whatever the file's size.
        let mut body = full_box(b"stts", &[2, 1, back, MAX_SAMPLES as u32, 1]);
        body.extend(full_box(b"stsz", &[1, MAX_SAMPLES as u32 + 1]));
        assert_eq!(track_samples(&body, u64::MAX), None);
    }

    #[test]
    fn the_moov_box_is_found_among_top_level_boxes_and_tracks_keep_their_order() {
        let back = (-100i32) as u32;
        let trak = |stts: &[u32]| {
            let minf = mp4_box(b"minf", &mp4_box(b"stbl", &stbl(stts)));
            mp4_box(b"trak", &mp4_box(b"mdia", &minf))
        };
        let mut moov_body = trak(&[1, 6, 512]);
        moov_body.extend(trak(&[2, 5, 512, 1, back]));
        let mut file = mp4_box(b"ftyp", b"isom\0\0\0\0");
        file.extend(mp4_box(b"mdat", &[0u8; 64]));
        file.extend(mp4_box(b"moov", &moov_body));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stepped.mp4");
        std::fs::write(&path, &file).unwrap();
        let clock = Mp4Clock::read(&path);
        assert_eq!(clock.tracks.keys().copied().collect::<Vec<_>>(), vec![1]);
        std::fs::write(&path, b"not an mp4 at all").unwrap();
        assert!(Mp4Clock::read(&path).tracks.is_empty());
    }
}
