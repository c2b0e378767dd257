//! Showing progress: a bar on a terminal, a plain line per second otherwise (logs, CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use hls_ladder::Progress;

pub(super) struct ProgressDisplay {
    bar: Option<ProgressBar>,
    last_line: Option<(Instant, u64)>,
}

impl ProgressDisplay {
    pub(super) fn new() -> ProgressDisplay {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template("{bar:40} {pos}/{len} frames {msg}")
                .expect("valid template");
            bar.set_style(style);
            bar
        });
        ProgressDisplay {
            bar,
            last_line: None,
        }
    }

    pub(super) fn update(&mut self, p: &Progress) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(
                    p.frames_expected
                        .unwrap_or(p.frames_done)
                        .max(p.frames_done),
                );
                bar.set_position(p.frames_done);
                bar.set_message(format!("{:.0} fps {:.2}x ETA {}", p.fps, p.speed, eta(p)));
            }
            None => {
                let due = self
                    .last_line
                    .is_none_or(|(at, _)| at.elapsed() >= Duration::from_secs(1));
                let finished = p.percent == Some(100.0)
                    && self
                        .last_line
                        .is_none_or(|(_, frames)| frames != p.frames_done);
                if due || finished {
                    self.last_line = Some((Instant::now(), p.frames_done));
                    let percent = p.percent.map_or("?".to_string(), |v| format!("{v:.1}"));
                    let expected = p.frames_expected.map_or("?".to_string(), |v| v.to_string());
                    eprintln!(
                        "progress {}/{} frames {}% {:.1} fps {:.2}x ETA {}",
                        p.frames_done,
                        expected,
                        percent,
                        p.fps,
                        p.speed,
                        eta(p)
                    );
                }
            }
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

fn eta(p: &Progress) -> String {
    p.eta
        .map_or("?".to_string(), |d| format!("{}s", d.as_secs()))
}
