//! The objects of a conversion's output as a sink receives them: their path, bytes (or file)
//! and kind.

use std::path::Path;

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
    /// [`Sink::put_file`](crate::Sink::put_file) before the final playlists.
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
    /// The file holding it; removed once [`Sink::put_file`](crate::Sink::put_file) returns.
    pub file: &'a Path,
    /// Its size in bytes.
    pub bytes: u64,
    /// What the object is.
    pub kind: ObjectKind,
}
