//! Where finished HLS objects go: the [`Sink`] trait and the sinks the library ships.
//!
//! The conversion hands every object to the sink on the caller's thread, in publishing order:
//! each rendition's segments as they are produced, then each media playlist (after all of its
//! segments), then the master playlist last, so a published master never names a missing
//! object. A sink that uploads asynchronously can start uploads in `put` and wait for them in
//! [`Sink::finish`]; until `put` returns, the encoders wait (bounded memory). Such a sink
//! must keep the order where it matters: an object must be stored before a playlist put after
//! it, and a playlist before a later version of itself.
//!
//! With [`ConvertOptions::progressive`](crate::ConvertOptions), playlists also come while
//! the conversion runs, marked `growing`: each media playlist after every segment it gains
//! but those of the last moments (its last segment, and any finished when the conversion
//! expects to end within 1.5 s: the final playlist names them moments later), and the master
//! playlist once, when every rendition has a segment (the video is playable
//! from then on). The final playlists, `growing: false`, replace them at the end.

mod directory;
mod memory;

use std::path::Path;

use crate::ResumePoint;

pub use directory::DirectorySink;
pub use memory::MemorySink;

/// What an [`HlsObject`] is. More kinds may come: match with a wildcard arm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ObjectKind {
    /// An MPEG-TS segment of one rendition.
    Segment {
        /// The rendition's name, e.g. `"720p"`, or, for the audio rendition of one of a
        /// source's several audio tracks, `"audio/{language}"`.
        rendition: String,
        /// Sequence number, from 1, as in the media playlist.
        sequence: u64,
        /// Duration in seconds.
        duration: f64,
    },
    /// A rendition's media playlist.
    MediaPlaylist {
        /// The rendition's name (`"audio/{language}"` for an audio rendition).
        rendition: String,
        /// An `EVENT` playlist that will grow (progressive publishing), not the final one.
        growing: bool,
    },
    /// The master playlist: the last object, and, publishing progressively, also the one
    /// that makes the video playable.
    MasterPlaylist {
        /// Published while the renditions still grow, with bandwidths estimated; the final
        /// one, measured, comes last.
        growing: bool,
    },
    /// A rendition's I-frame playlist (`#EXT-X-I-FRAMES-ONLY`, byte ranges of its
    /// segments), put with the final media playlists.
    IFramePlaylist {
        /// The rendition's name.
        rendition: String,
    },
    /// A poster JPEG ([`POSTER`](crate::stills::POSTER) or
    /// [`POSTER_SMALL`](crate::stills::POSTER_SMALL)), put before the final playlists.
    Poster {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// A storyboard sprite sheet JPEG, put once it is full (the last one at the end).
    StoryboardSheet {
        /// The sheet's number, from 1.
        sheet: u32,
    },
    /// The storyboard's WebVTT file, put after its sheets and before the final playlists.
    Storyboard,
    /// A WebVTT segment of a subtitle rendition, put at the end with the others of its track.
    SubtitleSegment {
        /// The track's directory name, e.g. `eng`.
        track: String,
        /// Sequence number, from 1, as the video's segments.
        sequence: u64,
    },
    /// A subtitle rendition's media playlist, put after its segments.
    SubtitlePlaylist {
        /// The track's directory name.
        track: String,
    },
    /// A progressive MP4 of one rendition with its index at the front (`faststart`), for
    /// downloading ([`ConvertOptions::mp4_download`](crate::ConvertOptions)); handed to
    /// [`Sink::put_file`] before the final playlists.
    Download {
        /// The rendition's name.
        rendition: String,
    },
}

impl ObjectKind {
    /// Whether the object will be replaced by a later version: a growing playlist.
    pub fn is_growing(&self) -> bool {
        matches!(
            self,
            ObjectKind::MediaPlaylist { growing: true, .. }
                | ObjectKind::MasterPlaylist { growing: true }
        )
    }
}

/// One file of the HLS output: its path relative to the output root, its bytes and its kind.
#[derive(Debug, Clone)]
pub struct HlsObject {
    /// Relative path with `/` separators, e.g. `720p/segment_00001.ts` or `master.m3u8`.
    pub path: String,
    /// The file's content.
    pub bytes: Vec<u8>,
    /// What the object is.
    pub kind: ObjectKind,
}

impl HlsObject {
    /// The MIME type to serve the object with.
    pub fn content_type(&self) -> &'static str {
        self.kind.content_type()
    }
}

impl ObjectKind {
    /// The MIME type to serve an object of this kind with.
    pub fn content_type(&self) -> &'static str {
        match self {
            ObjectKind::Segment { .. } => "video/mp2t",
            ObjectKind::Download { .. } => "video/mp4",
            ObjectKind::Poster { .. } | ObjectKind::StoryboardSheet { .. } => "image/jpeg",
            ObjectKind::Storyboard | ObjectKind::SubtitleSegment { .. } => "text/vtt",
            ObjectKind::MediaPlaylist { .. }
            | ObjectKind::MasterPlaylist { .. }
            | ObjectKind::IFramePlaylist { .. }
            | ObjectKind::SubtitlePlaylist { .. } => "application/vnd.apple.mpegurl",
        }
    }
}

/// A large object of the output, in a file rather than in memory: the MP4 download.
#[derive(Debug, Clone)]
pub struct FileObject<'a> {
    /// Relative path with `/` separators, e.g. `download/720p.mp4`.
    pub path: String,
    /// The file holding it; removed once [`Sink::put_file`] returns.
    pub file: &'a Path,
    /// Its size in bytes.
    pub bytes: u64,
    /// What the object is.
    pub kind: ObjectKind,
}

/// The error a sink reports; any error type will do.
pub type SinkError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Receives the HLS output of a conversion.
pub trait Sink {
    /// Stores one object. Called in publishing order on the thread that runs the conversion;
    /// an error stops the conversion.
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError>;

    /// Stores a large object from a file (the MP4 download), which the conversion removes
    /// when this returns: a sink that stores in the background copies or uploads it before
    /// returning. The default reads the file into memory and calls [`Sink::put`]; sinks for
    /// large outputs stream it instead.
    fn put_file(&mut self, object: FileObject<'_>) -> Result<(), SinkError> {
        let bytes = std::fs::read(object.file)?;
        self.put(HlsObject {
            path: object.path,
            bytes,
            kind: object.kind,
        })
    }

    /// Called once after the master playlist was put: a sink that stores in the background
    /// waits here until everything is stored. The default does nothing.
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Called each time every rendition has put more segments, with the point a later run
    /// can continue from ([`resume_with_cancel`](crate::resume_with_cancel)) should this one
    /// stop: keep the latest where that run will find it. The point names segments already
    /// put; a sink that stores in the background must keep it only once they are stored.
    /// The default ignores it.
    fn resume_point(&mut self, point: &ResumePoint) -> Result<(), SinkError> {
        let _ = point;
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn put(&mut self, object: HlsObject) -> Result<(), SinkError> {
        (**self).put(object)
    }

    fn put_file(&mut self, object: FileObject<'_>) -> Result<(), SinkError> {
        (**self).put_file(object)
    }

    fn resume_point(&mut self, point: &ResumePoint) -> Result<(), SinkError> {
        (**self).resume_point(point)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        (**self).finish()
    }
}
