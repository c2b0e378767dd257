//! Stills: the poster and the storyboard, decided without pixels. Which frames are sampled,
//! where each thumbnail sits in its sprite sheet, how the poster is chosen from the samples,
//! and the WebVTT file that points into the sheets. The pixels (scaling, sheets, JPEG) are
//! `media/still_maker.rs`'s.
//!
//! The storyboard is the format video.js, Vidstack, Plyr and Mux read for seek-bar previews:
//! sprite sheets of [`TILE_WIDTH`]-pixel thumbnails, [`COLUMNS`] × [`ROWS`] to a sheet, and a
//! WebVTT file whose cues name a sheet and the thumbnail's rectangle in it with a media
//! fragment, `sprite_001.jpg#xywh=160,0,160,90`, relative to the WebVTT file.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::captions::vtt_time;

/// Path of the poster at the top rendition's size, relative to the output root.
pub const POSTER: &str = "poster.jpg";
/// Path of the small poster, [`SMALL_POSTER_WIDTH`] pixels wide (or the top rendition's width
/// when that is less).
pub const POSTER_SMALL: &str = "poster_small.jpg";
/// Path of the storyboard's WebVTT file, relative to the output root.
pub const STORYBOARD: &str = "storyboard/storyboard.vtt";
/// Width of a storyboard thumbnail in pixels; its height follows the picture's aspect ratio.
pub const TILE_WIDTH: u32 = 160;
/// Thumbnails across a sprite sheet.
pub const COLUMNS: u32 = 10;
/// Rows of thumbnails in a full sprite sheet (the last sheet has only the rows it needs).
pub const ROWS: u32 = 10;
/// Width of the small poster in pixels.
pub const SMALL_POSTER_WIDTH: u32 = 640;

/// Seconds between storyboard thumbnails: one every 2 s for videos up to 200 s, about 100
/// thumbnails for longer ones, and never fewer than one every 10 s. A source whose duration
/// is unknown gets one every 5 s.
pub(crate) fn interval(duration: Option<f64>) -> f64 {
    duration
        .filter(|d| d.is_finite() && *d > 0.0)
        .map_or(5.0, |d| (d / 100.0).ceil().clamp(2.0, 10.0))
}

/// The height of a picture `width` × `height` scaled to `to_width` pixels wide, even (4:2:0
/// chroma) and at least 2.
pub(crate) fn scaled_height(width: u32, height: u32, to_width: u32) -> u32 {
    let exact = f64::from(to_width) * f64::from(height) / f64::from(width.max(1));
    ((exact / 2.0).round() as u32 * 2).max(2)
}

/// How bright a thumbnail is and how much it varies: what the poster is chosen by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Luma {
    /// Mean luma, 0 (black) to 255 (white), full range.
    pub(crate) mean: f64,
    /// Standard deviation of the luma: near 0 for a flat picture (black, white, a fade's
    /// last frames, a plain title card), large for a detailed one.
    pub(crate) stddev: f64,
}

impl Luma {
    /// Measures full-range 8-bit luma samples.
    pub(crate) fn of(samples: impl Iterator<Item = u8>) -> Luma {
        let (mut n, mut sum, mut squares) = (0u64, 0u64, 0u64);
        for sample in samples {
            let sample = u64::from(sample);
            n += 1;
            sum += sample;
            squares += sample * sample;
        }
        if n == 0 {
            return Luma {
                mean: 0.0,
                stddev: 0.0,
            };
        }
        let mean = sum as f64 / n as f64;
        let variance = (squares as f64 / n as f64 - mean * mean).max(0.0);
        Luma {
            mean,
            stddev: variance.sqrt(),
        }
    }

    /// Neither nearly black, nor nearly white, nor flat: a frame worth showing.
    pub(crate) fn presentable(&self) -> bool {
        (32.0..=224.0).contains(&self.mean) && self.stddev >= 20.0
    }
}

/// Chooses the poster among the storyboard's samples: of those in the first half of the video
/// (the end has credits), a presentable one (see [`Luma::presentable`]) over any other, and of
/// two alike the one with more contrast, which a frame in a fade or a dissolve lacks. Ties go
/// to the earlier frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PosterChoice {
    /// Samples after this time (in the samples' unit) are not considered, once one was.
    until: i64,
    best: Option<(Luma, i64)>,
}

impl PosterChoice {
    /// Samples up to `until` are candidates (the first sample always is).
    pub(crate) fn until(until: i64) -> PosterChoice {
        PosterChoice { until, best: None }
    }

