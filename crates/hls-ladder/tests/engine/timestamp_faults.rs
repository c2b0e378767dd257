//! Breaking one stream's timestamps in a finished file, byte by byte, the way broken muxers,
//! recorders and edits leave them: the ffmpeg CLI cannot write such files (it clamps what goes
//! backwards), so the fixtures are made clean and then patched in place. The media data is
//! untouched: only the clock of one stream changes, from a given time on.
//!
//! MPEG-TS: the PTS/DTS of PES headers. Matroska: the relative timestamps of (Simple)Blocks.
//! Ogg: the granule positions of pages (CRC recomputed). MP4: the decode time deltas of the
//! track's `stts` (the file's index is at its end, so only the boxes around it grow).
//!
//! Not fragmented MP4: libav sorts a fragment's samples into its index by their decode time,
//! so a fragment whose base time steps back is read out of order, which no later repair can
//! undo (players show it out of order too).

/// Which stream's clock breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    Video,
    Audio,
}

/// How the clock breaks, from `at` seconds on.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Every later timestamp is this many seconds earlier.
    Back(f64),
    /// The timestamps stand still for this many seconds (all equal), then go on as before.
    Repeat(f64),
    /// Every later timestamp is this many seconds later.
    Jump(f64),
}

/// A stream's timestamps rewritten from `at` seconds on.
#[derive(Debug, Clone, Copy)]
pub struct Break {
    pub track: Track,
    pub at: f64,
    pub fault: Fault,
}

impl Break {
    /// The broken time of an item at `t` seconds; `first_at` is the time of the first item at
    /// or after `at` (what a repeat stands still on).
    fn remap(&self, t: f64, first_at: f64) -> f64 {
        if t < self.at - 1e-9 {
            return t;
        }
        match self.fault {
            Fault::Back(d) => t - d,
            Fault::Jump(d) => t + d,
            Fault::Repeat(span) if t < self.at + span => first_at,
            Fault::Repeat(_) => t,
        }
    }
}

/// Remembers the first item at or after the break, per stream, for [`Break::remap`].
#[derive(Default)]
struct FirstAt(Option<f64>);

impl FirstAt {
    fn remap(&mut self, fault: &Break, t: f64) -> f64 {
        if t >= fault.at - 1e-9 && self.0.is_none() {
            self.0 = Some(t);
        }
        fault.remap(t, self.0.unwrap_or(t))
    }
}

/// Applies `fault` to the file's bytes; the container is told by the extension. Returns how
/// many timestamps (or runs of them) changed.
pub fn break_file(bytes: &mut Vec<u8>, extension: &str, fault: &Break) -> usize {
    match extension {
        "ts" => mpeg_ts(bytes, fault),
        "mkv" | "webm" => matroska(bytes, fault),
        "ogg" | "ogv" => ogg(bytes, fault),
        "mp4" | "mov" => mp4(bytes, fault),
        other => panic!("no timestamp patcher for .{other}"),
    }
}

// ----- MPEG-TS -----------------------------------------------------------------------------

fn read_timestamp(b: &[u8]) -> i64 {
    (i64::from(b[0] >> 1 & 0x07) << 30)
        | (i64::from(b[1]) << 22)
        | (i64::from(b[2] >> 1) << 15)
        | (i64::from(b[3]) << 7)
        | i64::from(b[4] >> 1)
}

fn write_timestamp(b: &mut [u8], value: i64) {
    let v = value.rem_euclid(1 << 33);
    b[0] = (b[0] & 0xf0) | ((v >> 29) as u8 & 0x0e) | 1;
    b[1] = (v >> 22) as u8;
    b[2] = ((v >> 14) as u8 & 0xfe) | 1;
    b[3] = (v >> 7) as u8;
    b[4] = ((v << 1) as u8 & 0xfe) | 1;
}

