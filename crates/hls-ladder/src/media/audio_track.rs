//! One audio track of a conversion: decoded, resampled to 48 kHz stereo (mono for a mono
//! source) and encoded to AAC once, then shared by every rendition, or published as an audio
//! rendition of its own when the source has several tracks.

use ffmpeg_next::{
    ChannelLayout, Packet, Rational, Rescale, codec, decoder, encoder, filter, format, frame,
};

use crate::Error;
use crate::media::continuity::Continuity;
use crate::media::drained;
use crate::media::file_layout::{FileLayout, Lane};

/// AAC output rate: 48 kHz, what HLS players and Apple's authoring spec expect.
pub(crate) const SAMPLE_RATE: i32 = 48_000;
/// Time base of the AAC packets.
pub(crate) const AUDIO_TIME_BASE: Rational = Rational(1, SAMPLE_RATE);
/// Samples in one AAC frame.
const AAC_FRAME: u32 = 1024;

/// Channels of the AAC made from a track of `source` channels: mono stays mono (half the
/// bits for the same quality), the rest is mixed to stereo.
pub(crate) fn output_channels(source: u16) -> u16 {
    if source == 1 { 1 } else { 2 }
}

pub(crate) struct AudioTrack {
    decoder: decoder::Audio,
    encoder: encoder::Audio,
    /// What the encoder takes: stereo, or mono for a mono source.
    layout: ChannelLayout,
    resampler: Option<filter::Graph>,
    /// The sample format, layout and rate the resampler was built for.
    shape: Option<(format::Sample, ChannelLayout, u32)>,
    stream_time_base: Rational,
    start: i64,
    continuity: Continuity,
    pub(crate) errors: u64,
}

impl AudioTrack {
    /// Opens the decoder for `stream` and an AAC encoder at `bitrate` bits per second.
    pub(crate) fn new(
        stream: &format::stream::Stream,
        start_micros: i64,
        bitrate: u32,
    ) -> Result<AudioTrack, Error> {
        let context = codec::Context::from_parameters(stream.parameters())
            .map_err(Error::from_input("reading the audio stream parameters"))?;
        let mut opening = context.decoder();
        opening.set_packet_time_base(stream.time_base());
        let decoder = opening.audio().map_err(|e| Error::CorruptInput {
            reason: format!("the audio decoder rejected the stream: {e}"),
        })?;

        let aac = encoder::find(codec::Id::AAC).ok_or(ffmpeg_next::Error::EncoderNotFound);
        let aac = aac.map_err(Error::internal("finding the AAC encoder"))?;
        let mut encoder = codec::Context::new_with_codec(aac)
            .encoder()
            .audio()
            .map_err(Error::internal("creating the AAC encoder"))?;
        let layout = match output_channels(decoder.channels()) {
            1 => ChannelLayout::MONO,
            _ => ChannelLayout::STEREO,
        };
        encoder.set_rate(SAMPLE_RATE);
        encoder.set_channel_layout(layout);
        encoder.set_channels(layout.channels());
        encoder.set_format(format::Sample::F32(format::sample::Type::Planar));
        encoder.set_bit_rate(bitrate as usize);
        encoder.set_time_base(AUDIO_TIME_BASE);
        let encoder = encoder
            .open_as(aac)
            .map_err(Error::internal("opening the AAC encoder"))?;

        Ok(AudioTrack {
            decoder,
            encoder,
            layout,
            resampler: None,
            shape: None,
            stream_time_base: stream.time_base(),
            start: start_micros.rescale(
                Rational::new(1, ffmpeg_next::ffi::AV_TIME_BASE),
                stream.time_base(),
            ),
            // Steps and gaps below these are jitter, or clock drift the resampler corrects
            // (it fills or trims from 0.1 s on); a gap beyond is judged against the video.
            continuity: Continuity::new(
                0,
                seconds_in(0.05, stream.time_base()),
                seconds_in(1.0, stream.time_base()),
                seconds_in(0.1, stream.time_base()),
                seconds_in(60.0, stream.time_base()),
            ),
            errors: 0,
        })
    }

    /// Seconds of audio decoded so far, from the start of the timeline.
    pub(crate) fn decoded_seconds(&self) -> f64 {
        self.continuity.end() as f64 * f64::from(self.stream_time_base)
    }

