//! HLS text: media and master playlists and RFC 6381 codec strings.
//!
//! Pure values with no I/O and no libav: they are built from what the pipeline measured and
//! rendered to the exact text that is published.

mod codecs;
mod iframe_playlist;
mod master_playlist;
mod media_playlist;

pub use codecs::{AAC_LC, avc_codec_string, fits_level_5_2, h264_high_level};
pub use iframe_playlist::{IFrame, IFramePlaylist};
pub use master_playlist::{
    AudioMedia, IFrameVariant, MasterPlaylist, SubtitleMedia, Variant, with_subtitle_media,
};
pub use media_playlist::{MediaPlaylist, PlaylistKind, PlaylistSegment};
