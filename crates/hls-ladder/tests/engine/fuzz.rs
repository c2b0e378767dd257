//! Property tests: the probe and the conversion of arbitrary and of damaged inputs end in a
//! value or an error, never a panic, a crash or a hang. `PROPTEST_CASES=N` runs more cases
//! (`scripts/fuzz.sh` runs thousands).

use std::time::{Duration, Instant};

use hls_ladder::{ConvertOptions, MemorySink, Preset, Rung, convert, probe};
use proptest::prelude::*;

use crate::helpers::fixture;

/// Writes `bytes` to a fresh temporary file.
fn file_of(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// A real video with some bytes overwritten and maybe cut short: gets past the container
/// checks into the demuxers' and decoders' corners.
fn damaged(original: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    let len = original.len();
    (
        prop::collection::vec((0..len, any::<u8>()), 1..32),
        prop::option::of(len / 4..len),
    )
        .prop_map(move |(edits, cut)| {
            let mut bytes = original.to_vec();
            for (at, value) in edits {
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut);
            }
            bytes
        })
}

fn small_video() -> &'static [u8] {
    static VIDEO: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    VIDEO.get_or_init(|| std::fs::read(fixture("h264_aac.mp4")).unwrap())
}

fn cheap_options() -> ConvertOptions {
    ConvertOptions {
        ladder: vec![Rung::with_default_bitrate(144)],
        preset: Preset::Ultrafast,
        segment_seconds: 1.0,
        ..ConvertOptions::default()
    }
}

/// `PROPTEST_CASES` when set (a long run), else `default` (CI).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn probing_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (_dir, path) = file_of(&bytes);
        let _ = probe(&path);
    }

    #[test]
    fn probing_a_damaged_video_never_panics(bytes in damaged(small_video())) {
        let (_dir, path) = file_of(&bytes);
        if let Err(error) = probe(&path) {
            prop_assert!(error.is_client_error(), "{error:?}");
        }
    }
}

// A conversion costs more than a probe: a tenth as many cases.
proptest! {
    #![proptest_config(ProptestConfig { cases: cases(240) / 10, ..ProptestConfig::default() })]

    #[test]
    fn converting_a_damaged_video_ends_in_a_result_soon(bytes in damaged(small_video())) {
        let (_dir, path) = file_of(&bytes);
        let started = Instant::now();
        let outcome = convert(&path, &cheap_options(), MemorySink::new(), |_| {});
        prop_assert!(started.elapsed() < Duration::from_secs(60));
        if let Err(error) = outcome {
            prop_assert!(
                error.is_client_error(),
                "damage in the input must be reported as the input's fault: {error:?}"
            );
        }
    }
}