    /// Whether any audio so far was moved off its own timestamp.
    pub(crate) fn clock_repaired(&self) -> bool {
        self.continuity.repaired()
    }

    /// Where the audio ends by its own timestamps, in seconds from the timeline's start: what
    /// a truncated file is judged by.
    pub(crate) fn clock_seconds(&self) -> f64 {
        self.continuity.raw_end() as f64 * f64::from(self.stream_time_base)
    }

    /// The AAC stream's parameters, for the muxers.
    pub(crate) fn parameters(&self) -> codec::Parameters {
        codec::Parameters::from(&*self.encoder)
    }

    /// Decodes one packet and hands the AAC packets it completes to `out`; `layout` judges
    /// the gaps.
    pub(crate) fn encode(
        &mut self,
        packet: &Packet,
        layout: &mut FileLayout,
        out: &mut dyn FnMut(Packet) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.decoder.send_packet(packet).is_err() {
            self.errors += 1;
            return Ok(());
        }
        self.drain_decoder(layout, out)
    }

    /// Flushes decoder, resampler and encoder; with `pad_to`, adds silence after the last
    /// sample up to that many seconds on the timeline (the video's end): an audio rendition
    /// of its own then lasts as long as the video, and a track with no sample at all becomes
    /// silence.
    pub(crate) fn finish(
        &mut self,
        layout: &mut FileLayout,
        pad_to: Option<f64>,
        out: &mut dyn FnMut(Packet) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let _ = self.decoder.send_eof();
        self.drain_decoder(layout, out)?;
        if let Some(end) = pad_to {
            self.pad(end, out)?;
        }
        if let Some(graph) = self.resampler.as_mut() {
            graph
                .get("in")
                .expect("graph has an input")
                .source()
                .flush()
                .map_err(Error::internal("flushing the resampler"))?;
            self.drain_resampler(out)?;
        }
        self.encoder
            .send_eof()
            .map_err(Error::internal("flushing the AAC encoder"))?;
        self.drain_encoder(out)
    }

    fn drain_decoder(
        &mut self,
        layout: &mut FileLayout,
        out: &mut dyn FnMut(Packet) -> Result<(), Error>,
    ) -> Result<(), Error> {
        loop {
            let mut decoded = frame::Audio::empty();
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {
                    let raw = decoded.timestamp().map(|ts| ts - self.start);
                    let rate = Rational::new(1, decoded.rate().max(1) as i32);
                    let duration = (decoded.samples() as i64).rescale(rate, self.stream_time_base);
                    let position = Some(decoded.packet().position);
                    let seconds = |ts: i64| ts as f64 * f64::from(self.stream_time_base);
                    let placed = self.continuity.place(raw, duration, |t, gap| {
                        layout.clock_jumped(Lane::Audio, position, seconds(t), seconds(gap))
                    });
                    layout.record(Lane::Audio, position, seconds(placed));
                    decoded.set_pts(Some(placed));
                    self.resample(&decoded, out)?;
                }
                Err(e) if drained(&e) => return Ok(()),
                Err(_) => self.errors += 1,
            }
        }
    }

    /// Adds silence after the last sample decoded up to `end` seconds on the timeline.
    fn pad(
        &mut self,
        end: f64,
        out: &mut dyn FnMut(Packet) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let (sample, layout, rate) = self.shape.unwrap_or((
            format::Sample::F32(format::sample::Type::Planar),
            self.layout,
            SAMPLE_RATE as u32,
        ));
        let rate_base = Rational::new(1, rate as i32);
        let mut at = self.continuity.end();
        let end = seconds_in(end, self.stream_time_base);
        // Within an AAC frame of the end, the encoder's own padding finishes the job.
        let step = i64::from(AAC_FRAME).rescale(rate_base, self.stream_time_base);
        while end - at > step {
            let samples = (end - at)
                .rescale(self.stream_time_base, rate_base)
                .min(4096) as usize;
            let mut silence = frame::Audio::new(sample, samples, layout);
            silence.set_rate(rate);
            let quiet = if matches!(sample, format::Sample::U8(_)) {
                0x80
            } else {
                0
            };
            for plane in 0..silence.planes() {
                silence.data_mut(plane).fill(quiet);
            }
            silence.set_pts(Some(at));
            self.resample(&silence, out)?;
            at += (samples as i64).rescale(rate_base, self.stream_time_base);
        }
        Ok(())
    }

    /// Hands a decoded frame (its pts placed on the timeline) to the resampler, built for the
    /// first one.
    fn resample(
        &mut self,
        decoded: &frame::Audio,
        out: &mut dyn FnMut(Packet) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.resampler.is_none() {
            self.resampler = Some(resampler(decoded, self.stream_time_base, self.layout)?);
            self.shape = Some((decoded.format(), input_layout(decoded), decoded.rate()));
        }
        let graph = self.resampler.as_mut().expect("just built");
        let mut input = graph.get("in").expect("graph has an input");
        if input.source().add(decoded).is_err() {
            // A frame whose layout or rate changed midway: dropped, like a damaged packet.
            self.errors += 1;
            return Ok(());
        }
        self.drain_resampler(out)
    }

    fn drain_resampler(
        &mut self,
        out: &mut dyn FnMut(Packet) -> Result<(), Error>,
    ) -> Result<(), Error> {
        loop {
            let mut resampled = frame::Audio::empty();
            let graph = self.resampler.as_mut().expect("resampler exists");
            match graph
                .get("out")
                .expect("graph has an output")
                .sink()
                .frame(&mut resampled)
            {
                Ok(()) => {
                    self.encoder
                        .send_frame(&resampled)
                        .map_err(Error::internal("encoding AAC"))?;
                    self.drain_encoder(out)?;
                }
                Err(e) if drained(&e) => return Ok(()),
                Err(e) => return Err(Error::internal("resampling audio")(e)),
            }
        }
    }

    fn drain_encoder(
        &mut self,
        out: &mut dyn FnMut(Packet) -> Result<(), Error>,
    ) -> Result<(), Error> {
        loop {
            let mut packet = Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => out(packet)?,
                Err(e) if drained(&e) => return Ok(()),
                Err(e) => return Err(Error::internal("encoding AAC")(e)),
            }
        }
    }
}

