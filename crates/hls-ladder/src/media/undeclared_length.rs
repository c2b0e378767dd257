//! Measuring an input whose header does not say how long it is (raw elementary streams, or a
//! duration libav could only guess from the bitrate): its packets are counted, not decoded.
//!
//! The limits on frames and duration then hold at the probe, before a worker spends hours on
//! millions of tiny frames; the decoder holds them again while converting, whatever this found.

use ffmpeg_next::{Packet, Rational, Rescale, format};

use crate::{Error, SourceLimits};

/// What the packets of the video stream add up to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measured {
    /// Video packets: one a frame, once libav's parser has split the stream.
    pub(crate) frames: u64,
    /// From the first timestamp to the last, or frames / frame rate when there are none.
    pub(crate) seconds: f64,
}

/// Reads the video stream's packets to the end (or to the first read error, which the
/// conversion will judge), failing as soon as they pass a limit. Consumes `input`'s position.
pub(crate) fn measure(
    input: &mut format::context::Input,
    video_index: usize,
    frame_rate: f64,
    limits: &SourceLimits,
) -> Result<Measured, Error> {
    let time_base = input
        .stream(video_index)
        .expect("chosen stream exists")
        .time_base();
    let micros = Rational::new(1, 1_000_000);
    let (mut frames, mut first, mut last) = (0u64, None::<i64>, None::<i64>);
    let mut packet = Packet::empty();
    loop {
        match packet.read(input) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::error::EAGAIN => {
                continue;
            }
            Err(_) => break,
        }
        if packet.stream() != video_index {
            continue;
        }
        frames += 1;
        if let Some(at) = packet.pts().or(packet.dts()) {
            let at = at.rescale(time_base, micros);
            first = Some(first.map_or(at, |f| f.min(at)));
            last = Some(last.map_or(at, |l| l.max(at)));
        }
        let counted = frames as f64 / frame_rate.max(1.0);
        limits.check_decoded(frames, span(first, last).max(counted))?;
    }
    let counted = frames as f64 / frame_rate.max(1.0);
    Ok(Measured {
        frames,
        seconds: span(first, last).max(counted),
    })
}

fn span(first: Option<i64>, last: Option<i64>) -> f64 {
    match (first, last) {
        (Some(first), Some(last)) => (last - first) as f64 / 1e6,
        _ => 0.0,
    }
}
