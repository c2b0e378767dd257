//! The dry run: what a conversion of this input would produce, without encoding anything.

use std::path::Path;

use serde::Serialize;

use crate::hls::{AAC_LC, fits_level_5_2, h264_high_level};
use crate::ladder::{self, Rendition};
use crate::media::rung_encoder::max_bitrate;
use crate::media::source;
use crate::source_info::SourceInfo;
use crate::{ConvertOptions, Error, SourceLimits};

/// One rendition as planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRendition {
    /// Name, size and bitrate.
    #[serde(flatten)]
    pub rendition: Rendition,
    /// The VBV peak bitrate the encoder is held to, in bits per second.
    pub max_video_bitrate: u32,
    /// Expected RFC 6381 codec strings (H.264 High at the level x264 will pick, and AAC-LC when
    /// the source has audio). The published master playlist reads them from the real stream.
    pub codecs: Vec<String>,
    /// Path of the rendition's media playlist, relative to the master playlist.
    pub playlist: String,
}

/// What a conversion would produce.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Facts about the input.
    pub source: SourceInfo,
    /// Target segment duration in seconds.
    pub segment_seconds: f64,
    /// Segments per rendition expected from the source duration.
    pub expected_segments: Option<u64>,
    /// The renditions, largest first.
    pub renditions: Vec<PlannedRendition>,
    /// AAC bitrate in bits per second, or `None` for a source without audio.
    pub audio_bitrate: Option<u32>,
}

/// Reads the input's header and describes it, without converting it.
///
/// Fails with a client error ([`Error::is_client_error`]) when the file is not a video. The
/// file is read as a file and nothing else: a container that names other files (a playlist,
/// an ffconcat script, an image sequence) is refused. Decoders opened to detect the streams
/// refuse pictures larger than [`SourceLimits::default`] allows (8K); use
/// [`probe_with_limits`] to set the limits.
pub fn probe(input: impl AsRef<Path>) -> Result<SourceInfo, Error> {
    Ok(source::open(input.as_ref(), &SourceLimits::default())?.info)
}

/// [`probe`], refusing an input beyond `limits` as [`convert`](crate::convert) would, with
/// [`Error::LimitExceeded`].
///
/// ```no_run
/// use hls_ladder::{probe_with_limits, SourceLimits};
/// let limits = SourceLimits { max_duration_seconds: 600.0, ..SourceLimits::default() };
/// let info = probe_with_limits("upload.mp4", &limits)?;
/// println!("{}x{}, {:?} s", info.width, info.height, info.duration);
/// # Ok::<(), hls_ladder::Error>(())
/// ```
pub fn probe_with_limits(
    input: impl AsRef<Path>,
    limits: &SourceLimits,
) -> Result<SourceInfo, Error> {
    let info = source::open(input.as_ref(), limits)?.info;
    limits.check(&info)?;
    Ok(info)
}

/// What [`convert`](crate::convert) would produce for this input and these options: the
/// source's facts and the chosen renditions, without encoding anything. An input beyond
/// `options.limits` is refused as `convert` would refuse it.
///
/// ```no_run
/// let plan = hls_ladder::plan("phone.mov", &hls_ladder::ConvertOptions::default())?;
/// for r in &plan.renditions {
///     println!("{} {}x{} {} b/s {:?}", r.rendition.name, r.rendition.width, r.rendition.height,
///              r.rendition.video_bitrate, r.codecs);
/// }
/// # Ok::<(), hls_ladder::Error>(())
/// ```
pub fn plan(input: impl AsRef<Path>, options: &ConvertOptions) -> Result<Plan, Error> {
    options.validate()?;
    Ok(plan_for(
        probe_with_limits(input, &options.limits)?,
        options,
    ))
}

pub(crate) fn plan_for(source: SourceInfo, options: &ConvertOptions) -> Plan {
    let (display_width, display_height) = crate::source_info::exact_display_size(&source);
    let mut chosen = ladder::choose_exact(
        &options.ladder,
        display_width,
        display_height,
        options.max_output_height,
    );
    // Renditions beyond H.264 level 5.2 at the source's frame rate (4K above 64 fps) are
    // more than players are required to decode; the smallest one always stays.
    while chosen.len() > 1 && !fits_level_5_2(chosen[0].width, chosen[0].height, source.frame_rate)
    {
        chosen.remove(0);
    }
    let renditions = chosen
        .into_iter()
        .map(|rendition| {
            let max_video_bitrate = max_bitrate(rendition.video_bitrate);
            let level = h264_high_level(
                rendition.width,
                rendition.height,
                source.frame_rate,
                max_video_bitrate,
            );
            let mut codecs = vec![format!("avc1.6400{level:02x}")];
            if source.audio.is_some() {
                codecs.push(AAC_LC.to_string());
            }
            let playlist = format!("{}/index.m3u8", rendition.name);
            PlannedRendition {
                rendition,
                max_video_bitrate,
                codecs,
                playlist,
            }
        })
        .collect();
    let expected_segments = source.duration.map(|d| options.segmenting().count(d));
    let audio_bitrate = source.audio.as_ref().map(|_| options.audio_bitrate);
    Plan {
        source,
        segment_seconds: options.segment_seconds,
        expected_segments,
        renditions,
        audio_bitrate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(width: u32, height: u32, frame_rate: f64) -> SourceInfo {
        SourceInfo {
            width,
            height,
            display_width: width,
            display_height: height,
            sample_aspect_ratio: "1:1".into(),
            frame_rate,
            duration: Some(10.0),
            ..SourceInfo::default()
        }
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.renditions
            .iter()
            .map(|r| r.rendition.name.as_str())
            .collect()
    }

    #[test]
    fn a_4k_source_keeps_2160p_up_to_60_fps_and_drops_it_above_level_5_2() {
        let options = ConvertOptions::default();
        let at_60 = plan_for(source(3840, 2160, 60.0), &options);
        assert_eq!(names(&at_60)[0], "2160p");
        assert_eq!(at_60.renditions[0].codecs[0], "avc1.640034", "level 5.2");
        let at_30 = plan_for(source(3840, 2160, 30.0), &options);
        assert_eq!(at_30.renditions[0].codecs[0], "avc1.640033", "level 5.1");
        let at_120 = plan_for(source(3840, 2160, 120.0), &options);
        assert_eq!(names(&at_120)[0], "1440p");
        assert_eq!(at_120.renditions.len(), 5);
    }
}