/// Rewrites the PTS (and DTS) of every PES of the stream; returns how many changed.
fn mpeg_ts(bytes: &mut [u8], fault: &Break) -> usize {
    let wanted = |stream_id: u8| match fault.track {
        Track::Video => (0xe0..=0xef).contains(&stream_id),
        Track::Audio => (0xc0..=0xdf).contains(&stream_id) || stream_id == 0xbd,
    };
    let mut first = FirstAt::default();
    let mut changed = 0;
    for packet in bytes.chunks_exact_mut(188) {
        assert_eq!(packet[0], 0x47, "lost MPEG-TS sync");
        let unit_start = packet[1] & 0x40 != 0;
        let has_payload = packet[3] & 0x10 != 0;
        if !unit_start || !has_payload {
            continue;
        }
        let mut start = 4;
        if packet[3] & 0x20 != 0 {
            start += 1 + usize::from(packet[4]);
        }
        let pes = &mut packet[start..];
        if pes.len() < 19 || pes[..3] != [0, 0, 1] || !wanted(pes[3]) {
            continue;
        }
        let flags = pes[7] >> 6;
        if flags & 2 == 0 {
            continue;
        }
        let pts = read_timestamp(&pes[9..14]);
        // Decided on the decode time, moved as one: the frame's PTS-DTS offset is kept.
        let dts = if flags == 3 {
            read_timestamp(&pes[14..19])
        } else {
            pts
        };
        let new = (first.remap(fault, dts as f64 / 90_000.0) * 90_000.0).round() as i64;
        let delta = new - dts;
        write_timestamp(&mut pes[9..14], pts + delta);
        if flags == 3 {
            write_timestamp(&mut pes[14..19], dts + delta);
        }
        changed += usize::from(delta != 0);
    }
    changed
}

// ----- Matroska ----------------------------------------------------------------------------

/// An EBML variable-length integer at `b[0..]`: (value, length); the length marker is removed
/// for sizes and kept for IDs.
fn vint(b: &[u8], keep_marker: bool) -> (u64, usize) {
    let length = b[0].leading_zeros() as usize + 1;
    assert!(length <= 8, "bad EBML vint");
    let mut value = u64::from(if keep_marker {
        b[0]
    } else {
        b[0] & (0xffu16 >> length) as u8
    });
    for &byte in &b[1..length] {
        value = value << 8 | u64::from(byte);
    }
    (value, length)
}

fn uint(b: &[u8]) -> u64 {
    b.iter().fold(0, |v, &byte| v << 8 | u64::from(byte))
}

const SEGMENT: u64 = 0x1853_8067;
const TRACKS: u64 = 0x1654_AE6B;
const TRACK_ENTRY: u64 = 0xAE;
const TRACK_NUMBER: u64 = 0xD7;
const TRACK_TYPE: u64 = 0x83;
const CLUSTER: u64 = 0x1F43_B675;
const CLUSTER_TIMESTAMP: u64 = 0xE7;
const SIMPLE_BLOCK: u64 = 0xA3;
const BLOCK_GROUP: u64 = 0xA0;
const BLOCK: u64 = 0xA1;
const INFO: u64 = 0x1549_A966;
const TIMESTAMP_SCALE: u64 = 0x2AD7B1;

/// Elements directly inside `range`: (id, data start, data end).
fn children(bytes: &[u8], range: std::ops::Range<usize>) -> Vec<(u64, usize, usize)> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let (id, id_len) = vint(&bytes[at..], true);
        let (size, size_len) = vint(&bytes[at + id_len..], false);
        let start = at + id_len + size_len;
        let end = (start + size as usize).min(range.end);
        out.push((id, start, end));
        at = end;
    }
    out
}

