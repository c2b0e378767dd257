//! The stills thread's work: scale each sampled frame to a thumbnail, lay the thumbnails out in
//! sprite sheets, keep the frame chosen for the poster, and encode JPEGs with libavcodec's
//! mjpeg encoder. What is sampled, where a thumbnail goes and which frame is the poster are
//! decided in `stills.rs`; this file only handles pixels.

use ffmpeg_next::{Packet, Rational, codec, encoder, format, frame, software::scaling};

use crate::Error;
use crate::ladder::Rendition;
use crate::media::ffi;
use crate::segmenting::{TICKS_PER_SECOND, seconds};
use crate::stills::{Luma, PosterChoice, SMALL_POSTER_WIDTH, SheetLayout, Tile, scaled_height};

/// JPEG quantizer of the posters (2 best, 31 worst; `ffmpeg -q:v`).
const POSTER_QSCALE: i32 = 3;
/// JPEG quantizer of the sprite sheets: small thumbnails, seen for a moment.
const SHEET_QSCALE: i32 = 5;
/// Full-range 4:2:0, the layout baseline JPEG decoders expect.
const JPEG_PIXELS: format::Pixel = format::Pixel::YUVJ420P;

/// What the stills are made like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StillsPlan {
    /// Where thumbnails go in the sheets.
    pub(crate) layout: SheetLayout,
    /// Seconds between thumbnails.
    pub(crate) interval: f64,
    /// The poster's size: the top rendition's.
    pub(crate) poster: (u32, u32),
    /// The small poster's size.
    pub(crate) poster_small: (u32, u32),
    /// Samples up to this many seconds after the first frame are poster candidates.
    pub(crate) poster_until: f64,
}

impl StillsPlan {
    /// The stills of a video whose largest rendition is `top`, lasting `duration` seconds
    /// when known.
    pub(crate) fn for_video(top: &Rendition, duration: Option<f64>) -> StillsPlan {
        let small_width = SMALL_POSTER_WIDTH.min(top.width) & !1;
        StillsPlan {
            layout: SheetLayout::for_picture(top.width, top.height),
            interval: crate::stills::interval(duration),
            poster: (top.width, top.height),
            poster_small: (
                small_width,
                scaled_height(top.width, top.height, small_width),
            ),
            poster_until: duration.map_or(f64::INFINITY, |d| d / 2.0),
        }
    }

    /// The sampling interval on the output clock.
    pub(crate) fn interval_ticks(&self) -> i64 {
        ((self.interval * TICKS_PER_SECOND as f64).round() as i64).max(1)
    }
}

/// A JPEG image.
#[derive(Debug, Clone)]
pub(crate) struct Jpeg {
    pub(crate) bytes: Vec<u8>,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// What the stills thread hands the caller.
#[derive(Debug)]
pub(crate) enum StillReady {
    /// A sprite sheet (from 1): full, or the last one.
    Sheet { sheet: u32, image: Jpeg },
    /// At the end: the posters, when the poster's frame is, and every thumbnail's place.
    Done {
        poster: Jpeg,
        poster_small: Jpeg,
        poster_time: f64,
        tiles: Vec<Tile>,
    },
}

/// Makes the stills of one conversion from the frames it is given.
pub(crate) struct StillMaker {
    plan: StillsPlan,
    /// The sheet being filled.
    sheet: Option<frame::Video>,
    /// Thumbnails so far.
    count: u64,
    tiles: Vec<Tile>,
    /// The first sample's time: the video's start.
    first_pts: Option<i64>,
    choice: PosterChoice,
    /// The poster's frame (a shared reference to the decoded picture) and its time.
    poster: Option<(frame::Video, f64)>,
    /// The thumbnail scaler and the source shape it was made for.
    scaler: Option<(scaling::Context, (u32, u32, format::Pixel))>,
}

impl StillMaker {
    pub(crate) fn new(plan: StillsPlan) -> StillMaker {
        let until = (plan.poster_until * TICKS_PER_SECOND as f64) as i64;
        StillMaker {
            plan,
            sheet: None,
            count: 0,
            tiles: Vec::new(),
            first_pts: None,
            choice: PosterChoice::until(until),
            poster: None,
            scaler: None,
        }
    }

