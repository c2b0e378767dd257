//! The protocol between `hls-ladder probe` and the service that runs it in a child process
//! ([`crate::intake::ProbeRunner`]), written down once for both sides:
//!
//! - exit status 0: the plan as JSON on stdout (its `source` is what the service keeps);
//! - [`EXIT_BAD_INPUT`]: the input is at fault; with `--error-json`, a [`ProbeFailure`] on
//!   stdout names why, with a code that is the input's fault;
//! - [`EXIT_TEMPORARY`]: this machine ran short (file descriptors, processes, an I/O error on
//!   its own disk) and trying again later may work;
//! - 1: any other failure; 2: wrong usage; killed by a signal: libav crashed, or the child ran
//!   past its CPU allowance.

use serde::{Deserialize, Serialize};

/// The exit code when the input is at fault (EX_DATAERR).
pub const EXIT_BAD_INPUT: u8 = 65;
/// The exit code when this machine ran short and trying again may work (EX_TEMPORARY).
pub const EXIT_TEMPORARY: u8 = 75;

/// The exit code for a failed command: [`EXIT_BAD_INPUT`], [`EXIT_TEMPORARY`], or 1.
pub fn exit_code(error: &hls_ladder::Error) -> u8 {
    if error.is_client_error() {
        EXIT_BAD_INPUT
    } else if error.is_temporary() {
        EXIT_TEMPORARY
    } else {
        1
    }
}

/// What `probe --error-json` prints on stdout when it fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeFailure {
    /// The engine's stable code ([`hls_ladder::ErrorCode`] as text).
    pub code: String,
    /// What went wrong, in words a person can act on.
    pub message: String,
}

impl ProbeFailure {
    /// The failure of `error`, as the child reports it.
    pub fn of(error: &hls_ladder::Error) -> ProbeFailure {
        ProbeFailure {
            code: error.code().to_string(),
            message: error.to_string(),
        }
    }
}