/// Rewrites the relative timestamps of every block of the track; returns how many changed.
fn matroska(bytes: &mut [u8], fault: &Break) -> usize {
    let top = children(bytes, 0..bytes.len());
    let &(_, seg_start, seg_end) = top.iter().find(|e| e.0 == SEGMENT).expect("a Segment");
    let segment = children(bytes, seg_start..seg_end);
    let mut scale_ns = 1_000_000u64;
    let mut track_number = None;
    for &(id, start, end) in &segment {
        if id == INFO {
            for (id, s, e) in children(bytes, start..end) {
                if id == TIMESTAMP_SCALE {
                    scale_ns = uint(&bytes[s..e]);
                }
            }
        }
        if id == TRACKS {
            for (id, s, e) in children(bytes, start..end) {
                if id != TRACK_ENTRY {
                    continue;
                }
                let fields = children(bytes, s..e);
                let field = |wanted| {
                    fields
                        .iter()
                        .find(|f| f.0 == wanted)
                        .map(|&(_, s, e)| uint(&bytes[s..e]))
                };
                let kind = match fault.track {
                    Track::Video => 1,
                    Track::Audio => 2,
                };
                if field(TRACK_TYPE) == Some(kind) {
                    track_number = field(TRACK_NUMBER);
                }
            }
        }
    }
    let track_number = track_number.expect("the track exists");
    let unit = scale_ns as f64 / 1e9;
    let mut first = FirstAt::default();
    let mut changed = 0;
    for &(id, start, end) in &segment {
        if id != CLUSTER {
            continue;
        }
        let elements = children(bytes, start..end);
        let cluster_time = elements
            .iter()
            .find(|e| e.0 == CLUSTER_TIMESTAMP)
            .map(|&(_, s, e)| uint(&bytes[s..e]) as i64)
            .expect("a cluster timestamp");
        let mut blocks = Vec::new();
        for &(id, s, e) in &elements {
            match id {
                SIMPLE_BLOCK => blocks.push(s),
                BLOCK_GROUP => blocks.extend(
                    children(bytes, s..e)
                        .into_iter()
                        .filter(|c| c.0 == BLOCK)
                        .map(|c| c.1),
                ),
                _ => {}
            }
        }
        for block in blocks {
            let (number, length) = vint(&bytes[block..], false);
            if number != track_number {
                continue;
            }
            let at = block + length;
            let relative = i64::from(i16::from_be_bytes([bytes[at], bytes[at + 1]]));
            let t = (cluster_time + relative) as f64 * unit;
            let new = (first.remap(fault, t) / unit).round() as i64 - cluster_time;
            let new = i16::try_from(new).expect("the broken time fits the cluster");
            bytes[at..at + 2].copy_from_slice(&new.to_be_bytes());
            changed += usize::from(i64::from(new) != relative);
        }
    }
    changed
}

// ----- Ogg ---------------------------------------------------------------------------------

