//! One rendition: scale the shared decoded frames, encode H.264 with libx264, interleave with
//! the shared AAC packets and cut MPEG-TS segments. Runs on a thread of its own.

use std::collections::BTreeMap;

use ffmpeg_next::{
    Dictionary, Packet, Rational, codec, encoder, format, frame, picture, software::scaling,
};

use crate::Error;
use crate::ladder::Rendition;
use crate::media::drained;
use crate::media::ffi;
use crate::media::interleave::{Interleaver, Track};
use crate::media::mp4_writer::{Mp4Writer, ScratchFile};
use crate::media::timeline::TICKS;
use crate::media::ts_segmenter::{Continuation, FinishedSegment, TsSegmenter};
use crate::options::Preset;
use crate::segmenting::{Segmenting, TICKS_PER_SECOND};

/// How far one stream may run ahead of the other before the interleaver lets go (10 s, as
/// libavformat's `max_interleave_delta`).
const MAX_INTERLEAVE_LAG: i64 = 10 * TICKS_PER_SECOND;

/// What the encoding settings of a rendition depend on besides its size.
#[derive(Debug, Clone)]
pub(crate) struct EncoderSettings {
    pub(crate) preset: Preset,
    pub(crate) frame_rate: Rational,
    pub(crate) segmenting: Segmenting,
}

/// Where a rendition starts: at the beginning, or, resumed, after segments already published.
#[derive(Clone, Default)]
pub(crate) struct RungStart {
    /// Frames in the published segments.
    pub(crate) frames_before: u64,
    /// Audio packets decoding before this time (90 kHz) are published already.
    pub(crate) audio_from: Option<i64>,
    /// Where the muxer takes over.
    pub(crate) continuation: Option<Continuation>,
    /// Also mux an MP4 download of this rendition.
    pub(crate) download: Option<DownloadPlan>,
}

/// An MP4 download muxed by one rendition, from the start (never in a resumed run).
#[derive(Clone)]
pub(crate) struct DownloadPlan {
    /// The file to write.
    pub(crate) path: std::path::PathBuf,
    /// Its audio when the renditions' segments have none (a source with several tracks: the
    /// default one's, sent to this rendition only for the download).
    pub(crate) audio: Option<(codec::Parameters, Rational)>,
}

/// What a rendition reports when it is done.
#[derive(Debug)]
pub(crate) struct RungSummary {
    pub(crate) codec_string: String,
    pub(crate) frames: u64,
    /// The MP4 download, when this rendition muxed one.
    pub(crate) download: Option<ScratchFile>,
}

pub(crate) struct RungEncoder {
    width: u32,
    height: u32,
    scaler: Option<(scaling::Context, (u32, u32, format::Pixel))>,
    encoder: encoder::Video,
    durations: BTreeMap<i64, i64>,
    interleaver: Interleaver<Packet>,
    audio_time_base: Rational,
    segmenter: Option<TsSegmenter>,
    audio_from: Option<i64>,
    download: Option<Mp4Writer>,
    /// Frames encoded, counting those of published segments when resumed.
    pub(crate) frames: u64,
}

impl RungEncoder {
    pub(crate) fn new(
        rendition: &Rendition,
        settings: &EncoderSettings,
        x264_threads: usize,
        audio: Option<(codec::Parameters, Rational)>,
        start: RungStart,
    ) -> Result<RungEncoder, Error> {
        let encoder = open_x264(rendition, settings, x264_threads)?;
        let audio_time_base = audio.as_ref().map(|(_, tb)| *tb).unwrap_or(TICKS);
        let has_audio = audio.is_some();
        let download = match start.download {
            Some(plan) => Some(Mp4Writer::create(
                &plan.path,
                codec::Parameters::from(&*encoder),
                plan.audio.or_else(|| audio.clone()),
            )?),
            None => None,
        };
        let segmenter = TsSegmenter::new(
            Some(codec::Parameters::from(&*encoder)),
            audio,
            settings.segmenting,
            start.continuation,
        )?;
        Ok(RungEncoder {
            width: rendition.width,
            height: rendition.height,
            scaler: None,
            encoder,
            durations: BTreeMap::new(),
            interleaver: Interleaver::new(has_audio, MAX_INTERLEAVE_LAG),
            audio_time_base,
            segmenter: Some(segmenter),
            audio_from: start.audio_from,
            download,
            frames: start.frames_before,
        })
    }

    /// Scales and encodes one frame; `key` forces an IDR frame (a segment starts here).
    pub(crate) fn encode_frame(
        &mut self,
        source: &frame::Video,
        pts: i64,
        duration: i64,
        key: bool,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut scaled = if (source.width(), source.height(), source.format())
            == (self.width, self.height, format::Pixel::YUV420P)
        {
            // Already the right picture: encode the shared buffers, no copy.
            ffi::share_frame(source).map_err(Error::internal("sharing a frame"))?
        } else {
            let mut scaled = frame::Video::empty();
            self.scaler_for(source)?
                .run(source, &mut scaled)
                .map_err(Error::internal("scaling a frame"))?;
            scaled
        };
        scaled.set_pts(Some(pts));
        scaled.set_kind(if key {
            picture::Type::I
        } else {
            picture::Type::None
        });
        self.durations.insert(pts, duration);
        self.encoder
            .send_frame(&scaled)
            .map_err(Error::internal("encoding H.264"))?;
        self.drain_encoder(out)
    }