    /// Offers the sample at `time`; true when it is now the chosen one.
    pub(crate) fn offer(&mut self, luma: Luma, time: i64) -> bool {
        let better = match self.best {
            None => true,
            Some(_) if time > self.until => false,
            Some((best, _)) => {
                (luma.presentable(), luma.stddev) > (best.presentable(), best.stddev)
            }
        };
        if better {
            self.best = Some((luma, time));
        }
        better
    }
}

/// Where the thumbnails go: each sheet [`COLUMNS`] wide, [`ROWS`] high, filled row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SheetLayout {
    /// A thumbnail's width in pixels.
    pub(crate) tile_width: u32,
    /// A thumbnail's height in pixels.
    pub(crate) tile_height: u32,
}

impl SheetLayout {
    /// Thumbnails [`TILE_WIDTH`] wide for a picture of `width` × `height` (narrower when the
    /// picture itself is).
    pub(crate) fn for_picture(width: u32, height: u32) -> SheetLayout {
        let tile_width = TILE_WIDTH.min(width.max(2)) & !1;
        SheetLayout {
            tile_width,
            tile_height: scaled_height(width, height, tile_width),
        }
    }

    /// Thumbnails in a full sheet.
    pub(crate) const PER_SHEET: u64 = (COLUMNS * ROWS) as u64;

    /// The sheet (from 1) and the pixel position in it of thumbnail `index` (from 0).
    pub(crate) fn place(&self, index: u64) -> (u32, u32, u32) {
        let sheet = (index / Self::PER_SHEET) as u32 + 1;
        let within = (index % Self::PER_SHEET) as u32;
        (
            sheet,
            within % COLUMNS * self.tile_width,
            within / COLUMNS * self.tile_height,
        )
    }

    /// The pixel size of a sheet holding `count` thumbnails (at most [`Self::PER_SHEET`]):
    /// only the rows it fills, and only the columns when it fills less than one row.
    pub(crate) fn sheet_size(&self, count: u64) -> (u32, u32) {
        let count = count.clamp(1, Self::PER_SHEET) as u32;
        let columns = count.min(COLUMNS);
        (
            columns * self.tile_width,
            count.div_ceil(COLUMNS) * self.tile_height,
        )
    }
}

/// Path of sprite sheet `sheet` (from 1), relative to the output root.
pub fn sheet_path(sheet: u32) -> String {
    format!("storyboard/{}", sheet_name(sheet))
}

fn sheet_name(sheet: u32) -> String {
    format!("sprite_{sheet:03}.jpg")
}

/// One storyboard thumbnail: the time span it stands for and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tile {
    /// Seconds from the start of the video.
    pub(crate) start: f64,
    /// Seconds; the next thumbnail's start, or the end of the video.
    pub(crate) end: f64,
    /// The sheet, from 1.
    pub(crate) sheet: u32,
    /// Left edge in the sheet, pixels.
    pub(crate) x: u32,
    /// Top edge in the sheet, pixels.
    pub(crate) y: u32,
}

/// The storyboard's WebVTT text: one cue per thumbnail, its payload the sheet's URI relative
/// to the WebVTT file with the thumbnail's rectangle as a media fragment.
pub(crate) fn render_vtt(tiles: &[Tile], layout: SheetLayout) -> String {
    let mut text = String::from("WEBVTT\n");
    for tile in tiles {
        let _ = write!(
            text,
            "\n{} --> {}\n{}#xywh={},{},{},{}\n",
            vtt_time(tile.start),
            vtt_time(tile.end),
            sheet_name(tile.sheet),
            tile.x,
            tile.y,
            layout.tile_width,
            layout.tile_height
        );
    }
    text
}

/// One image a conversion published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageReport {
    /// Path relative to the output root, e.g. `poster.jpg`.
    pub path: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size of the JPEG file.
    pub bytes: u64,
}

/// The storyboard a conversion published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoryboardReport {
    /// Path of the WebVTT file relative to the output root ([`STORYBOARD`]).
    pub path: String,
    /// The sprite sheets, in order.
    pub sheets: Vec<ImageReport>,
    /// Thumbnails in all.
    pub thumbnails: u64,
    /// A thumbnail's width in pixels.
    pub tile_width: u32,
    /// A thumbnail's height in pixels.
    pub tile_height: u32,
    /// Seconds between thumbnails.
    pub interval: f64,
}