fn ogg_crc(page: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in page {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                crc << 1 ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// How a stream's granule positions map to time.
enum Granule {
    /// Theora: (keyframe number << shift) + frames since it, at `rate` frames a second.
    Theora { shift: u32, rate: f64 },
    /// Vorbis, Opus, FLAC: samples at `rate` a second.
    Samples { rate: f64 },
}

impl Granule {
    fn seconds(&self, granule: i64) -> f64 {
        match *self {
            Granule::Theora { shift, rate } => {
                let key = granule >> shift;
                let since = granule & ((1 << shift) - 1);
                (key + since) as f64 / rate
            }
            Granule::Samples { rate } => granule as f64 / rate,
        }
    }

    /// The granule `granule` moved to `seconds`.
    fn moved(&self, granule: i64, seconds: f64) -> i64 {
        match *self {
            Granule::Theora { shift, rate } => {
                let frames =
                    (seconds * rate).round() as i64 - (self.seconds(granule) * rate).round() as i64;
                granule + (frames << shift)
            }
            Granule::Samples { rate } => (seconds * rate).round() as i64,
        }
    }
}

fn granule_kind(first_packet: &[u8]) -> Option<(Track, Granule)> {
    if first_packet.starts_with(b"\x80theora") {
        let b = first_packet;
        let numerator = u32::from_be_bytes([b[22], b[23], b[24], b[25]]);
        let denominator = u32::from_be_bytes([b[26], b[27], b[28], b[29]]);
        let shift = u32::from((b[40] & 0x03) << 3 | b[41] >> 5);
        let rate = f64::from(numerator) / f64::from(denominator);
        return Some((Track::Video, Granule::Theora { shift, rate }));
    }
    if first_packet.starts_with(b"\x01vorbis") {
        let b = first_packet;
        let rate = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        return Some((
            Track::Audio,
            Granule::Samples {
                rate: f64::from(rate),
            },
        ));
    }
    None
}

/// Rewrites the granule positions of the stream's pages; returns how many changed.
fn ogg(bytes: &mut [u8], fault: &Break) -> usize {
    let mut kinds: std::collections::HashMap<u32, Option<(Track, Granule)>> = Default::default();
    let mut first = FirstAt::default();
    let mut changed = 0;
    let mut at = 0;
    while at + 27 <= bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"OggS", "lost Ogg sync at {at}");
        let segments = usize::from(bytes[at + 26]);
        let body: usize = bytes[at + 27..at + 27 + segments]
            .iter()
            .map(|&s| usize::from(s))
            .sum();
        let length = 27 + segments + body;
        let serial = u32::from_le_bytes(bytes[at + 14..at + 18].try_into().unwrap());
        let page = &mut bytes[at..at + length];
        let kind = kinds
            .entry(serial)
            .or_insert_with(|| granule_kind(&page[27 + segments..]));
        let granule = i64::from_le_bytes(page[6..14].try_into().unwrap());
        if let Some((track, clock)) = kind {
            if *track == fault.track && granule > 0 {
                let seconds = clock.seconds(granule);
                let new = clock.moved(granule, first.remap(fault, seconds));
                if new != granule {
                    page[6..14].copy_from_slice(&new.to_le_bytes());
                    page[22..26].fill(0);
                    let crc = ogg_crc(page);
                    page[22..26].copy_from_slice(&crc.to_le_bytes());
                    changed += 1;
                }
            }
        }
        at += length;
    }
    changed
}

// ----- MP4 --------------------------------------------------------------------------------

/// Boxes directly inside `range`: (type, header start, body start, end).
fn boxes(bytes: &[u8], range: std::ops::Range<usize>) -> Vec<([u8; 4], usize, usize, usize)> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at + 8 <= range.end {
        let size = be_u32(bytes, at) as usize;
        let kind: [u8; 4] = bytes[at + 4..at + 8].try_into().unwrap();
        let (body, end) = match size {
            1 => (
                at + 16,
                at + u64::from_be_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize,
            ),
            0 => (at + 8, range.end),
            n => (at + 8, at + n),
        };
        out.push((kind, at, body, end.min(range.end)));
        at = end;
    }
    out
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The timescale of an `mvhd` or `mdhd` box (after 64-bit times in version 1).
fn timescale(bytes: &[u8], header: ([u8; 4], usize, usize, usize)) -> f64 {
    let at = if bytes[header.2] == 1 {
        header.2 + 20
    } else {
        header.2 + 12
    };
    f64::from(be_u32(bytes, at))
}

fn child(
    bytes: &[u8],
    parent: ([u8; 4], usize, usize, usize),
    kind: &[u8; 4],
) -> ([u8; 4], usize, usize, usize) {
    *boxes(bytes, parent.2..parent.3)
        .iter()
        .find(|b| &b.0 == kind)
        .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(kind)))
}