/// The channel layout of a decoded frame, when it declares none the default for its count.
fn input_layout(frame: &frame::Audio) -> ChannelLayout {
    if frame.channel_layout().is_empty() {
        ChannelLayout::default(i32::from(frame.channels()))
    } else {
        frame.channel_layout()
    }
}

/// `abuffer -> aresample -> aformat -> abuffersink` turning any layout and rate into 48 kHz
/// float planar in `layout` (stereo or mono), in 1024-sample frames. `async=1` fills gaps and trims overlaps in broken
/// timestamps; `first_pts=0` pads a track starting after the video with silence and trims what
/// comes before the video, so both start together and stay in sync.
fn resampler(
    first: &frame::Audio,
    time_base: Rational,
    output: ChannelLayout,
) -> Result<filter::Graph, Error> {
    let layout = input_layout(first);
    let output = if output == ChannelLayout::MONO {
        "mono"
    } else {
        "stereo"
    };
    let args = format!(
        "time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
        time_base.numerator(),
        time_base.denominator(),
        first.rate(),
        first.format().name(),
        layout.bits()
    );
    let spec = format!(
        "aresample={SAMPLE_RATE}:async=1:first_pts=0,aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts={output}"
    );
    let build = || -> Result<filter::Graph, ffmpeg_next::Error> {
        let mut graph = filter::Graph::new();
        graph.add(
            &filter::find("abuffer").ok_or(ffmpeg_next::Error::FilterNotFound)?,
            "in",
            &args,
        )?;
        graph.add(
            &filter::find("abuffersink").ok_or(ffmpeg_next::Error::FilterNotFound)?,
            "out",
            "",
        )?;
        graph.output("in", 0)?.input("out", 0)?.parse(&spec)?;
        graph.validate()?;
        graph
            .get("out")
            .expect("graph has an output")
            .sink()
            .set_frame_size(AAC_FRAME);
        Ok(graph)
    };
    // The arguments come from the input's stream: a graph libav refuses means bad parameters.
    build().map_err(Error::from_input(format!(
        "building the audio resampler for {args}"
    )))
}

fn seconds_in(seconds: f64, time_base: Rational) -> i64 {
    (seconds / f64::from(time_base)).round() as i64
}
