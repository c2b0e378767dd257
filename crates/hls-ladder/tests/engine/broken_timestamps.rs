//! Timestamps that step back, repeat or jump forward in one stream must not stretch, shrink or
//! desynchronise the published video: each fault, in either stream, in Matroska, Ogg, MPEG-TS
//! and MP4, is converted to output that is monotonic, lasts as long as the clean file's (to
//! within a frame) and keeps picture and sound together (to within an audio frame).
//!
//! The clips carry sync marks: a white picture and a beep at every whole second. The same clip
//! is converted clean and broken; the marks are found in both outputs by ffmpeg, as a player
//! would show them, and compared.

use std::path::{Path, PathBuf};
use std::process::Command;

use hls_ladder::{ConvertOptions, DirectorySink, convert};

use crate::helpers::{decode_warnings, ffmpeg_to_null, ffprobe, number, playlist_segments};
use crate::timestamp_faults::{Break, Fault, Track, break_file};

/// Seconds of the clips; the faults start at [`AT`].
const SECONDS: u32 = 7;
const AT: f64 = 2.5;
/// One AAC frame at 48 kHz: the sync the output must keep.
const AUDIO_FRAME: f64 = 1024.0 / 48_000.0;

/// A clip in one container: its extension, its frame rate, and how it is encoded.
struct Container {
    extension: &'static str,
    rate: &'static str,
    args: &'static [&'static str],
    /// The smallest audio jump told from a pause: about twice the time one audio page or
    /// chunk spans in the file (see `media/file_layout.rs`).
    audio_jump: f64,
}

const MATROSKA: Container = Container {
    extension: "mkv",
    rate: "25",
    // As in the file that showed the fault: MPEG-4 Part 2 with 5.1 AAC.
    args: &["-c:v", "mpeg4", "-q:v", "4", "-c:a", "aac", "-ac", "6"],
    audio_jump: 1.4,
};
const OGG: Container = Container {
    extension: "ogg",
    rate: "30000/1001",
    args: &["-c:v", "libtheora", "-q:v", "6", "-c:a", "libvorbis"],
    // Ogg writes sound in pages of a second.
    audio_jump: 3.0,
};
const MPEG_TS: Container = Container {
    extension: "ts",
    rate: "25",
    args: &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    audio_jump: 1.4,
};
/// An MP4 index stores decode-time deltas: a step back is a negative one (as a broken muxer
/// writes it), which libav would take out of the following samples' durations; the engine
/// reads the index itself for those tracks (`media/mp4_clock.rs`).
const MP4: Container = Container {
    extension: "mp4",
    rate: "30",
    args: &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    audio_jump: 1.4,
};

/// Every fault of the class, in either stream.
fn breaks(container: &Container) -> Vec<Break> {
    [Track::Video, Track::Audio]
        .into_iter()
        .flat_map(|track| {
            let jump = match track {
                Track::Video => 1.4,
                Track::Audio => container.audio_jump,
            };
            [Fault::Back(0.6), Fault::Repeat(1.5), Fault::Jump(jump)]
                .into_iter()
                .map(move |fault| Break {
                    track,
                    at: AT,
                    fault,
                })
        })
        .collect()
}