    /// Adds the sample `frame`, shown at `pts` (output clock); a sheet it fills goes to `out`.
    pub(crate) fn add(
        &mut self,
        frame: frame::Video,
        pts: i64,
        out: &mut dyn FnMut(StillReady) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let time = pts - *self.first_pts.get_or_insert(pts);
        let layout = self.plan.layout;
        let thumbnail = self.thumbnail(&frame)?;
        let luma = Luma::of(plane_samples(
            &thumbnail,
            0,
            layout.tile_width,
            layout.tile_height,
        ));
        if self.choice.offer(luma, time) {
            self.poster = Some((frame, seconds(time)));
        }
        if let Some(last) = self.tiles.last_mut() {
            last.end = seconds(time);
        }
        let (sheet, x, y) = layout.place(self.count);
        let canvas = self.sheet.get_or_insert_with(|| {
            let (width, height) = layout.sheet_size(SheetLayout::PER_SHEET);
            black(width, height)
        });
        paste(
            &thumbnail,
            canvas,
            (x, y),
            (layout.tile_width, layout.tile_height),
        );
        self.tiles.push(Tile {
            start: seconds(time),
            end: seconds(time),
            sheet,
            x,
            y,
        });
        self.count += 1;
        if self.count % SheetLayout::PER_SHEET == 0 {
            self.emit_sheet(out)?;
        }
        Ok(())
    }

    /// Ends the stills: the last sheet, then the posters and the thumbnails' places. The
    /// video ends at `video_end` (output clock).
    pub(crate) fn finish(
        mut self,
        video_end: i64,
        out: &mut dyn FnMut(StillReady) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Some(first) = self.first_pts else {
            return Ok(());
        };
        if let Some(last) = self.tiles.last_mut() {
            last.end = seconds(video_end - first).max(last.start);
        }
        if self.sheet.is_some() {
            self.emit_sheet(out)?;
        }
        let Some((frame, poster_time)) = self.poster.take() else {
            return Ok(());
        };
        let poster = scale_to_jpeg(&frame, self.plan.poster, POSTER_QSCALE)?;
        let poster_small = scale_to_jpeg(&frame, self.plan.poster_small, POSTER_QSCALE)?;
        out(StillReady::Done {
            poster,
            poster_small,
            poster_time,
            tiles: std::mem::take(&mut self.tiles),
        })
    }

    /// Encodes the sheet being filled, cut to the rows it uses.
    fn emit_sheet(
        &mut self,
        out: &mut dyn FnMut(StillReady) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let canvas = self.sheet.take().expect("a sheet is being filled");
        let in_sheet = match self.count % SheetLayout::PER_SHEET {
            0 => SheetLayout::PER_SHEET,
            n => n,
        };
        let sheet = self.plan.layout.place(self.count - 1).0;
        let (width, height) = self.plan.layout.sheet_size(in_sheet);
        let mut cropped = black(width, height);
        paste(&canvas, &mut cropped, (0, 0), (width, height));
        let bytes = encode_jpeg(&cropped, SHEET_QSCALE)?;
        out(StillReady::Sheet {
            sheet,
            image: Jpeg {
                bytes,
                width,
                height,
            },
        })
    }

    fn thumbnail(&mut self, source: &frame::Video) -> Result<frame::Video, Error> {
        let shape = (source.width(), source.height(), source.format());
        if self.scaler.as_ref().is_none_or(|(_, s)| *s != shape) {
            let layout = self.plan.layout;
            let context = scaling::Context::get(
                shape.2,
                shape.0,
                shape.1,
                JPEG_PIXELS,
                layout.tile_width,
                layout.tile_height,
                scaling::Flags::AREA,
            )
            .map_err(Error::internal("creating the thumbnail scaler"))?;
            self.scaler = Some((context, shape));
        }
        let (scaler, _) = self.scaler.as_mut().expect("just set");
        let mut thumbnail = frame::Video::empty();
        scaler
            .run(source, &mut thumbnail)
            .map_err(Error::internal("scaling a thumbnail"))?;
        Ok(thumbnail)
    }
}

/// The samples of `plane` within `width` × `height` luma pixels (halved for chroma planes).
fn plane_samples(
    picture: &frame::Video,
    plane: usize,
    width: u32,
    height: u32,
) -> impl Iterator<Item = u8> + '_ {
    let (width, height) = plane_size(plane, width, height);
    let stride = picture.stride(plane);
    let data = picture.data(plane);
    (0..height as usize).flat_map(move |row| {
        data[row * stride..row * stride + width as usize]
            .iter()
            .copied()
    })
}

