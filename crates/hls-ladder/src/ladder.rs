//! Which renditions to produce for a source: the caller's ladder capped at the source size.
//!
//! Pure arithmetic on picture sizes; it knows nothing of libav.

use serde::{Deserialize, Serialize};

use crate::options::Rung;

/// One rendition the conversion will produce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rendition {
    /// Directory-safe name, e.g. `"720p"`; the rendition's files live under it.
    pub name: String,
    /// Output width in pixels (even).
    pub width: u32,
    /// Output height in pixels (even).
    pub height: u32,
    /// Target H.264 bitrate in bits per second.
    pub video_bitrate: u32,
}

/// Rounds to the nearest even number, at least 2: H.264 with 4:2:0 chroma needs even sizes.
pub fn round_even(value: f64) -> u32 {
    let even = ((value / 2.0).round() * 2.0) as u32;
    even.max(2)
}

/// Chooses the renditions for a source whose picture is shown at `display_width` x
/// `display_height` (after rotation and pixel aspect ratio).
///
/// Rungs whose short side is larger than the source's are dropped (we never upscale). When no
/// rung is left, one rendition at the source's own size is produced, with a bitrate scaled by
/// pixel count from the smallest rung. The result is sorted from largest to smallest.
///
/// ```
/// use hls_ladder::{ladder::choose, DEFAULT_LADDER};
/// let renditions = choose(&DEFAULT_LADDER, 1280, 720);
/// let names: Vec<&str> = renditions.iter().map(|r| r.name.as_str()).collect();
/// assert_eq!(names, ["720p", "480p", "360p"]);
/// assert_eq!((renditions[1].width, renditions[1].height), (854, 480));
/// ```
pub fn choose(ladder: &[Rung], display_width: u32, display_height: u32) -> Vec<Rendition> {
    choose_exact(
        ladder,
        f64::from(display_width),
        f64::from(display_height),
        None,
    )
}

/// [`choose`], no rendition's short side above `max_output_height`: rungs above it are
/// dropped, and a source smaller than every rung left gets one rendition at its own size
/// or at the cap, whichever is smaller.
///
/// ```
/// use hls_ladder::{ladder::choose_capped, DEFAULT_LADDER};
/// let names = |r: Vec<hls_ladder::Rendition>| r.into_iter().map(|r| r.name).collect::<Vec<_>>();
/// assert_eq!(names(choose_capped(&DEFAULT_LADDER, 3840, 2160, None))[..3], ["2160p", "1440p", "1080p"]);
/// assert_eq!(names(choose_capped(&DEFAULT_LADDER, 3840, 2160, Some(1080)))[0], "1080p");
/// ```
pub fn choose_capped(
    ladder: &[Rung],
    display_width: u32,
    display_height: u32,
    max_output_height: Option<u32>,
) -> Vec<Rendition> {
    choose_exact(
        ladder,
        f64::from(display_width),
        f64::from(display_height),
        max_output_height,
    )
}

