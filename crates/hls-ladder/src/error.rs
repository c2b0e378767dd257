//! The one error type of the library.
//!
//! It separates what the caller did wrong (the input is not a video, is corrupt, uses a codec
//! we cannot decode) from what went wrong on our side (libav, the sink, I/O), so that a
//! service can answer 4xx for the first and 5xx for the second. It must not know about HTTP.

use std::path::PathBuf;

use crate::ErrorCode;

/// Everything that can make a probe or a conversion fail.
///
/// Use [`Error::is_client_error`] to tell a bad input from a failure of ours, and
/// [`Error::code`] for a stable machine-readable name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input could not be opened as a media file at all (text, an image, random bytes).
    #[error("the input is not a video file libav can read: {reason}")]
    NotAVideo {
        /// What libav said when it tried to read the container.
        reason: String,
    },

    /// The input is a media file, but it has no video stream (audio only, or only cover art).
    #[error("the input has no video stream (found: {found})")]
    NoVideoStream {
        /// The kinds of streams the input does have, e.g. `"audio"` or `"nothing"`.
        found: String,
    },

    /// The input ends before the data its own header promises, or its data cannot be decoded.
    #[error("the input is truncated or corrupt: {reason}")]
    CorruptInput {
        /// Where and how the damage was found.
        reason: String,
    },

    /// A stream we need uses a codec this build of libav cannot decode.
    #[error(
        "the {stream} stream uses the codec `{codec}`, which this build of libav cannot decode"
    )]
    UnsupportedCodec {
        /// `"video"` or `"audio"`.
        stream: &'static str,
        /// The codec's libav name, e.g. `"prores"`.
        codec: String,
    },

    /// The input is beyond a [`SourceLimits`](crate::SourceLimits) limit: too long, too
    /// large a picture, or too many frames.
    #[error("the input is too large to convert: {reason}")]
    LimitExceeded {
        /// Which limit.
        limit: crate::error_code::Limit,
        /// The input's value and the limit.
        reason: String,
    },

    /// The options asked for something impossible (an unknown preset, an empty ladder, ...).
    #[error("invalid options: {0}")]
    InvalidOptions(String),

    /// The conversion was canceled through its [`CancelToken`](crate::CancelToken).
    #[error("the conversion was canceled")]
    Canceled,

    /// The input file could not be read (missing, unreadable).
    #[error("cannot read {path}: {source}")]
    Input {
        /// The input path.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The sink refused a segment or a playlist.
    #[error("the sink failed to store {object}: {source}")]
    Sink {
        /// The relative path of the object, e.g. `720p/segment_00003.ts`.
        object: String,
        /// What the sink reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// libav failed in a way that does not point at the input (encoder, muxer, allocation).
    #[error("internal media error while {context}: {source}")]
    Internal {
        /// What we were doing, e.g. `"opening the H.264 encoder"`.
        context: String,
        /// libav's error.
        #[source]
        source: LibavError,
    },
}

/// An error libav reported: its status code and its message.
///
/// It stands in for the `ffmpeg-next` error type, so that the library's public types do not
/// tie an integrator's build to the exact `ffmpeg-next` version it links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibavError {
    status: i32,
    message: String,
}

impl LibavError {
    /// libav's status code: a negative `AVERROR` value (`-errno` for system errors).
    pub fn status(&self) -> i32 {
        self.status
    }

    /// The system error number, when libav reported one (`ENOMEM`, `EMFILE`, ...).
    pub fn errno(&self) -> Option<i32> {
        match ffmpeg_next::Error::from(self.status) {
            ffmpeg_next::Error::Other { errno } => Some(errno),
            _ => None,
        }
    }

    /// Wraps an `ffmpeg-next` error, keeping its status and message.
    pub(crate) fn from_av(error: ffmpeg_next::Error) -> Self {
        Self {
            status: i32::from(error),
            message: error.to_string(),
        }
    }
}

impl std::fmt::Display for LibavError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LibavError {}

