//! Which container formats an input may be read as: only those that read one self-contained
//! media file.
//!
//! libav's demuxers include playlists and scripts that name other files (`concat`, `hls`,
//! `dash`, `imf`), image sequences (`image2` expands `%d` patterns into sibling names),
//! subtitle formats that open a companion file (`vobsub`), synthesizers (`sbg`, `lavfi`),
//! network descriptions (`sdp`, `rtsp`) and hundreds of obscure game and capture formats. An
//! upload read by one of those could make the service read, and publish, files nobody uploaded.
//! So the detected demuxer must be on [`ALLOWED_DEMUXERS`]; everything else is refused as
//! [`Error::NotAVideo`], with the reason in words.
//!
//! Opening through a handle we opened ourselves (see `media::input_file`) is the second wall:
//! even an allowed demuxer cannot open anything but the file it was given.

use crate::Error;

/// Demuxers (by libav's name, as `AVInputFormat::name` gives it) that read one self-contained
/// media file and nothing else: an input detected as anything else is refused as
/// [`Error::NotAVideo`](crate::Error::NotAVideo).
///
/// A build of libav needs these demuxers, and no others, to read every input the engine
/// accepts (the service's Docker image builds its libav from this list).
///
/// ```
/// assert!(hls_ladder::ALLOWED_DEMUXERS.contains(&"matroska,webm"));
/// assert!(!hls_ladder::ALLOWED_DEMUXERS.contains(&"concat"));
/// ```
pub const ALLOWED_DEMUXERS: &[&str] = &[
    // Containers.
    "mov,mp4,m4a,3gp,3g2,mj2", // MP4, MOV, 3GP; external data references stay off (drefs)
    "matroska,webm",
    "avi",
    "mpegts",
    "flv",
    "ogg",
    "asf",  // WMV
    "mpeg", // MPEG program stream: VOB, MPG
    "mxf",
    "dv",
    "nut",
    "rm",
    "wtv",
    "ivf", // VP8, VP9, AV1
    "yuv4mpegpipe",
    // Animations.
    "gif",
    "apng",
    // Raw elementary video streams.
    "h264",
    "hevc",
    "m4v",
    "h263",
    "mpegvideo",
    "vc1",
    "obu",
    "av1",
    // Audio files: self-contained, and read only to be refused with "no video stream", which
    // tells the uploader more than "not a video container".
    "mp3",
    "aac",
    "wav",
    "flac",
    "ac3",
    "eac3",
];

/// `Ok` when the demuxer libav detected may read an input; else why not, as a client error.
pub(crate) fn check(demuxer: &str) -> Result<(), Error> {
    if ALLOWED_DEMUXERS.contains(&demuxer) {
        return Ok(());
    }
    Err(Error::NotAVideo {
        reason: refusal(demuxer),
    })
}

/// Why a demuxer is refused, in words a person who uploaded the file understands.
pub(crate) fn refusal(demuxer: &str) -> String {
    let (what, why) = match demuxer {
        "concat" => ("an ffconcat script", ", which names other files"),
        "hls" | "applehttp" => ("an HLS playlist", ", which names other files"),
        "dash" | "webm_dash_manifest" => ("a DASH manifest", ", which names other files"),
        "imf" => ("an IMF composition playlist", ", which names other files"),
        "image2" => ("an image file name or pattern", ", which names other files"),
        "vobsub" => ("a VobSub index", ", which names another file"),
        "sdp" | "rtsp" | "rtp" => ("a network stream description", ""),
        "ffmetadata" => ("an FFmpeg metadata file", ""),
        "sbg" | "lavfi" | "tedcaptions" => ("a script that generates media", ""),
        name if name.ends_with("_pipe") => ("a still image", ""),
        _ => {
            return format!(
                "it was recognised as `{demuxer}`, which is not a video container this service \
                 reads (MP4, MOV, Matroska, WebM, AVI, MPEG-TS, MPEG-PS, FLV, Ogg, WMV, MXF and \
                 raw video streams are)"
            );
        }
    };
    format!("it is {what} (`{demuxer}`){why}: upload the video file itself")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(demuxer: &str) -> String {
        match check(demuxer) {
            Err(Error::NotAVideo { reason }) => reason,
            other => panic!("`{demuxer}` should be refused, got {other:?}"),
        }
    }

    #[test]
    fn self_contained_containers_are_allowed() {
        for name in ["mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "mpegts", "h264"] {
            assert!(check(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn formats_that_name_other_files_are_refused_with_the_reason() {
        assert!(reason("concat").contains("ffconcat script"));
        assert!(reason("hls").contains("HLS playlist"));
        assert!(reason("dash").contains("DASH manifest"));
        assert!(reason("image2").contains("pattern"));
        assert!(reason("png_pipe").contains("still image"));
        assert!(reason("vobsub").contains("another file"));
    }

    #[test]
    fn anything_unknown_is_refused_too() {
        assert!(reason("libopenmpt").contains("not a video container"));
        assert!(reason("").contains("not a video container"));
        // A name that merely contains an allowed one is not allowed.
        assert!(check("mov").is_err());
        assert!(check("h264,concat").is_err());
    }
}
