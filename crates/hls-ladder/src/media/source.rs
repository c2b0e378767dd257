//! Opening an input and describing it: stream choice, geometry, frame rate, frame count.
//!
//! Errors here are mostly the client's: not a media file, no video, an unknown codec.

use std::path::Path;

use ffmpeg_next::{Rational, codec, format, media, packet};

use crate::media::mp4_clock::Mp4Clock;
use crate::media::{input_file, undeclared_length};
use crate::source_info::{AudioInfo, MAX_AUDIO_TRACKS, SourceInfo, SubtitleInfo, shown_size};
use crate::{Error, SourceLimits};

/// The subtitle codecs whose cues are text, read as WebVTT cues.
const TEXT_SUBTITLES: [codec::Id; 6] = [
    codec::Id::SUBRIP,
    codec::Id::SRT,
    codec::Id::ASS,
    codec::Id::SSA,
    codec::Id::MOV_TEXT,
    codec::Id::WEBVTT,
];

/// An opened input with its chosen streams.
pub(crate) struct Source {
    pub(crate) input: format::context::Input,
    pub(crate) video_index: usize,
    /// Every audio stream used, in the order of [`SourceInfo::audio_tracks`].
    pub(crate) audio_indexes: Vec<usize>,
    /// The default one's position in `audio_indexes`.
    pub(crate) default_audio: Option<usize>,
    /// The text subtitle streams, in the order of [`SourceInfo::subtitles`].
    pub(crate) subtitle_indexes: Vec<usize>,
    pub(crate) info: SourceInfo,
    /// Where the shared timeline starts, in microseconds (AV_TIME_BASE).
    pub(crate) start_micros: i64,
    /// What the input may demand; held again while decoding.
    pub(crate) limits: SourceLimits,
    /// An MP4's decode times as its index writes them, where libav would squeeze a step back;
    /// empty until [`Source::read_written_clock`].
    pub(crate) mp4_clock: Mp4Clock,
}

impl Source {
    /// Reads, for an MP4 or MOV input at `path`, the decode times its index writes for the
    /// tracks whose clock steps back (see `media/mp4_clock.rs`). Only a conversion needs them:
    /// a probe does not read the index a second time.
    pub(crate) fn read_written_clock(&mut self, path: &Path) {
        if self.input.format().name().starts_with("mov") {
            self.mp4_clock = Mp4Clock::read(path);
        }
    }
}

/// Opens the input at `path` (see [`input_file`](crate::media::input_file) for what may be
/// opened, and how) and describes it. Decoders opened to detect the streams refuse pictures
/// beyond `limits`.
pub(crate) fn open(path: &Path, limits: &SourceLimits) -> Result<Source, Error> {
    crate::media::ffi::route_libav_log_to_tracing();
    ffmpeg_next::init().map_err(Error::internal("initialising libav"))?;
    let mut input = input_file::open(path, limits.max_pixels())?;

    let video_index = choose_video(&input)?;
    let audio_indexes = audio_tracks(&input);
    let audio_index = choose_audio(&input, &audio_indexes);
    let mut info = describe(&input, video_index, audio_index)?;
    if audio_indexes.len() > 1 {
        info.audio_tracks = audio_indexes
            .iter()
            .map(|&index| describe_audio(&input, index))
            .collect::<Result<_, _>>()?;
    } else {
        info.audio_tracks.extend(info.audio.clone());
    }
    if info.duration.is_none() || crate::media::ffi::duration_guessed_from_bitrate(&input) {
        // Measured, not trusted: count the packets, then read again from the start.
        let measured =
            undeclared_length::measure(&mut input, video_index, info.frame_rate, limits)?;
        info.duration = Some(measured.seconds).filter(|&s| s > 0.0);
        let counted = Some(measured.frames).filter(|&f| f > 0);
        info.frames_expected = expected_frames(counted, info.duration, info.frame_rate);
        input = input_file::open(path, limits.max_pixels())?;
    }
    let start_micros = timeline_start(&input, video_index, audio_index);
    let subtitle_indexes = text_subtitles(&input);
    info.subtitles = subtitle_indexes
        .iter()
        .map(|&index| describe_subtitles(&input, index))
        .collect();
    let audio_indexes = audio_index.map_or(Vec::new(), |chosen| {
        if audio_indexes.len() > 1 {
            audio_indexes
        } else {
            vec![chosen]
        }
    });
    let default_audio = audio_index.and_then(|i| audio_indexes.iter().position(|&a| a == i));
    Ok(Source {
        input,
        video_index,
        audio_indexes,
        default_audio,
        subtitle_indexes,
        info,
        start_micros,
        limits: *limits,
        mp4_clock: Mp4Clock::default(),
    })
}

