//! Examining an upload before it becomes a video: probed in a child process and held to the
//! source limits, whichever way it came (a POST, tus, the bucket, a URL import).

use std::path::Path;

use hls_ladder::SourceInfo;

use super::intake_error::IntakeError;
use super::probe_runner::ProbeRunner;

/// Takes uploads in: what every way of uploading shares.
#[derive(Debug, Clone)]
pub struct Intake {
    probes: ProbeRunner,
}

impl Intake {
    /// Examines uploads with `probes` (which holds them to its limits).
    pub fn new(probes: ProbeRunner) -> Intake {
        Intake { probes }
    }

    /// Probes the upload at `path` in a child process and checks it against the source
    /// limits; the file is removed when it is refused or cannot be examined now.
    pub async fn examine(&self, path: &Path) -> Result<SourceInfo, IntakeError> {
        let examined = self.probes.probe(path).await.and_then(|source| {
            match self.probes.limits().check(&source) {
                Ok(()) => Ok(source),
                Err(beyond) => Err(IntakeError::Refused {
                    code: beyond.error_code(),
                    message: beyond.to_string(),
                }),
            }
        });
        if examined.is_err() {
            let _ = tokio::fs::remove_file(path).await;
        }
        examined
    }
}