impl Error {
    /// True when the input (or the options) are at fault, so retrying the same request cannot
    /// succeed: a service should answer 4xx, or mark the job failed without retrying.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Error::NotAVideo { .. }
                | Error::NoVideoStream { .. }
                | Error::CorruptInput { .. }
                | Error::UnsupportedCodec { .. }
                | Error::LimitExceeded { .. }
                | Error::InvalidOptions(_)
        )
    }

    /// True when this machine ran short (file descriptors, processes) or could not read its
    /// own files: not the input's fault, and trying again later may succeed. A service should
    /// answer 503 and keep nothing it would have to clean up.
    ///
    /// Running out of memory is not among them: on Linux an allocation fails only when the
    /// request is absurd (libav refuses any single one over 2 GiB) or over a cap the caller
    /// set, which is what a hostile header asks for; a machine really out of memory kills a
    /// process instead. [`crate::Limit::Memory`] reports that case.
    pub fn is_temporary(&self) -> bool {
        let errno = match self {
            Error::Internal { source, .. } => source.errno(),
            Error::Input { source, .. } => source.raw_os_error(),
            _ => None,
        };
        matches!(errno, Some(EIO | EAGAIN | ENFILE | EMFILE))
    }

    /// True when libav ran out of memory: under a memory cap of the caller's (`RLIMIT_AS`,
    /// say), the input demands more than the cap allows.
    pub fn is_out_of_memory(&self) -> bool {
        matches!(self, Error::Internal { source, .. } if source.errno() == Some(ENOMEM))
    }

    /// A stable kebab-case name for the kind of failure, fit for an API's `code` field.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The kind of failure as an [`ErrorCode`], the typed form of [`Error::code`].
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Error::NotAVideo { .. } => ErrorCode::NotAVideo,
            Error::NoVideoStream { .. } => ErrorCode::NoVideoStream,
            Error::CorruptInput { .. } => ErrorCode::CorruptInput,
            Error::UnsupportedCodec { .. } => ErrorCode::UnsupportedCodec,
            Error::LimitExceeded { limit, .. } => limit.error_code(),
            Error::InvalidOptions(_) => ErrorCode::InvalidOptions,
            Error::Canceled => ErrorCode::Canceled,
            Error::Input { .. } => ErrorCode::InputUnreadable,
            Error::Sink { .. } => ErrorCode::SinkFailed,
            Error::Internal { .. } => ErrorCode::InternalMediaError,
        }
    }

    /// For a libav call fed with what the input declares (stream parameters): whatever libav
    /// refuses there (invalid data, a feature it does not implement, bad parameters) is the
    /// input's fault ([`Error::CorruptInput`]); running out of memory, or a libav bug, is ours.
    pub(crate) fn from_input(
        context: impl Into<String>,
    ) -> impl FnOnce(ffmpeg_next::Error) -> Error {
        let context = context.into();
        move |source| {
            let ours = matches!(source, ffmpeg_next::Error::Bug | ffmpeg_next::Error::Bug2)
                || matches!(source, ffmpeg_next::Error::Other { errno } if errno == ENOMEM);
            if ours {
                Error::Internal {
                    context,
                    source: LibavError::from_av(source),
                }
            } else {
                Error::CorruptInput {
                    reason: format!("{context}: {source}"),
                }
            }
        }
    }

    pub(crate) fn internal(context: impl Into<String>) -> impl FnOnce(ffmpeg_next::Error) -> Error {
        let context = context.into();
        move |source| Error::Internal {
            context,
            source: LibavError::from_av(source),
        }
    }
}

/// Out of memory, as libav reports it.
const ENOMEM: i32 = 12;
/// The errno values of a machine running short, or of an I/O error on its own disk.
const EIO: i32 = 5;
const EAGAIN: i32 = 11;
const ENFILE: i32 = 23;
const EMFILE: i32 = 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_a_client_error_and_libav_failure_is_not() {
        let bad = Error::NotAVideo {
            reason: "Invalid data".into(),
        };
        let ours = Error::internal("opening the encoder")(ffmpeg_next::Error::Bug);
        assert!(bad.is_client_error());
        assert!(!ours.is_client_error());
        assert_eq!(bad.code(), "not-a-video");
        assert_eq!(ours.code(), "internal-media-error");
    }

    #[test]
    fn libavs_error_is_the_source_with_its_status_errno_and_message() {
        use std::error::Error as _;
        let failure =
            Error::internal("opening the output")(ffmpeg_next::Error::Other { errno: 24 });
        let source = failure.source().expect("libav's error is the source");
        let libav = source
            .downcast_ref::<LibavError>()
            .expect("the source is a LibavError, not an ffmpeg-next type");
        assert_eq!(libav.errno(), Some(24));
        assert_eq!(libav.status(), -24);
        assert_eq!(
            libav.to_string(),
            ffmpeg_next::Error::Other { errno: 24 }.to_string()
        );
        assert!(
            failure.to_string().contains("opening the output"),
            "{failure}"
        );

        let bug = LibavError::from_av(ffmpeg_next::Error::Bug);
        assert_eq!(bug.errno(), None);
        assert_eq!(bug.status(), i32::from(ffmpeg_next::Error::Bug));
        assert_eq!(failure.code(), "internal-media-error");
    }

    #[test]
    fn invalid_data_in_the_inputs_parameters_is_the_inputs_fault() {
        let bad = Error::from_input("reading the audio stream parameters")(
            ffmpeg_next::Error::InvalidData,
        );
        assert!(bad.is_client_error(), "{bad:?}");
        let einval = Error::from_input("opening")(ffmpeg_next::Error::Other { errno: 22 });
        assert!(einval.is_client_error(), "{einval:?}");
        let unimplemented = Error::from_input("opening")(ffmpeg_next::Error::Other { errno: 38 });
        assert!(unimplemented.is_client_error(), "{unimplemented:?}");
        let memory = Error::from_input("opening")(ffmpeg_next::Error::Other { errno: 12 });
        assert!(!memory.is_client_error(), "{memory:?}");
    }

    #[test]
    fn running_short_is_temporary_and_a_bad_input_is_not() {
        let descriptors = Error::internal("opening")(ffmpeg_next::Error::Other { errno: 24 });
        assert!(descriptors.is_temporary() && !descriptors.is_client_error());
        let memory = Error::internal("decoding")(ffmpeg_next::Error::Other { errno: 12 });
        assert!(!memory.is_temporary() && memory.is_out_of_memory());
        let disk = Error::Input {
            path: "x".into(),
            source: std::io::Error::from_raw_os_error(5),
        };
        assert!(disk.is_temporary());
        let missing = Error::Input {
            path: "x".into(),
            source: std::io::Error::from_raw_os_error(2),
        };
        assert!(!missing.is_temporary());
        assert!(
            !Error::NotAVideo {
                reason: String::new()
            }
            .is_temporary()
        );
    }
}