/// Rewrites the track's `stts` so its decode times follow the fault; returns how many
/// samples moved.
fn mp4(bytes: &mut Vec<u8>, fault: &Break) -> usize {
    let top = boxes(bytes, 0..bytes.len());
    let moov = *top.iter().find(|b| &b.0 == b"moov").expect("a moov");
    assert!(
        top.iter().all(|b| &b.0 != b"mdat" || b.1 < moov.1),
        "the index must follow the media (no faststart), so that growing it moves no sample"
    );
    let handler = match fault.track {
        Track::Video => b"vide",
        Track::Audio => b"soun",
    };
    let trak = *boxes(bytes, moov.2..moov.3)
        .iter()
        .filter(|b| &b.0 == b"trak")
        .find(|&&trak| {
            let hdlr = child(bytes, child(bytes, trak, b"mdia"), b"hdlr");
            &bytes[hdlr.2 + 8..hdlr.2 + 12] == handler
        })
        .expect("the track exists");
    let mdia = child(bytes, trak, b"mdia");
    let scale = timescale(bytes, child(bytes, mdia, b"mdhd"));
    let minf = child(bytes, mdia, b"minf");
    let stbl = child(bytes, minf, b"stbl");
    let stts = child(bytes, stbl, b"stts");

    let count = be_u32(bytes, stts.2 + 4) as usize;
    let mut deltas: Vec<i64> = Vec::new();
    for entry in 0..count {
        let at = stts.2 + 8 + entry * 8;
        let samples = be_u32(bytes, at);
        let delta = be_u32(bytes, at + 4);
        deltas.extend(std::iter::repeat_n(i64::from(delta), samples as usize));
    }
    let mut dts = Vec::with_capacity(deltas.len());
    let mut t = 0;
    for &delta in &deltas {
        dts.push(t);
        t += delta;
    }
    let mut first = FirstAt::default();
    let moved: Vec<i64> = dts
        .iter()
        .map(|&d| (first.remap(fault, d as f64 / scale) * scale).round() as i64)
        .collect();
    let changed = moved.iter().zip(&dts).filter(|(a, b)| a != b).count();
    let mut new_deltas: Vec<i64> = moved.windows(2).map(|w| w[1] - w[0]).collect();
    new_deltas.push(*deltas.last().expect("samples"));

    // Run-length encoded again; a step back is a negative delta, as broken muxers write it.
    let mut runs: Vec<(u32, i64)> = Vec::new();
    for delta in new_deltas {
        match runs.last_mut() {
            Some((n, d)) if *d == delta => *n += 1,
            _ => runs.push((1, delta)),
        }
    }
    let mut body = bytes[stts.2..stts.2 + 4].to_vec();
    body.extend((runs.len() as u32).to_be_bytes());
    for (n, delta) in &runs {
        body.extend(n.to_be_bytes());
        body.extend((*delta as i32 as u32).to_be_bytes());
    }
    // A track that now lasts longer gets an edit list as long: libav drops what lies beyond.
    let longer = moved.last().unwrap() - dts.last().unwrap();
    if longer > 0 {
        let movie_scale = timescale(bytes, child(bytes, moov, b"mvhd"));
        let extra = (longer as f64 / scale * movie_scale).round() as u64;
        if let Some(edts) = boxes(bytes, trak.2..trak.3)
            .into_iter()
            .find(|b| &b.0 == b"edts")
        {
            let elst = child(bytes, edts, b"elst");
            let wide = bytes[elst.2] == 1;
            let entries = be_u32(bytes, elst.2 + 4);
            let entry_size = if wide { 20 } else { 12 };
            let last = elst.2 + 8 + (entries as usize - 1) * entry_size;
            if wide {
                let d = u64::from_be_bytes(bytes[last..last + 8].try_into().unwrap()) + extra;
                bytes[last..last + 8].copy_from_slice(&d.to_be_bytes());
            } else {
                let d = u64::from(be_u32(bytes, last));
                bytes[last..last + 4].copy_from_slice(&((d + extra) as u32).to_be_bytes());
            }
        }
    }
    let grown = body.len() as i64 - (stts.3 - stts.2) as i64;
    let mut replaced = Vec::with_capacity(bytes.len() + grown.max(0) as usize);
    replaced.extend_from_slice(&bytes[..stts.2]);
    replaced.extend_from_slice(&body);
    replaced.extend_from_slice(&bytes[stts.3..]);
    for header in [moov.1, trak.1, mdia.1, minf.1, stbl.1, stts.1] {
        let size = be_u32(&replaced, header);
        assert!(size > 1, "64-bit box sizes are not expected here");
        let size = (i64::from(size) + grown) as u32;
        replaced[header..header + 4].copy_from_slice(&size.to_be_bytes());
    }
    *bytes = replaced;
    changed
}