/// [`choose_capped`] for a picture whose display size is not a whole number of pixels, as an
/// anamorphic source's is (176x144 at a pixel aspect of 128:117 shows 192.55 pixels wide):
/// each side is rounded once, to the nearest even number, from the exact value.
pub(crate) fn choose_exact(
    ladder: &[Rung],
    display_width: f64,
    display_height: f64,
    max_output_height: Option<u32>,
) -> Vec<Rendition> {
    let portrait = display_height > display_width;
    let (short, long) = if portrait {
        (display_width, display_height)
    } else {
        (display_height, display_width)
    };
    let short = short.max(2.0);
    let sized = |rung_short: f64, video_bitrate: u32| {
        let rung_long = round_even(long * rung_short / short);
        let rung_short = round_even(rung_short);
        let (width, height) = if portrait {
            (rung_short, rung_long)
        } else {
            (rung_long, rung_short)
        };
        Rendition {
            name: format!("{rung_short}p"),
            width,
            height,
            video_bitrate,
        }
    };

    // The cap counts as the source's size: nothing is produced above it.
    let top = max_output_height.map_or(short, |cap| short.min(f64::from(cap)));
    let mut rungs: Vec<Rung> = ladder
        .iter()
        .copied()
        .filter(|r| f64::from(r.height) <= top)
        .collect();
    rungs.sort_by_key(|r| std::cmp::Reverse(r.height));
    rungs.dedup_by_key(|r| r.height);
    if rungs.is_empty() {
        let Some(smallest) = ladder.iter().min_by_key(|r| r.height) else {
            return Vec::new();
        };
        let ratio = top * top / (f64::from(smallest.height).powi(2));
        let bitrate = ((f64::from(smallest.video_bitrate) * ratio) as u32).max(100_000);
        return vec![sized(top, bitrate)];
    }
    rungs
        .into_iter()
        .map(|r| sized(f64::from(r.height), r.video_bitrate))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DEFAULT_LADDER;

    fn sizes(renditions: &[Rendition]) -> Vec<(u32, u32)> {
        renditions.iter().map(|r| (r.width, r.height)).collect()
    }

    #[test]
    fn a_1080p_source_gets_the_default_ladder_from_1080p_down() {
        let r = choose(&DEFAULT_LADDER, 1920, 1080);
        assert_eq!(
            sizes(&r),
            [(1920, 1080), (1280, 720), (854, 480), (640, 360)]
        );
        assert_eq!(r[0].name, "1080p");
    }

    #[test]
    fn a_4k_source_gets_2160p_and_1440p_too_unless_capped() {
        let r = choose(&DEFAULT_LADDER, 3840, 2160);
        assert_eq!(
            sizes(&r),
            [
                (3840, 2160),
                (2560, 1440),
                (1920, 1080),
                (1280, 720),
                (854, 480),
                (640, 360)
            ]
        );
        assert_eq!(r[0].name, "2160p");
        // A 1440p source: no 2160p (never upscaled).
        let r = choose(&DEFAULT_LADDER, 2560, 1440);
        assert_eq!(r[0].name, "1440p");
        // Capped at 1080: nothing above, whatever the source.
        let r = choose_capped(&DEFAULT_LADDER, 3840, 2160, Some(1080));
        assert_eq!(sizes(&r)[0], (1920, 1080));
        assert_eq!(r.len(), 4);
        // A portrait 4K phone video: the cap is on the short side, as rungs are named.
        let r = choose_capped(&DEFAULT_LADDER, 2160, 3840, Some(1440));
        assert_eq!(sizes(&r)[0], (1440, 2560));
        // A cap below every rung: one rendition at the cap, not at the source's size.
        let r = choose_capped(&DEFAULT_LADDER, 3840, 2160, Some(240));
        assert_eq!(sizes(&r), [(426, 240)]);
        // A cap above the source changes nothing.
        assert_eq!(
            choose_capped(&DEFAULT_LADDER, 1280, 720, Some(2160)),
            choose(&DEFAULT_LADDER, 1280, 720)
        );
    }

    #[test]
    fn rungs_above_the_source_are_dropped() {
        let r = choose(&DEFAULT_LADDER, 854, 480);
        assert_eq!(sizes(&r), [(854, 480), (640, 360)]);
    }

    #[test]
    fn a_portrait_video_keeps_its_orientation_and_uses_the_short_side() {
        let r = choose(&DEFAULT_LADDER, 1080, 1920);
        assert_eq!(
            sizes(&r),
            [(1080, 1920), (720, 1280), (480, 854), (360, 640)]
        );
        assert_eq!(r[1].name, "720p");
    }

    #[test]
    fn a_source_smaller_than_every_rung_gets_one_rendition_at_its_own_even_size() {
        let r = choose(&DEFAULT_LADDER, 321, 241);
        assert_eq!(sizes(&r), [(322, 242)]);
        assert_eq!(r[0].name, "242p");
        assert!(r[0].video_bitrate < 800_000 && r[0].video_bitrate >= 100_000);
    }

    #[test]
    fn duplicate_rungs_collapse_and_order_does_not_matter() {
        let ladder = [
            Rung {
                height: 360,
                video_bitrate: 800_000,
            },
            Rung {
                height: 720,
                video_bitrate: 2_800_000,
            },
            Rung {
                height: 360,
                video_bitrate: 900_000,
            },
        ];
        let r = choose(&ladder, 1920, 1080);
        assert_eq!(sizes(&r), [(1280, 720), (640, 360)]);
    }

    #[test]
    fn an_anamorphic_source_is_rounded_once_from_its_exact_display_width() {
        // QCIF at a pixel aspect of 128:117 shows 176 x 128/117 = 192.55 pixels wide.
        let r = choose_exact(&DEFAULT_LADDER, 176.0 * 128.0 / 117.0, 144.0, None);
        assert_eq!(sizes(&r), [(192, 144)], "not 194: 192.55 rounds to 192");
        // PAL 16:9 anamorphic: 720x576 at 64:45 shows 1024x576.
        let r = choose_exact(&DEFAULT_LADDER, 720.0 * 64.0 / 45.0, 576.0, None);
        assert_eq!(sizes(&r), [(854, 480), (640, 360)]);
    }

    #[test]
    fn round_even_rounds_to_the_nearest_even_and_never_to_zero() {
        assert_eq!(round_even(853.33), 854);
        assert_eq!(round_even(241.0), 242);
        assert_eq!(round_even(0.4), 2);
    }
}
