//! Probing an upload in a child process (`hls-ladder probe`): libav parses the untrusted
//! file there, so a crash, a hang or a memory blow-up in it costs a 422, not the API.
//!
//! - At most `concurrency` probes run at once; further uploads wait for a slot.
//! - The child gets `timeout` of wall time (then it is killed), caps its own address space
//!   and CPU time before it opens the file (`--memory-limit`, `--cpu-seconds`), and sees an
//!   environment with nothing but `PATH` (and `LD_LIBRARY_PATH` if set): no database URL, no
//!   keys, no secrets.
//! - Its answer is classified ([`crate::probe_protocol`]): the input's fault (with the engine's
//!   stable code), ours and temporary (no process or memory to run it), or a bug.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use hls_ladder::{ErrorCode, SourceInfo, SourceLimits};

use super::intake_error::IntakeError;
use crate::probe_protocol::{EXIT_BAD_INPUT, EXIT_TEMPORARY, ProbeFailure};

/// The exit code of `probe` for an input it refuses (the engine's client errors).
const EXIT_REFUSED: i32 = EXIT_BAD_INPUT as i32;
/// The exit code of `probe` when this machine could not do it now: worth trying again later.
const EXIT_SHORT: i32 = EXIT_TEMPORARY as i32;

/// Runs probes in child processes, a few at a time.
#[derive(Debug, Clone)]
pub struct ProbeRunner {
    binary: PathBuf,
    limits: SourceLimits,
    slots: Arc<Semaphore>,
    timeout: Duration,
    memory_limit: u64,
}

impl ProbeRunner {
    /// Probes with `binary probe`, holding inputs to `limits`.
    pub fn new(
        binary: PathBuf,
        limits: SourceLimits,
        concurrency: usize,
        timeout: Duration,
        memory_limit: u64,
    ) -> ProbeRunner {
        ProbeRunner {
            binary,
            limits,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            timeout,
            memory_limit,
        }
    }

    /// The largest input the child accepts.
    pub fn limits(&self) -> &SourceLimits {
        &self.limits
    }

    /// Describes `input`, waiting for a free slot first.
    pub async fn probe(&self, input: &Path) -> Result<SourceInfo, IntakeError> {
        let _slot = self.slots.acquire().await.expect("never closed");
        self.probe_now(input).await
    }

    async fn probe_now(&self, input: &Path) -> Result<SourceInfo, IntakeError> {
        let limits = &self.limits;
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .arg("probe")
            .arg("--error-json")
            .arg("--max-duration-seconds")
            .arg(limits.max_duration_seconds.to_string())
            .arg("--max-resolution")
            .arg(format!("{}x{}", limits.max_width, limits.max_height))
            .arg("--max-frames")
            .arg(limits.max_frames.to_string())
            .arg("--memory-limit")
            .arg(self.memory_limit.to_string())
            .arg("--cpu-seconds")
            .arg(self.timeout.as_secs().max(1).to_string())
            .arg(input)
            .env_clear()
            .env("RUST_LOG", "error");
        for kept in ["PATH", "LD_LIBRARY_PATH"] {
            if let Some(value) = std::env::var_os(kept) {
                command.env(kept, value);
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                IntakeError::Unavailable(format!("cannot run {}: {e}", self.binary.display()))
            })?;
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => {
                return Err(IntakeError::Unavailable(format!("the probe failed: {e}")));
            }
            Err(_) => {
                return Err(IntakeError::Refused {
                    code: ErrorCode::CorruptInput,
                    message: format!(
                        "the input is truncated or corrupt: reading it took longer than {} s",
                        self.timeout.as_secs()
                    ),
                });
            }
        };
        classify(output.status.code(), &output.stdout)
    }
}

/// What the child's exit status and its JSON on stdout mean.
fn classify(status: Option<i32>, stdout: &[u8]) -> Result<SourceInfo, IntakeError> {
    if status == Some(0) {
        let report: serde_json::Value = serde_json::from_slice(stdout).unwrap_or_default();
        return serde_json::from_value(report["source"].clone())
            .map_err(|e| IntakeError::Failed(format!("unreadable probe answer: {e}")));
    }
    let failure: Option<ProbeFailure> = serde_json::from_slice(stdout).ok();
    let inputs_fault = failure
        .as_ref()
        .and_then(|failure| failure.code.parse::<ErrorCode>().ok())
        .filter(|code| code.is_inputs_fault());
    let message = || {
        failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_default()
    };
    match (status, inputs_fault) {
        (Some(EXIT_REFUSED), Some(code)) => Err(IntakeError::Refused {
            code,
            message: message(),
        }),
        (Some(EXIT_SHORT), _) => Err(IntakeError::Unavailable(message())),
        (Some(status), _) => Err(IntakeError::Failed(format!(
            "the probe exited with {status}: {}",
            String::from_utf8_lossy(stdout)
        ))),
        // Killed by a signal: libav crashed on this file, or it ran past its CPU allowance.
        (None, _) => Err(IntakeError::Refused {
            code: ErrorCode::CorruptInput,
            message: "the input is truncated or corrupt: reading it crashed the media library"
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_childs_answer_is_classified_by_exit_status_and_code() {
        let refused = br#"{"code":"not-a-video","message":"no"}"#;
        assert!(matches!(
            classify(Some(65), refused),
            Err(IntakeError::Refused {
                code: ErrorCode::NotAVideo,
                ..
            })
        ));
        let memory = br#"{"code":"input-too-demanding","message":"m"}"#;
        assert!(matches!(
            classify(Some(65), memory),
            Err(IntakeError::Refused {
                code: ErrorCode::InputTooDemanding,
                ..
            })
        ));
        let busy = br#"{"code":"internal-media-error","message":"EMFILE"}"#;
        assert_eq!(
            classify(Some(75), busy),
            Err(IntakeError::Unavailable("EMFILE".into()))
        );
        // A code the child should not send with 65 is not trusted as the client's fault.
        let odd = br#"{"code":"internal-media-error","message":"x"}"#;
        assert!(matches!(
            classify(Some(65), odd),
            Err(IntakeError::Failed(_))
        ));
        assert!(matches!(
            classify(None, b""),
            Err(IntakeError::Refused { .. })
        ));
        assert!(matches!(
            classify(Some(0), b"{}"),
            Err(IntakeError::Failed(_))
        ));
    }
}
