//! One text subtitle track: its packets decoded by libav (SRT, ASS/SSA, mov_text and WebVTT
//! all come out as ASS dialogue lines) into cues on the output clock. Subtitles are optional:
//! a packet that does not decode is skipped, never a reason to fail the conversion.

use ffmpeg_next::{Packet, Rational, Rescale, codec, format, subtitle};

use crate::Error;
use crate::captions::{Cue, dialogue_text};
use crate::media::ffi;

/// A cue with no duration of its own (no packet duration, no end time) lasts this long, or
/// until the next one.
const OPEN_CUE_SECONDS: f64 = 5.0;

const MICROS: Rational = Rational(1, 1_000_000);

pub(crate) struct SubtitleTrack {
    decoder: ffmpeg_next::decoder::Subtitle,
    time_base: Rational,
    start_micros: i64,
    /// The cues so far, in decoding order.
    pub(crate) cues: Vec<Cue>,
}

impl SubtitleTrack {
    /// A decoder for `stream`; the output clock starts at `start_micros` (see `Source`).
    pub(crate) fn new(stream: &format::stream::Stream, start_micros: i64) -> Result<Self, Error> {
        let mut decoder = codec::Context::from_parameters(stream.parameters())
            .map_err(Error::from_input("reading the subtitle stream parameters"))?
            .decoder();
        decoder.set_packet_time_base(stream.time_base());
        let decoder = decoder
            .subtitle()
            .map_err(Error::from_input("opening the subtitle decoder"))?;
        Ok(SubtitleTrack {
            decoder,
            time_base: stream.time_base(),
            start_micros,
            cues: Vec::new(),
        })
    }

    /// Decodes one packet of the track into cues.
    pub(crate) fn decode(&mut self, packet: &Packet) {
        let Some(pts) = packet.pts().or(packet.dts()) else {
            tracing::debug!("a subtitle packet without a timestamp");
            return;
        };
        let mut decoded = ffmpeg_next::Subtitle::new();
        match self.decoder.decode(packet, &mut decoded) {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::debug!(%error, "a subtitle packet did not decode");
                return;
            }
        }
        let at = pts.rescale(self.time_base, MICROS) - self.start_micros;
        let seconds = |millis: u32| (at as f64 + f64::from(millis) * 1000.0) / 1e6;
        let start = seconds(decoded.start());
        let end = match decoded.end() {
            0 | u32::MAX if packet.duration() > 0 => {
                (at + packet.duration().rescale(self.time_base, MICROS)) as f64 / 1e6
            }
            0 | u32::MAX => start + OPEN_CUE_SECONDS,
            millis => seconds(millis),
        };
        let text: Vec<String> = decoded
            .rects()
            .filter_map(|rect| match rect {
                subtitle::Rect::Ass(ass) => Some(dialogue_text(ass.get())),
                subtitle::Rect::Text(text) => Some(text.get().trim().to_string()),
                _ => None,
            })
            .filter(|t| !t.is_empty())
            .collect();
        ffi::free_subtitle(&mut decoded);
        if !text.is_empty() && end > start && end > 0.0 {
            self.cues.push(Cue {
                start: start.max(0.0),
                end,
                text: text.join("\n"),
            });
        }
    }

    /// The cues in time order.
    pub(crate) fn finish(mut self) -> Vec<Cue> {
        self.cues
            .sort_by(|a, b| a.start.total_cmp(&b.start).then(a.end.total_cmp(&b.end)));
        self.cues
    }
}