fn choose_video(input: &format::context::Input) -> Result<usize, Error> {
    let is_picture = |s: &format::stream::Stream| {
        s.disposition()
            .contains(format::stream::Disposition::ATTACHED_PIC)
    };
    let candidates: Vec<_> = input
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Video && !is_picture(s))
        .collect();
    let default = candidates.iter().find(|s| {
        s.disposition()
            .contains(format::stream::Disposition::DEFAULT)
    });
    if let Some(chosen) = default.or(candidates.first()) {
        return Ok(chosen.index());
    }
    let mut kinds: Vec<&str> = input
        .streams()
        .map(|s| match s.parameters().medium() {
            media::Type::Video => "cover art",
            media::Type::Audio => "audio",
            media::Type::Subtitle => "subtitles",
            _ => "data",
        })
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let found = if kinds.is_empty() {
        "no streams".to_string()
    } else {
        kinds.join(", ")
    };
    Err(Error::NoVideoStream { found })
}

/// The audio tracks to publish: those libav can decode, in the source's order, at most
/// [`MAX_AUDIO_TRACKS`]. A track that cannot be decoded is left out when others can be.
fn audio_tracks(input: &format::context::Input) -> Vec<usize> {
    let decodable: Vec<usize> = input
        .streams()
        .filter(|s| s.parameters().medium() == media::Type::Audio)
        .filter(|s| ffmpeg_next::decoder::find(s.parameters().id()).is_some())
        .map(|s| s.index())
        .collect();
    if decodable.len() > MAX_AUDIO_TRACKS {
        tracing::warn!(
            tracks = decodable.len(),
            kept = MAX_AUDIO_TRACKS,
            "audio tracks beyond the limit left out"
        );
    }
    decodable.into_iter().take(MAX_AUDIO_TRACKS).collect()
}

/// The default audio track: the first the source marks as default among those published,
/// else libav's best audio stream (which may be one that cannot be decoded: then the
/// conversion says so, when it is the only one).
fn choose_audio(input: &format::context::Input, published: &[usize]) -> Option<usize> {
    let marked = published.iter().copied().find(|&index| {
        input.stream(index).is_some_and(|s| {
            s.disposition()
                .contains(format::stream::Disposition::DEFAULT)
        })
    });
    let best = input.streams().best(media::Type::Audio).map(|s| s.index());
    marked
        .or(best.filter(|b| published.contains(b)))
        .or(published.first().copied())
        .or(best)
}

fn text_subtitles(input: &format::context::Input) -> Vec<usize> {
    input
        .streams()
        .filter(|s| {
            s.parameters().medium() == media::Type::Subtitle
                && TEXT_SUBTITLES.contains(&s.parameters().id())
                && ffmpeg_next::decoder::find(s.parameters().id()).is_some()
        })
        .map(|s| s.index())
        .collect()
}

fn describe_subtitles(input: &format::context::Input, index: usize) -> SubtitleInfo {
    let stream = input.stream(index).expect("chosen stream exists");
    let tag = |name: &str| stream_tag(&stream, name);
    let disposition = stream.disposition();
    SubtitleInfo {
        codec: codec_name(stream.parameters().id()),
        language: tag("language"),
        title: tag("title"),
        default: disposition.contains(format::stream::Disposition::DEFAULT),
        forced: disposition.contains(format::stream::Disposition::FORCED),
    }
}

/// A metadata tag of `stream`, trimmed; `None` when empty or `und` (undetermined).
fn stream_tag(stream: &format::stream::Stream, name: &str) -> Option<String> {
    stream
        .metadata()
        .get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "und")
        .map(str::to_string)
}

fn codec_name(id: codec::Id) -> String {
    ffmpeg_next::decoder::find(id)
        .map(|c| c.name().to_string())
        .unwrap_or_else(|| format!("{id:?}").to_lowercase())
}

