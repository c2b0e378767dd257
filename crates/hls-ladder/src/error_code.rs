//! The stable, machine-readable names of the library's failures.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stable name for the kind of a failure, fit for an API's `code` field: what
/// [`Error::code`](crate::Error::code) gives, what `hls-ladder probe --error-json` prints, and
/// what the service reads back from it. Written in kebab-case (`"not-a-video"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The file is not a media container we read (or names other files).
    NotAVideo,
    /// Audio only, or only cover art.
    NoVideoStream,
    /// Truncated, or its data cannot be decoded.
    CorruptInput,
    /// A codec this build of libav cannot decode.
    UnsupportedCodec,
    /// Longer than [`SourceLimits::max_duration_seconds`](crate::SourceLimits).
    InputTooLong,
    /// A picture larger than the limits allow.
    ResolutionTooHigh,
    /// More frames than the limits allow.
    TooManyFrames,
    /// Reading it needs more memory than may be given.
    InputTooDemanding,
    /// An option is out of range.
    InvalidOptions,
    /// The conversion was canceled.
    Canceled,
    /// The input file is missing or unreadable.
    InputUnreadable,
    /// The sink refused an object.
    SinkFailed,
    /// libav failed on our side.
    InternalMediaError,
}

impl ErrorCode {
    /// Every code, in the order of the README's table.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::NotAVideo,
        ErrorCode::NoVideoStream,
        ErrorCode::CorruptInput,
        ErrorCode::UnsupportedCodec,
        ErrorCode::InputTooLong,
        ErrorCode::ResolutionTooHigh,
        ErrorCode::TooManyFrames,
        ErrorCode::InputTooDemanding,
        ErrorCode::InvalidOptions,
        ErrorCode::Canceled,
        ErrorCode::InputUnreadable,
        ErrorCode::SinkFailed,
        ErrorCode::InternalMediaError,
    ];

    /// The code as written, e.g. `"not-a-video"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotAVideo => "not-a-video",
            ErrorCode::NoVideoStream => "no-video-stream",
            ErrorCode::CorruptInput => "corrupt-input",
            ErrorCode::UnsupportedCodec => "unsupported-codec",
            ErrorCode::InputTooLong => "input-too-long",
            ErrorCode::ResolutionTooHigh => "resolution-too-high",
            ErrorCode::TooManyFrames => "too-many-frames",
            ErrorCode::InputTooDemanding => "input-too-demanding",
            ErrorCode::InvalidOptions => "invalid-options",
            ErrorCode::Canceled => "canceled",
            ErrorCode::InputUnreadable => "input-unreadable",
            ErrorCode::SinkFailed => "sink-failed",
            ErrorCode::InternalMediaError => "internal-media-error",
        }
    }

    /// True when the input itself is at fault: what it is, how it is damaged, or how much it
    /// asks for. Trying the same file again cannot succeed; a service answers 422.
    /// ([`ErrorCode::InvalidOptions`] is the caller's fault, not the input's.)
    pub fn is_inputs_fault(self) -> bool {
        matches!(
            self,
            ErrorCode::NotAVideo
                | ErrorCode::NoVideoStream
                | ErrorCode::CorruptInput
                | ErrorCode::UnsupportedCodec
                | ErrorCode::InputTooLong
                | ErrorCode::ResolutionTooHigh
                | ErrorCode::TooManyFrames
                | ErrorCode::InputTooDemanding
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the [`ErrorCode`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an error code of this library")]
pub struct UnknownErrorCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(text: &str) -> Result<ErrorCode, UnknownErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| UnknownErrorCode(text.to_string()))
    }
}

/// One of the [`SourceLimits`](crate::SourceLimits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// `max_duration_seconds`.
    Duration,
    /// `max_width` x `max_height`.
    Resolution,
    /// `max_frames`.
    Frames,
    /// Memory: reading the input needs more than may be given (an absurd allocation its
    /// header asks for, or more than the command's `--memory-limit`, the service's
    /// `PROBE_MEMORY_LIMIT`).
    Memory,
}

impl Limit {
    /// The stable error code of an input beyond this limit.
    pub fn code(self) -> &'static str {
        self.error_code().as_str()
    }

    /// The typed form of [`Limit::code`].
    pub fn error_code(self) -> ErrorCode {
        match self {
            Limit::Duration => ErrorCode::InputTooLong,
            Limit::Resolution => ErrorCode::ResolutionTooHigh,
            Limit::Frames => ErrorCode::TooManyFrames,
            Limit::Memory => ErrorCode::InputTooDemanding,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_text_and_its_json() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        assert!("job-timeout".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn only_codes_about_the_input_are_the_inputs_fault() {
        let inputs: Vec<_> = ErrorCode::ALL
            .into_iter()
            .filter(|c| c.is_inputs_fault())
            .collect();
        assert_eq!(inputs.len(), 8);
        assert!(!ErrorCode::InvalidOptions.is_inputs_fault());
        assert!(!ErrorCode::InternalMediaError.is_inputs_fault());
        assert!(ErrorCode::InputTooDemanding.is_inputs_fault());
    }
}
