//! Clips made at test time by the ffmpeg CLI, a moving test pattern and a tone, so the
//! repository stays small. Shared by the engine and service test crates, which each include
//! this file as a module.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A `testsrc2` picture of `size` at `rate` frames a second for `seconds`, and optionally
/// sound from a lavfi `audio` source (e.g. `sine=frequency=440:sample_rate=48000`) for
/// `audio_seconds`, or as long as the picture when that is `None`.
#[derive(Clone, Copy)]
pub struct Clip {
    pub size: &'static str,
    pub rate: &'static str,
    pub seconds: f64,
    pub audio: Option<&'static str>,
    pub audio_seconds: Option<f64>,
}

impl Clip {
    /// Encodes the clip into `path` with `codec_args` (e.g. `["-c:v", "libx264"]`); the
    /// container follows the file's extension. Returns `path`.
    pub fn make(&self, path: &Path, codec_args: &[&str]) -> PathBuf {
        let mut command = Command::new("ffmpeg");
        command.args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"]);
        command.arg(format!(
            "testsrc2=size={}:rate={}:duration={}",
            self.size, self.rate, self.seconds
        ));
        if let Some(audio) = self.audio {
            let seconds = self.audio_seconds.unwrap_or(self.seconds);
            command
                .args(["-f", "lavfi", "-i"])
                .arg(format!("{audio}:duration={seconds}"));
        }
        let output = command
            .args(codec_args)
            .arg(path)
            .output()
            .expect("ffmpeg runs");
        assert!(
            output.status.success(),
            "making {}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        path.to_path_buf()
    }
}