fn describe(
    input: &format::context::Input,
    video_index: usize,
    audio_index: Option<usize>,
) -> Result<SourceInfo, Error> {
    let stream = input.stream(video_index).expect("chosen stream exists");
    let params = stream.parameters();
    if ffmpeg_next::decoder::find(params.id()).is_none() {
        return Err(Error::UnsupportedCodec {
            stream: "video",
            codec: codec_name(params.id()),
        });
    }
    let video = codec::Context::from_parameters(params.clone())
        .and_then(|c| c.decoder().video())
        .map_err(Error::from_input("reading the video stream parameters"))?;
    let (width, height) = (video.width(), video.height());
    if width == 0 || height == 0 {
        return Err(Error::CorruptInput {
            reason: "the video stream declares no picture size".into(),
        });
    }
    let sar = valid(video.aspect_ratio()).unwrap_or(Rational::new(1, 1));
    let rotation = stream
        .side_data()
        .find(|d| d.kind() == packet::side_data::Type::DisplayMatrix)
        .map(|d| rotation_from_display_matrix(d.data()))
        .unwrap_or(0);
    let (display_width, display_height) = display_size(width, height, sar, rotation);

    let frame_rate = cadence(
        valid(stream.avg_frame_rate()).map(f64::from),
        valid(stream.rate()).map(f64::from),
        crate::media::ffi::declares_interlaced(&params),
    );
    let container_duration = (input.duration() > 0)
        .then(|| input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE));
    let duration = seconds(stream.duration(), stream.time_base()).or(container_duration);
    let frames = u64::try_from(stream.frames()).ok().filter(|&f| f > 0);
    let frames_expected = expected_frames(frames, duration, frame_rate);

    let audio = match audio_index {
        Some(index) => Some(describe_audio(input, index)?),
        None => None,
    };
    Ok(SourceInfo {
        container: input.format().name().to_string(),
        duration,
        container_duration,
        width,
        height,
        display_width,
        display_height,
        sample_aspect_ratio: format!("{}:{}", sar.numerator(), sar.denominator()),
        rotation,
        interlaced: crate::media::ffi::declares_interlaced(&params),
        frame_rate,
        frames,
        frames_expected,
        video_codec: codec_name(params.id()),
        pixel_format: format!("{:?}", video.format()).to_lowercase(),
        audio,
        audio_tracks: Vec::new(),
        subtitles: Vec::new(),
    })
}

fn describe_audio(input: &format::context::Input, index: usize) -> Result<AudioInfo, Error> {
    let stream = input.stream(index).expect("chosen stream exists");
    let params = stream.parameters();
    if ffmpeg_next::decoder::find(params.id()).is_none() {
        return Err(Error::UnsupportedCodec {
            stream: "audio",
            codec: codec_name(params.id()),
        });
    }
    let audio = codec::Context::from_parameters(params.clone())
        .and_then(|c| c.decoder().audio())
        .map_err(Error::from_input("reading the audio stream parameters"))?;
    let tag = |name: &str| stream_tag(&stream, name);
    Ok(AudioInfo {
        codec: codec_name(params.id()),
        sample_rate: audio.rate(),
        channels: audio.channels(),
        language: tag("language"),
        title: tag("title"),
        default: stream
            .disposition()
            .contains(format::stream::Disposition::DEFAULT),
    })
}

/// The frames a conversion will encode: pictures held across gaps are repeated at the
/// cadence (see `VideoDecoder`), so the output has about `duration` x `frame_rate` frames,
/// however few (`frames`) the source stores.
fn expected_frames(frames: Option<u64>, duration: Option<f64>, frame_rate: f64) -> Option<u64> {
    let on_the_timeline = duration
        .map(|d| (d * frame_rate).round() as u64)
        .filter(|&f| f > 0);
    frames.max(on_the_timeline)
}

/// The frame rate of the output. A base rate (`r_frame_rate`, the rate every timestamp
/// falls on) well above the average means frames were skipped: the base rate is the cadence,
/// and the gaps are filled by holding pictures. Not for interlaced video, whose base rate is
/// the field rate, nor for a base rate of more than 120 (timestamps that fall on no cadence).
fn cadence(average: Option<f64>, base: Option<f64>, interlaced: bool) -> f64 {
    match (average, base) {
        (Some(average), Some(base)) if base > average * 1.5 && base <= 120.0 && !interlaced => base,
        (Some(average), _) => average,
        (None, Some(base)) => base,
        (None, None) => 25.0,
    }
}

