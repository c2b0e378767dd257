//! Why an upload was not taken in: a domain error, which the API answers as HTTP (422, 503,
//! 500) and the import pool records as the import's failure or tries again.

use hls_ladder::ErrorCode;

/// Why an upload was not taken in.
#[derive(Debug, PartialEq, Eq)]
pub enum IntakeError {
    /// The input is at fault (as [`hls_ladder::Error::is_client_error`]): not a video, beyond
    /// a limit, or it crashed, hung or exhausted the probe's allowance.
    Refused {
        /// Stable code: one that is the input's fault ([`ErrorCode::is_inputs_fault`]).
        code: ErrorCode,
        /// Why, in words the uploader can act on.
        message: String,
    },
    /// This machine could not examine it now (no process, memory or file descriptors): worth
    /// sending, or trying, again shortly.
    Unavailable(String),
    /// It failed for a reason of ours that trying again will not fix.
    Failed(String),
}