    /// Queues one shared AAC packet; resumed, drops those already published (the interleaver
    /// put every packet decoding before the next segment's keyframe before the cut).
    pub(crate) fn add_audio(
        &mut self,
        packet: Packet,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let dts = packet.dts().or(packet.pts()).unwrap_or(0);
        let dts = ffmpeg_next::Rescale::rescale(&dts, self.audio_time_base, TICKS);
        if self.audio_from.is_some_and(|from| dts < from) {
            return Ok(());
        }
        self.interleaver.push(Track::Audio, dts, packet);
        self.mux_ready(out)
    }

    /// Queues one AAC packet for the MP4 download only (the segments have no audio).
    pub(crate) fn add_download_audio(&mut self, packet: Packet) -> Result<(), Error> {
        match self.download.as_mut() {
            Some(download) => download.write(Track::Audio, packet),
            None => Ok(()),
        }
    }

    /// Flushes the encoder and the muxer; the last segment goes to `out`.
    pub(crate) fn finish(
        mut self,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<RungSummary, Error> {
        self.encoder
            .send_eof()
            .map_err(Error::internal("flushing H.264"))?;
        self.drain_encoder(out)?;
        self.interleaver.end(Track::Video);
        self.interleaver.end(Track::Audio);
        self.mux_ready(out)?;
        let segmenter = self.segmenter.take().expect("finished once");
        let codec_string = segmenter.video_codec().unwrap_or("avc1.640028").to_string();
        segmenter.finish(out)?;
        let download = match self.download.take() {
            Some(writer) => Some(writer.finish()?),
            None => None,
        };
        Ok(RungSummary {
            codec_string,
            frames: self.frames,
            download,
        })
    }

    fn scaler_for(&mut self, source: &frame::Video) -> Result<&mut scaling::Context, Error> {
        let shape = (source.width(), source.height(), source.format());
        if self.scaler.as_ref().is_none_or(|(_, s)| *s != shape) {
            let context = scaling::Context::get(
                shape.2,
                shape.0,
                shape.1,
                format::Pixel::YUV420P,
                self.width,
                self.height,
                scaling::Flags::BICUBIC,
            )
            .map_err(Error::internal("creating the scaler"))?;
            self.scaler = Some((context, shape));
        }
        Ok(&mut self.scaler.as_mut().expect("just set").0)
    }

    fn drain_encoder(
        &mut self,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        loop {
            let mut packet = Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    self.frames += 1;
                    let pts = packet.pts().unwrap_or(0);
                    // libx264 in FFmpeg 5.1 leaves the duration at 0; the frame's own is known.
                    if let Some(duration) = self.durations.remove(&pts) {
                        packet.set_duration(duration);
                    }
                    let dts = packet.dts().unwrap_or(pts);
                    self.interleaver.push(Track::Video, dts, packet);
                    self.mux_ready(out)?;
                }
                Err(e) if drained(&e) => return Ok(()),
                Err(e) => return Err(Error::internal("encoding H.264")(e)),
            }
        }
    }

    fn mux_ready(
        &mut self,
        out: &mut dyn FnMut(FinishedSegment) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let segmenter = self.segmenter.as_mut().expect("not finished");
        while let Some((track, packet)) = self.interleaver.pop() {
            if let Some(download) = self.download.as_mut() {
                download.write(track, packet.clone())?;
            }
            segmenter.write(track, packet, out)?;
        }
        Ok(())
    }
}

fn open_x264(
    rendition: &Rendition,
    settings: &EncoderSettings,
    threads: usize,
) -> Result<encoder::Video, Error> {
    let codec = encoder::find_by_name("libx264")
        .ok_or(ffmpeg_next::Error::EncoderNotFound)
        .map_err(Error::internal("finding libx264"))?;
    let mut video = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(Error::internal("creating the H.264 encoder"))?;
    let fps = f64::from(settings.frame_rate).max(1.0);
    video.set_width(rendition.width);
    video.set_height(rendition.height);
    video.set_format(format::Pixel::YUV420P);
    video.set_time_base(TICKS);
    video.set_frame_rate(Some(settings.frame_rate));
    video.set_aspect_ratio(Rational::new(1, 1));
    // Keyframes are forced at segment starts; the natural GOP never exceeds two segments.
    video.set_gop((2.0 * settings.segmenting.seconds * fps).round().max(1.0) as u32);
    video.set_bit_rate(rendition.video_bitrate as usize);
    video.set_max_bit_rate(max_bitrate(rendition.video_bitrate) as usize);
    ffi::set_rc_buffer_size(&mut video, rendition.video_bitrate.saturating_mul(2));
    let mut options = Dictionary::new();
    options.set("preset", settings.preset.as_str());
    options.set("profile", "high");
    options.set("forced-idr", "1");
    options.set("threads", &threads.to_string());
    video
        .open_as_with(codec, options)
        .map_err(Error::internal(format!(
            "opening libx264 for {}",
            rendition.name
        )))
}

/// The VBV peak rate: 110% of the average, as Apple's HLS authoring spec allows for VOD.
pub(crate) fn max_bitrate(video_bitrate: u32) -> u32 {
    video_bitrate.saturating_mul(11) / 10
}