/// The poster and storyboard of a conversion ([`ConvertOptions::stills`](crate::ConvertOptions)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StillsReport {
    /// The poster at the top rendition's size.
    pub poster: ImageReport,
    /// The poster at [`SMALL_POSTER_WIDTH`] pixels wide.
    pub poster_small: ImageReport,
    /// Seconds into the video of the poster's frame.
    pub poster_time: f64,
    /// Thumbnails for seek-bar previews.
    pub storyboard: StoryboardReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_keeps_a_storyboard_near_a_hundred_thumbnails() {
        assert_eq!(interval(Some(10.0)), 2.0);
        assert_eq!(interval(Some(200.0)), 2.0);
        assert_eq!(interval(Some(201.0)), 3.0);
        assert_eq!(interval(Some(600.0)), 6.0);
        assert_eq!(interval(Some(7200.0)), 10.0);
        assert_eq!(interval(None), 5.0);
        assert_eq!(interval(Some(f64::NAN)), 5.0);
    }

    #[test]
    fn thumbnails_keep_the_aspect_ratio_and_even_sizes() {
        assert_eq!(
            SheetLayout::for_picture(1920, 1080),
            SheetLayout {
                tile_width: 160,
                tile_height: 90
            }
        );
        // Portrait 9:16 and 4:3.
        assert_eq!(SheetLayout::for_picture(1080, 1920).tile_height, 284);
        assert_eq!(SheetLayout::for_picture(640, 480).tile_height, 120);
        // A picture narrower than a thumbnail is not enlarged.
        assert_eq!(
            SheetLayout::for_picture(97, 60),
            SheetLayout {
                tile_width: 96,
                tile_height: 60
            }
        );
    }

    #[test]
    fn thumbnails_fill_sheets_row_by_row() {
        let layout = SheetLayout::for_picture(1280, 720);
        assert_eq!(layout.place(0), (1, 0, 0));
        assert_eq!(layout.place(9), (1, 1440, 0));
        assert_eq!(layout.place(10), (1, 0, 90));
        assert_eq!(layout.place(99), (1, 1440, 810));
        assert_eq!(layout.place(100), (2, 0, 0));
        assert_eq!(layout.sheet_size(100), (1600, 900));
        assert_eq!(layout.sheet_size(11), (1600, 180));
        assert_eq!(layout.sheet_size(10), (1600, 90));
        assert_eq!(layout.sheet_size(3), (480, 90));
    }

    #[test]
    fn the_vtt_renders_exactly() {
        let layout = SheetLayout::for_picture(1280, 720);
        let tiles = [
            Tile {
                start: 0.0,
                end: 2.0,
                sheet: 1,
                x: 0,
                y: 0,
            },
            Tile {
                start: 3599.9995,
                end: 3725.5,
                sheet: 2,
                x: 160,
                y: 90,
            },
        ];
        assert_eq!(
            render_vtt(&tiles, layout),
            "WEBVTT\n\
             \n00:00:00.000 --> 00:00:02.000\nsprite_001.jpg#xywh=0,0,160,90\n\
             \n01:00:00.000 --> 01:02:05.500\nsprite_002.jpg#xywh=160,90,160,90\n"
        );
    }

    #[test]
    fn luma_of_a_flat_and_a_varied_picture() {
        let flat = Luma::of([16u8; 100].into_iter());
        assert_eq!((flat.mean, flat.stddev), (16.0, 0.0));
        assert!(!flat.presentable());
        let half = Luma::of((0..100).map(|i| if i % 2 == 0 { 40 } else { 200 }));
        assert_eq!((half.mean, half.stddev), (120.0, 80.0));
        assert!(half.presentable());
        assert!(!Luma::of(std::iter::empty()).presentable());
    }

    #[test]
    fn the_poster_is_the_most_contrasted_presentable_sample_of_the_first_half() {
        let luma = |mean, stddev| Luma { mean, stddev };
        let mut choice = PosterChoice::until(100);
        // A black first frame is taken only while there is nothing else.
        assert!(choice.offer(luma(2.0, 1.0), 0));
        // A fade: darker and flatter than what follows.
        assert!(choice.offer(luma(40.0, 22.0), 10));
        assert!(choice.offer(luma(110.0, 60.0), 20));
        assert!(!choice.offer(luma(120.0, 50.0), 30));
        // A tie keeps the earlier frame.
        assert!(!choice.offer(luma(110.0, 60.0), 40));
        // Very contrasted but nearly white: not presentable, so not better.
        assert!(!choice.offer(luma(240.0, 90.0), 50));
        // The second half does not count, however good.
        assert!(!choice.offer(luma(128.0, 90.0), 101));
        assert_eq!(choice.best.map(|(_, t)| t), Some(20));
    }

    #[test]
    fn with_nothing_presentable_the_most_contrasted_frame_wins() {
        let luma = |mean, stddev| Luma { mean, stddev };
        let mut choice = PosterChoice::until(100);
        assert!(choice.offer(luma(5.0, 1.0), 0));
        assert!(choice.offer(luma(10.0, 8.0), 10));
        assert!(!choice.offer(luma(10.0, 4.0), 20));
        assert_eq!(choice.best.map(|(_, t)| t), Some(10));
    }
}
