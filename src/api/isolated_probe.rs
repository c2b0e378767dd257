//! Probing an upload in a child process (`hls-transcoder probe`), for `--role api`: libav
//! parses the untrusted file there, so a crash or a hang in it costs a 422, not the API.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::SourceInfo;

/// How long the child may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// The stable codes a probe can refuse an input with.
const CLIENT_CODES: [&str; 4] = [
    "not-a-video",
    "no-video-stream",
    "corrupt-input",
    "unsupported-codec",
];

/// Why the child did not describe the input.
#[derive(Debug, PartialEq, Eq)]
pub enum ChildProbeError {
    /// The input is at fault (as [`crate::Error::is_client_error`]), or crashed or hung libav.
    Refused {
        /// Stable code.
        code: &'static str,
        /// What the child said.
        message: String,
    },
    /// The child could not run or failed for a reason of ours.
    Failed(String),
}

/// Probes `input` with `binary probe --error-json`.
pub async fn probe_in_child(binary: &Path, input: &Path) -> Result<SourceInfo, ChildProbeError> {
    let child = tokio::process::Command::new(binary)
        .arg("probe")
        .arg("--error-json")
        .arg(input)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ChildProbeError::Failed(format!("cannot run {}: {e}", binary.display())))?;
    let output = match tokio::time::timeout(PROBE_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(ChildProbeError::Failed(format!("the probe failed: {e}"))),
        Err(_) => {
            return Err(ChildProbeError::Refused {
                code: "corrupt-input",
                message: format!(
                    "the input is truncated or corrupt: reading it took longer than {} s",
                    PROBE_TIMEOUT.as_secs()
                ),
            });
        }
    };
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    if output.status.success() {
        return serde_json::from_value(report["source"].clone())
            .map_err(|e| ChildProbeError::Failed(format!("unreadable probe answer: {e}")));
    }
    let reported = report["code"].as_str();
    match (
        output.status.code(),
        CLIENT_CODES.iter().find(|c| Some(**c) == reported),
    ) {
        (Some(65), Some(code)) => Err(ChildProbeError::Refused {
            code,
            message: report["message"].as_str().unwrap_or(code).to_string(),
        }),
        (Some(status), _) => Err(ChildProbeError::Failed(format!(
            "the probe exited with {status}: {report}"
        ))),
        // Killed by a signal: libav crashed on this file.
        (None, _) => Err(ChildProbeError::Refused {
            code: "corrupt-input",
            message: "the input is truncated or corrupt: reading it crashed the media library"
                .into(),
        }),
    }
}