/// The clip with a white picture and a beep at every whole second.
fn marked_clip(dir: &Path, container: &Container) -> PathBuf {
    let path = dir.join(format!("clean.{}", container.extension));
    let video = format!(
        "testsrc2=size=320x240:rate={}:duration={SECONDS},\
         drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.06)'",
        container.rate
    );
    let audio = format!("aevalsrc='0.7*sin(2*PI*880*t)*lt(mod(t\\,1)\\,0.1)':s=48000:d={SECONDS}");
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", &video])
        .args(["-f", "lavfi", "-i", &audio])
        .args(container.args)
        .arg(&path)
        .output()
        .expect("ffmpeg runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

/// What a conversion published, as ffmpeg sees it.
#[derive(Debug)]
struct Published {
    /// The sum of the media playlist's segment durations.
    playlist_seconds: f64,
    frame_seconds: f64,
    /// Times of the white pictures and of the beeps' starts.
    flashes: Vec<f64>,
    beeps: Vec<f64>,
    /// ffmpeg's warnings while decoding the playlist.
    warnings: String,
    /// Whether video and audio packets each come with increasing timestamps.
    monotonic: Result<(), String>,
}

fn convert_and_measure(source: &Path, out: &Path) -> Result<Published, String> {
    let options = ConvertOptions {
        segment_seconds: 2.0,
        ..ConvertOptions::default()
    };
    let report = convert(source, &options, DirectorySink::new(out).unwrap(), |_| {})
        .map_err(|e| format!("refused: {e}"))?;
    let playlist = out.join(&report.renditions[0].playlist);
    let text = std::fs::read_to_string(&playlist).unwrap();
    Ok(Published {
        playlist_seconds: playlist_segments(&text).iter().map(|s| s.0).sum(),
        frame_seconds: 1.0 / report.source.frame_rate,
        flashes: onsets(&show_video_means(&playlist), 200.0),
        beeps: onsets(&show_audio_levels(&playlist), -30.0),
        warnings: decode_warnings(&playlist),
        monotonic: monotonic(&playlist),
    })
}

/// Where a level rises above `threshold` after being below it: (time, level) in, times out.
fn onsets(levels: &[(f64, f64)], threshold: f64) -> Vec<f64> {
    let mut below = true;
    let mut out = Vec::new();
    for &(time, level) in levels {
        if below && level > threshold {
            out.push(time);
        }
        below = level <= threshold;
    }
    out
}

/// Runs ffmpeg on `path` with a filter and returns its log, timestamps kept as they are.
fn ffmpeg_log(path: &Path, map: &str, filter: &str) -> String {
    ffmpeg_to_null(
        &["-hide_banner", "-copyts"],
        path,
        &["-map", map, "-filter", filter],
    )
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(name)? + name.len();
    line[at..].split_whitespace().next()
}

/// (time, mean luma) of every picture.
fn show_video_means(path: &Path) -> Vec<(f64, f64)> {
    ffmpeg_log(path, "0:v", "scale=16:16,format=gray,showinfo")
        .lines()
        .filter(|l| l.contains("Parsed_showinfo"))
        .filter_map(|l| {
            let t = field(l, "pts_time:")?.parse().ok()?;
            let mean = field(l, "mean:[")?.trim_end_matches(']').parse().ok()?;
            Some((t, mean))
        })
        .collect()
}

/// (time, RMS level in dB) of every millisecond of sound.
fn show_audio_levels(path: &Path) -> Vec<(f64, f64)> {
    let log = ffmpeg_log(
        path,
        "0:a",
        "asetnsamples=n=48:p=0,astats=metadata=1:reset=1,\
         ametadata=mode=print:key=lavfi.astats.Overall.RMS_level",
    );
    let mut levels = Vec::new();
    let mut time = None;
    for line in log.lines() {
        if let Some(t) = field(line, "pts_time:") {
            time = t.parse().ok();
        } else if let Some(level) = line.split("RMS_level=").nth(1) {
            let level: f64 = level.trim().parse().unwrap_or(-200.0);
            if let Some(t) = time.take() {
                levels.push((t, if level.is_finite() { level } else { -200.0 }));
            }
        }
    }
    levels
}

/// Video and audio packets each with strictly increasing decode times.
fn monotonic(path: &Path) -> Result<(), String> {
    let json = ffprobe(&[
        "-show_entries",
        "packet=stream_index,dts_time,codec_type",
        path.to_str().unwrap(),
    ]);
    let mut last: [Option<f64>; 2] = [None, None];
    for packet in json["packets"].as_array().unwrap() {
        let kind = usize::from(packet["codec_type"] == "audio");
        let dts = number(&packet["dts_time"]);
        if let Some(previous) = last[kind] {
            if dts <= previous {
                return Err(format!(
                    "{} dts {dts} after {previous}",
                    packet["codec_type"]
                ));
            }
        }
        last[kind] = Some(dts);
    }
    Ok(())
}

/// Each beep's offset from the white picture nearest to it.
fn sync_offsets(published: &Published) -> Vec<(f64, f64)> {
    published
        .beeps
        .iter()
        .map(|&beep| {
            let flash = published
                .flashes
                .iter()
                .copied()
                .min_by(|a, b| (a - beep).abs().total_cmp(&(b - beep).abs()))
                .unwrap_or(f64::NAN);
            (beep, beep - flash)
        })
        .collect()
}

/// Converts the clean clip and every broken one; returns what went wrong, one line a case.
fn check_container(container: &Container, dir: &Path) -> Vec<String> {
    let clean = marked_clip(dir, container);
    let reference = convert_and_measure(&clean, &dir.join("out_clean")).unwrap();
    assert!(
        reference.warnings.is_empty(),
        "clean: {}",
        reference.warnings
    );
    assert_eq!(reference.flashes.len(), SECONDS as usize, "{reference:?}");
    assert_eq!(reference.beeps.len(), SECONDS as usize, "{reference:?}");
    // The clean clip's own offsets, mark by mark (an encoder's priming samples may delay the
    // first beep by an audio frame), are what the broken ones must keep.
    let clean_offsets = sync_offsets(&reference);
    assert!(
        clean_offsets
            .iter()
            .all(|o| (o.1 - clean_offsets[1].1).abs() <= 2.0 * AUDIO_FRAME),
        "the clean clip is in sync: {clean_offsets:?}"
    );

    let bytes = std::fs::read(&clean).unwrap();
    let mut failures = Vec::new();
    for (n, fault) in breaks(container).into_iter().enumerate() {
        let name = format!(
            "broken{n}.{}: {:?} {:?}",
            container.extension, fault.track, fault.fault
        );
        let mut broken = bytes.clone();
        let changed = break_file(&mut broken, container.extension, &fault);
        assert!(changed > 0, "{name}: the patch changed nothing");
        let source = dir.join(format!("broken{n}.{}", container.extension));
        std::fs::write(&source, &broken).unwrap();
        let published = match convert_and_measure(&source, &dir.join(format!("out{n}"))) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut wrong = Vec::new();
        if (published.playlist_seconds - reference.playlist_seconds).abs()
            > published.frame_seconds + 0.01
        {
            wrong.push(format!(
                "lasts {:.3} s, the clean clip {:.3} s",
                published.playlist_seconds, reference.playlist_seconds
            ));
        }
        if !published.warnings.is_empty() {
            wrong.push(format!("ffmpeg warns: {}", published.warnings.trim()));
        }
        if let Err(e) = &published.monotonic {
            wrong.push(e.clone());
        }
        if published.flashes.len() != reference.flashes.len()
            || published.beeps.len() != reference.beeps.len()
        {
            wrong.push(format!(
                "marks lost: {} pictures, {} beeps",
                published.flashes.len(),
                published.beeps.len()
            ));
        }
        let out_of_sync: Vec<_> = sync_offsets(&published)
            .into_iter()
            .zip(&clean_offsets)
            .filter(|(o, clean)| (o.1 - clean.1).abs() > AUDIO_FRAME + 0.002)
            .map(|((t, o), clean)| format!("{t:.3}: {:+.3}", o - clean.1))
            .collect();
        if !out_of_sync.is_empty() {
            wrong.push(format!("out of sync at {out_of_sync:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!("{name}: {}", wrong.join("; ")));
        }
    }
    failures
}

fn assert_repaired(container: &Container) {
    let dir = tempfile::tempdir().unwrap();
    let failures = check_container(container, dir.path());
    if !failures.is_empty() {
        // Kept for a look with ffprobe.
        let kept = dir.keep();
        panic!("files in {}:\n{}", kept.display(), failures.join("\n"));
    }
}

#[test]
fn broken_timestamps_in_matroska_are_repaired() {
    assert_repaired(&MATROSKA);
}

#[test]
fn broken_timestamps_in_ogg_are_repaired() {
    assert_repaired(&OGG);
}

#[test]
fn broken_timestamps_in_mpeg_ts_are_repaired() {
    assert_repaired(&MPEG_TS);
}

#[test]
fn broken_timestamps_in_mp4_are_repaired() {
    assert_repaired(&MP4);
}