fn valid(r: Rational) -> Option<Rational> {
    (r.numerator() > 0 && r.denominator() > 0).then_some(r)
}

fn seconds(value: i64, time_base: Rational) -> Option<f64> {
    (value > 0 && time_base.denominator() > 0).then(|| value as f64 * f64::from(time_base))
}

/// The start of the shared timeline: the video's first timestamp, so the output starts with a
/// picture. Audio before it is trimmed and a late audio start padded with silence (see
/// `audio_track`), which keeps both in sync and starting together.
fn timeline_start(input: &format::context::Input, video: usize, audio: Option<usize>) -> i64 {
    let micros = |index: usize| {
        let s = input.stream(index)?;
        let start = s.start_time();
        (start != ffmpeg_next::ffi::AV_NOPTS_VALUE).then(|| {
            start.rescale(
                s.time_base(),
                Rational::new(1, ffmpeg_next::ffi::AV_TIME_BASE),
            )
        })
    };
    micros(video)
        .or_else(|| audio.and_then(micros))
        .unwrap_or(0)
}

use ffmpeg_next::Rescale;

/// Clockwise degrees (0, 90, 180, 270) to rotate for display, from a display matrix: 9
/// native-endian i32, 16.16 fixed point, as libav's `av_display_rotation_get` reads it.
pub(crate) fn rotation_from_display_matrix(bytes: &[u8]) -> u32 {
    if bytes.len() < 36 {
        return 0;
    }
    let m = |i: usize| {
        f64::from(i32::from_ne_bytes(
            bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"),
        )) / 65536.0
    };
    let (scale0, scale1) = (m(0).hypot(m(3)), m(1).hypot(m(4)));
    if scale0 == 0.0 || scale1 == 0.0 {
        return 0;
    }
    // libav's value is counter-clockwise; the player rotates clockwise by its negation.
    let counter_clockwise = -(m(1) / scale1).atan2(m(0) / scale0).to_degrees();
    let clockwise = (-counter_clockwise.round()).rem_euclid(360.0);
    (((clockwise / 90.0).round() as u32) % 4) * 90
}

/// The picture size as shown, with square pixels: pixel aspect applied to the width, then
/// the rotation swaps the sides for 90 and 270 degrees.
pub(crate) fn display_size(width: u32, height: u32, sar: Rational, rotation: u32) -> (u32, u32) {
    let (shown_width, shown_height) = shown_size(width, height, f64::from(sar), rotation);
    let whole = |side: f64| side.round().max(1.0) as u32;
    (whole(shown_width), whole(shown_height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(values: [i32; 9]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn a_portrait_phone_matrix_means_rotate_90_clockwise() {
        // What iPhones write for portrait video: [0 1 0; -1 0 0; ...] in 16.16.
        let portrait = matrix([0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30]);
        assert_eq!(rotation_from_display_matrix(&portrait), 90);
        let upside_down = matrix([-65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30]);
        assert_eq!(rotation_from_display_matrix(&upside_down), 180);
        let identity = matrix([65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]);
        assert_eq!(rotation_from_display_matrix(&identity), 0);
        assert_eq!(rotation_from_display_matrix(&[0; 8]), 0);
    }

    #[test]
    fn the_cadence_is_the_base_rate_only_when_frames_were_skipped() {
        // A capture that kept one frame in seven of 15 fps.
        assert_eq!(cadence(Some(2.43), Some(15.0), false), 15.0);
        // Plain 29.97, and soft-telecined film whose base rate is 29.97.
        assert_eq!(cadence(Some(29.97), Some(29.97), false), 29.97);
        assert_eq!(cadence(Some(23.976), Some(29.97), false), 23.976);
        // Interlaced: the base rate is the field rate.
        assert_eq!(cadence(Some(25.0), Some(50.0), true), 25.0);
        // Timestamps on no cadence at all.
        assert_eq!(cadence(Some(30.0), Some(90_000.0), false), 30.0);
        assert_eq!(cadence(None, Some(24.0), false), 24.0);
        assert_eq!(cadence(None, None, false), 25.0);
    }

    #[test]
    fn display_size_applies_pixel_aspect_then_rotation() {
        assert_eq!(display_size(720, 576, Rational::new(16, 15), 0), (768, 576));
        assert_eq!(
            display_size(1920, 1080, Rational::new(1, 1), 90),
            (1080, 1920)
        );
    }
}