fn plane_size(plane: usize, width: u32, height: u32) -> (u32, u32) {
    if plane == 0 {
        (width, height)
    } else {
        (width / 2, height / 2)
    }
}

/// A black full-range 4:2:0 picture.
fn black(width: u32, height: u32) -> frame::Video {
    let mut picture = frame::Video::new(JPEG_PIXELS, width, height);
    picture.data_mut(0).fill(0);
    picture.data_mut(1).fill(128);
    picture.data_mut(2).fill(128);
    picture
}

/// Copies the top-left `size` of `from` into `to` at `at` (even coordinates and sizes).
fn paste(from: &frame::Video, to: &mut frame::Video, at: (u32, u32), size: (u32, u32)) {
    for plane in 0..3 {
        let (width, height) = plane_size(plane, size.0, size.1);
        let (x, y) = plane_size(plane, at.0, at.1);
        let (width, x) = (width as usize, x as usize);
        let from_stride = from.stride(plane);
        let to_stride = to.stride(plane);
        let source = from.data(plane);
        let target = to.data_mut(plane);
        for row in 0..height as usize {
            let start = (y as usize + row) * to_stride + x;
            target[start..start + width]
                .copy_from_slice(&source[row * from_stride..row * from_stride + width]);
        }
    }
}

/// Scales `source` to `size` and encodes it as a JPEG.
fn scale_to_jpeg(source: &frame::Video, size: (u32, u32), qscale: i32) -> Result<Jpeg, Error> {
    let mut scaler = scaling::Context::get(
        source.format(),
        source.width(),
        source.height(),
        JPEG_PIXELS,
        size.0,
        size.1,
        scaling::Flags::BICUBIC,
    )
    .map_err(Error::internal("creating the poster scaler"))?;
    let mut picture = frame::Video::empty();
    scaler
        .run(source, &mut picture)
        .map_err(Error::internal("scaling the poster"))?;
    Ok(Jpeg {
        bytes: encode_jpeg(&picture, qscale)?,
        width: size.0,
        height: size.1,
    })
}

/// Encodes one full-range 4:2:0 picture as a baseline JPEG at quantizer `qscale`.
fn encode_jpeg(picture: &frame::Video, qscale: i32) -> Result<Vec<u8>, Error> {
    let codec = encoder::find(codec::Id::MJPEG)
        .ok_or(ffmpeg_next::Error::EncoderNotFound)
        .map_err(Error::internal("finding the JPEG encoder"))?;
    let mut context = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(Error::internal("creating the JPEG encoder"))?;
    context.set_width(picture.width());
    context.set_height(picture.height());
    context.set_format(JPEG_PIXELS);
    context.set_time_base(Rational::new(1, 1));
    context.set_flags(codec::Flags::QSCALE);
    let mut jpeg = context
        .open_as(codec)
        .map_err(Error::internal("opening the JPEG encoder"))?;
    let mut frame = ffi::share_frame(picture).map_err(Error::internal("sharing a picture"))?;
    frame.set_pts(Some(0));
    ffi::set_frame_qscale(&mut frame, qscale);
    let failed = || Error::internal("encoding a JPEG");
    jpeg.send_frame(&frame).map_err(failed())?;
    jpeg.send_eof().map_err(failed())?;
    let mut packet = Packet::empty();
    jpeg.receive_packet(&mut packet).map_err(failed())?;
    Ok(packet.data().unwrap_or_default().to_vec())
}
