//! Opening an untrusted file for libav: through a handle we opened ourselves, by an allowed
//! demuxer, with nothing else reachable.
//!
//! libav given a *name* resolves it: a protocol prefix (`http:`, `subfile,`, `data:`), or, for
//! playlists and scripts, other names relative to it. Given an open handle it can only read
//! that handle. So the file is opened here, checked to be a regular file, and handed to libav
//! as custom I/O with every other way out closed (see [`ffi::open_input`]); the demuxer it is
//! detected as must be one of [`demuxers::ALLOWED_DEMUXERS`].

use std::fs::File;
use std::path::Path;

use ffmpeg_next::{Dictionary, format};

use crate::Error;
use crate::media::demuxers;
use crate::media::ffi::{self, OpenInputError};

/// Opens `path` for reading by libav. `max_pixels` caps the picture size (width x height) of
/// the decoders libav opens to detect the streams.
pub(crate) fn open(path: &Path, max_pixels: u64) -> Result<format::context::Input, Error> {
    open_as(path, max_pixels, |name| demuxers::check(name).is_ok())
}

/// [`open`] with another list of allowed demuxers (for testing the other walls alone).
fn open_as(
    path: &Path,
    max_pixels: u64,
    allowed: impl Fn(&str) -> bool,
) -> Result<format::context::Input, Error> {
    let unreadable = |source: std::io::Error| Error::Input {
        path: path.to_path_buf(),
        source,
    };
    // Checked before opening, so that a FIFO or a device is never opened (a FIFO would block).
    let kind = std::fs::metadata(path).map_err(unreadable)?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "it is a directory"
        } else {
            "it is not a regular file"
        };
        return Err(unreadable(std::io::Error::other(what)));
    }
    let file = File::open(path).map_err(unreadable)?;
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(unreadable(std::io::Error::other(
            "it is not a regular file",
        )));
    }
    let io = format::context::StreamIo::from_read_seek(file)
        .map_err(Error::internal("setting up the input's reader"))?;
    let mut decoder_options = Dictionary::new();
    decoder_options.set("max_pixels", &max_pixels.min(i32::MAX as u64).to_string());
    match ffi::open_input(io, allowed, &decoder_options) {
        Ok(input) => Ok(input),
        Err(OpenInputError::Refused(demuxer)) => Err(Error::NotAVideo {
            reason: demuxers::refusal(&demuxer),
        }),
        Err(OpenInputError::Libav { error, demuxer }) => {
            Err(classify_open_error(error, demuxer.as_deref()))
        }
    }
}

/// A failure to open is the input's fault when libav found nothing it could parse, could not
/// read the header of what it recognised, or would need an absurd allocation for it; running
/// out of file handles or processes, or an I/O error reading our own file, is ours.
fn classify_open_error(error: ffmpeg_next::Error, demuxer: Option<&str>) -> Error {
    use ffmpeg_next::Error as Av;
    let ours = Error::internal("opening the input")(error);
    if ours.is_temporary() || matches!(error, Av::Bug | Av::Bug2 | Av::Exit) {
        return ours;
    }
    if ours.is_out_of_memory() {
        // Its header asks for an allocation libav will not make (see Error::is_temporary).
        return Error::LimitExceeded {
            limit: crate::Limit::Memory,
            reason: "reading its header needs more memory than may be given".into(),
        };
    }
    match (error, demuxer) {
        (Av::InvalidData, None) => Error::NotAVideo {
            reason: "no known container format matches its content".into(),
        },
        (_, Some(demuxer)) => Error::CorruptInput {
            reason: format!(
                "it looks like `{demuxer}`, but its header cannot be read ({error}): it is truncated or damaged"
            ),
        },
        (other, None) => Error::NotAVideo {
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_resources_is_not_the_inputs_fault() {
        for errno in [5, 11, 23, 24] {
            let error = classify_open_error(ffmpeg_next::Error::Other { errno }, Some("mpegts"));
            assert!(
                !error.is_client_error() && error.is_temporary(),
                "errno {errno}: {error:?}"
            );
        }
        let absurd = classify_open_error(ffmpeg_next::Error::Other { errno: 12 }, Some("mov"));
        assert_eq!(absurd.code(), "input-too-demanding");
        assert!(absurd.is_client_error());
        let garbage = classify_open_error(ffmpeg_next::Error::InvalidData, None);
        assert!(garbage.is_client_error());
        assert_eq!(garbage.code(), "not-a-video");
        let damaged = classify_open_error(ffmpeg_next::Error::InvalidData, Some("matroska,webm"));
        assert_eq!(damaged.code(), "corrupt-input");
        assert!(damaged.to_string().contains("matroska"), "{damaged}");
    }

    /// The second wall: with every demuxer allowed, a script or a playlist naming a real video
    /// still reads nothing of it, because no file or protocol can be opened from the input.
    #[test]
    fn even_an_allowed_playlist_cannot_open_what_it_names() {
        let video = std::fs::canonicalize("fixtures/h264_aac.mp4").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let scripts = [
            format!("ffconcat version 1.0\nfile '{}'\n", video.display()),
            format!(
                "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{}\n#EXT-X-ENDLIST\n",
                video.display()
            ),
        ];
        for (index, script) in scripts.iter().enumerate() {
            let path = dir.path().join(format!("script{index}"));
            std::fs::write(&path, script).unwrap();
            match open_as(&path, 1 << 24, |_| true) {
                Err(error) => assert!(!error.to_string().is_empty()),
                Ok(mut input) => {
                    let read = input.packets().count();
                    assert_eq!(read, 0, "{script}: read {read} packets of the named file");
                }
            }
        }
    }

    #[test]
    fn only_regular_files_are_opened() {
        let dir = std::env::temp_dir();
        let error = open(&dir, 1 << 20).err().expect("refused");
        assert!(matches!(&error, Error::Input { .. }), "{error:?}");
        assert!(error.to_string().contains("directory"), "{error}");
        let missing = open(Path::new("/nonexistent/clip.mp4"), 1 << 20)
            .err()
            .expect("refused");
        assert_eq!(missing.code(), "input-unreadable");
        let device = open(Path::new("/dev/zero"), 1 << 20)
            .err()
            .expect("refused");
        assert!(
            device.to_string().contains("not a regular file"),
            "{device}"
        );
    }
}
