//! Deinterlacing and rotation of decoded pictures through a libavfilter graph.
//!
//! Built only when a source needs it (interlaced frames, rotation metadata), once, on the
//! thread that decodes. Scaling is not done here: each rendition scales on its own thread.

use ffmpeg_next::{Rational, Rescale, filter, frame};

use crate::Error;
use crate::media::drained;
use crate::media::timeline::TICKS;

/// A filter graph `buffer -> [yadif] -> [transpose/flip] -> buffersink`.
pub(crate) struct PictureFilter {
    graph: filter::Graph,
    spec: String,
    input_key: (u32, u32, i32),
}

impl PictureFilter {
    /// The filter chain for this source, or `None` when pictures can pass untouched.
    pub(crate) fn spec(interlaced: bool, rotation: u32) -> Option<String> {
        let mut steps = Vec::new();
        if interlaced {
            // send_frame keeps the frame rate; deint=interlaced leaves progressive frames alone.
            steps.push("yadif=mode=send_frame:parity=auto:deint=interlaced");
        }
        match rotation {
            90 => steps.push("transpose=clock"),
            180 => steps.push("hflip,vflip"),
            270 => steps.push("transpose=cclock"),
            _ => {}
        }
        (!steps.is_empty()).then(|| steps.join(","))
    }

    /// A graph for frames shaped like `first`, whose timestamps are in [`TICKS`].
    pub(crate) fn new(spec: &str, first: &frame::Video) -> Result<PictureFilter, Error> {
        let fail = Error::internal(format!("building the picture filter `{spec}`"));
        let sar = first.aspect_ratio();
        let sar = if sar.numerator() > 0 && sar.denominator() > 0 {
            sar
        } else {
            Rational::new(1, 1)
        };
        let pixel_format: ffmpeg_next::ffi::AVPixelFormat = first.format().into();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            first.width(),
            first.height(),
            pixel_format as i32,
            TICKS.numerator(),
            TICKS.denominator(),
            sar.numerator(),
            sar.denominator()
        );
        let build = || -> Result<filter::Graph, ffmpeg_next::Error> {
            let mut graph = filter::Graph::new();
            graph.add(
                &filter::find("buffer").ok_or(ffmpeg_next::Error::FilterNotFound)?,
                "in",
                &args,
            )?;
            graph.add(
                &filter::find("buffersink").ok_or(ffmpeg_next::Error::FilterNotFound)?,
                "out",
                "",
            )?;
            graph.output("in", 0)?.input("out", 0)?.parse(spec)?;
            graph.validate()?;
            Ok(graph)
        };
        let graph = build().map_err(fail)?;
        Ok(PictureFilter {
            graph,
            spec: spec.to_string(),
            input_key: key(first),
        })
    }

    /// The filter chain this graph runs.
    pub(crate) fn chain(&self) -> &str {
        &self.spec
    }

    /// Whether `frame` has the shape this graph was built for.
    pub(crate) fn accepts(&self, frame: &frame::Video) -> bool {
        self.input_key == key(frame)
    }

    /// Feeds one frame (or the end, with `None`) and hands every frame that comes out to `out`.
    pub(crate) fn push(
        &mut self,
        frame: Option<&frame::Video>,
        out: &mut dyn FnMut(frame::Video) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut source = self.graph.get("in").expect("graph has an input");
        match frame {
            Some(frame) => source.source().add(frame),
            None => source.source().flush(),
        }
        .map_err(Error::internal("feeding the picture filter"))?;
        let mut sink = self.graph.get("out").expect("graph has an output");
        // yadif doubles the time base's resolution; frames go back onto the output clock.
        let time_base = sink.sink().time_base();
        loop {
            let mut filtered = frame::Video::empty();
            match sink.sink().frame(&mut filtered) {
                Ok(()) => {
                    let pts = filtered.pts().map(|pts| pts.rescale(time_base, TICKS));
                    filtered.set_pts(pts);
                    out(filtered)?
                }
                Err(e) if drained(&e) => return Ok(()),
                Err(e) => return Err(Error::internal("reading the picture filter")(e)),
            }
        }
    }
}

fn key(frame: &frame::Video) -> (u32, u32, i32) {
    let format: ffmpeg_next::ffi::AVPixelFormat = frame.format().into();
    (frame.width(), frame.height(), format as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progressive_unrotated_video_needs_no_filter() {
        assert_eq!(PictureFilter::spec(false, 0), None);
    }

    #[test]
    fn rotation_and_deinterlacing_chain_in_order() {
        assert_eq!(
            PictureFilter::spec(true, 90).as_deref(),
            Some("yadif=mode=send_frame:parity=auto:deint=interlaced,transpose=clock")
        );
        assert_eq!(
            PictureFilter::spec(false, 270).as_deref(),
            Some("transpose=cclock")
        );
        assert_eq!(
            PictureFilter::spec(false, 180).as_deref(),
            Some("hflip,vflip")
        );
    }
}
