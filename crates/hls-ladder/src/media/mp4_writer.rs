//! The MP4 download: one rendition's encoded packets, the same the HLS segments hold, muxed
//! into a progressive MP4 with its index at the front (`faststart`), so that a browser plays
//! it while it downloads. No second encode.
//!
//! `faststart` moves the index in front of the media once every packet is written, which
//! needs a seekable file: the MP4 is written to a file in the scratch folder, not to memory
//! like the segments, and handed to the sink as a file.

use std::path::{Path, PathBuf};

use ffmpeg_next::{Dictionary, Packet, Rational, codec, encoder, format};

use crate::Error;
use crate::media::interleave::Track;
use crate::media::timeline::TICKS;

/// A file of the scratch folder, removed when dropped: an MP4 download that failed halfway,
/// or one the sink has stored.
#[derive(Debug)]
pub(crate) struct ScratchFile(PathBuf);

impl ScratchFile {
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(crate) struct Mp4Writer {
    output: format::context::Output,
    file: ScratchFile,
    audio_time_base: Rational,
    /// The time bases the muxer chose for video and audio.
    stream_time_bases: (Rational, Rational),
    has_audio: bool,
}

impl Mp4Writer {
    /// An MP4 at `path` for one H.264 stream (timestamps in [`TICKS`]) and, optionally, one
    /// AAC stream (timestamps in its own time base).
    pub(crate) fn create(
        path: &Path,
        video: codec::Parameters,
        audio: Option<(codec::Parameters, Rational)>,
    ) -> Result<Mp4Writer, Error> {
        let fail = |what: &'static str| Error::internal(format!("{what} the MP4 download"));
        let mut output = format::output_as(path, "mp4").map_err(fail("creating"))?;
        let file = ScratchFile(path.to_path_buf());
        let mut stream = output
            .add_stream(encoder::find(codec::Id::None))
            .map_err(fail("adding video to"))?;
        stream.set_parameters(video);
        let has_audio = audio.is_some();
        let audio_time_base = audio.as_ref().map_or(TICKS, |(_, tb)| *tb);
        if let Some((parameters, _)) = audio {
            let mut stream = output
                .add_stream(encoder::find(codec::Id::None))
                .map_err(fail("adding audio to"))?;
            stream.set_parameters(parameters);
        }
        let mut options = Dictionary::new();
        options.set("movflags", "+faststart");
        output
            .write_header_with(options)
            .map_err(fail("starting"))?;
        let video_time_base = output.stream(0).expect("video stream").time_base();
        let audio_stream_time_base = output.stream(1).map_or(TICKS, |s| s.time_base());
        Ok(Mp4Writer {
            output,
            file,
            audio_time_base,
            stream_time_bases: (video_time_base, audio_stream_time_base),
            has_audio,
        })
    }

    /// Muxes one packet; libavformat interleaves the two streams by time.
    pub(crate) fn write(&mut self, track: Track, mut packet: Packet) -> Result<(), Error> {
        match track {
            Track::Video => {
                packet.set_stream(0);
                packet.rescale_ts(TICKS, self.stream_time_bases.0);
            }
            Track::Audio if self.has_audio => {
                packet.set_stream(1);
                packet.rescale_ts(self.audio_time_base, self.stream_time_bases.1);
            }
            Track::Audio => return Ok(()),
        }
        packet.set_position(-1);
        packet
            .write_interleaved(&mut self.output)
            .map_err(Error::internal("muxing the MP4 download"))
    }

    /// Writes the index (moved to the front) and closes the file.
    pub(crate) fn finish(mut self) -> Result<ScratchFile, Error> {
        self.output
            .write_trailer()
            .map_err(Error::internal("finishing the MP4 download"))?;
        drop(self.output);
        Ok(self.file)
    }
}
