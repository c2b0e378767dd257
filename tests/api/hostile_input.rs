//! A suite of hostile and broken uploads: each is refused at upload (4xx) or fails with a
//! stable code, a few valid oddities play; the server stays up and keeps serving a good video
//! meanwhile. The table it prints is the one in RELIABILITY.md.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::{TestApp, fixture, spawn_app_with};

/// What must happen to an upload.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Refused at upload with one of these codes.
    Refused(&'static [&'static str]),
    /// Refused at upload or failed during conversion, with one of these codes.
    Fails(&'static [&'static str]),
    /// A valid if odd video: completed.
    Plays,
}

const NOT_A_VIDEO: &[&str] = &["not-a-video"];
const NO_VIDEO: &[&str] = &["no-video-stream"];
const BROKEN: &[&str] = &[
    "corrupt-input",
    "not-a-video",
    "no-video-stream",
    "input-too-demanding",
];

/// A small deterministic generator of noise (xorshift64).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// The ffmpeg CLI writing `name` in `dir` from `args`; returns the file's bytes.
pub fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "generating {name}");
    std::fs::read(out).unwrap()
}

/// Overwrites the 32-bit duration of every `mvhd`, `tkhd` and `mdhd` box (version 0).
fn with_absurd_duration(mut mp4: Vec<u8>) -> Vec<u8> {
    for (tag, offset) in [(&b"mvhd"[..], 16), (b"tkhd", 20), (b"mdhd", 16)] {
        let mut from = 0;
        while let Some(at) = mp4[from..].windows(4).position(|w| w == tag) {
            let field = from + at + 4 + offset;
            mp4[field..field + 4].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());
            from += at + 4;
        }
    }
    mp4
}

fn cases(dir: &Path) -> Vec<(String, Vec<u8>, Expect)> {
    let read = |name: &str| std::fs::read(fixture(name)).unwrap();
    let good = read("h264_aac.mp4");
    let cut = |bytes: &[u8], percent: usize| bytes[..bytes.len() * percent / 100].to_vec();
    let lavfi_video = "testsrc2=size=320x240:rate=25:duration=2";
    let moov_at_end = ffmpeg(
        dir,
        "moov_at_end.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            lavfi_video,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    let ts = ffmpeg(
        dir,
        "clip.ts",
        &[
            "-f",
            "lavfi",
            "-i",
            lavfi_video,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    let mut zeroed_media = good.clone();
    let mdat = zeroed_media.windows(4).position(|w| w == b"mdat").unwrap() + 4;
    zeroed_media[mdat..].fill(0);
    let mut ftyp_then_noise = good[..32].to_vec();
    ftyp_then_noise.extend(noise(64 * 1024, 7));
    let mut ts_sync_noise = Vec::new();
    for chunk in noise(188 * 500, 9).chunks(188) {
        ts_sync_noise.push(0x47);
        ts_sync_noise.extend(&chunk[1..]);
    }
    let mut ebml_noise = vec![0x1A, 0x45, 0xDF, 0xA3];
    ebml_noise.extend(noise(32 * 1024, 11));
    let mut concatenated = ts.clone();
    concatenated.extend(&ts);

    let raw_h264 = |name: &str, source: &str| {
        let args = [
            "-f",
            "lavfi",
            "-i",
            source,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ];
        ffmpeg(dir, name, &[&args[..], &["-f", "h264"]].concat())
    };
    let mut growing = raw_h264("small.h264", "testsrc2=size=320x240:rate=25:duration=1");
    growing.extend(raw_h264(
        "large.h264",
        "testsrc2=size=1920x1080:rate=25:duration=1",
    ));
    let names_other =
        |text: &str| text.replace("OTHER", "01a2293d-0000-7000-8000-000000000001.upload");
    let mut list: Vec<(String, Vec<u8>, Expect)> = vec![
        (
            "ffconcat script naming another upload".into(),
            names_other("ffconcat version 1.0\nfile OTHER\n").into_bytes(),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "HLS playlist naming another upload".into(),
            names_other("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nOTHER\n#EXT-X-ENDLIST\n")
                .into_bytes(),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "DASH manifest naming another upload".into(),
            names_other(
                "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" \
                 profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\" type=\"static\" \
                 mediaPresentationDuration=\"PT2S\" minBufferTime=\"PT2S\"><Period>\
                 <AdaptationSet mimeType=\"video/mp4\"><Representation id=\"1\" bandwidth=\"1\">\
                 <BaseURL>OTHER</BaseURL></Representation></AdaptationSet></Period></MPD>",
            )
            .into_bytes(),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "SDP description of an RTP stream".into(),
            b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\n"
                .to_vec(),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "raw H.264, 40,000 tiny frames, no declared length".into(),
            raw_h264("tiny.h264", "color=size=16x16:rate=1000:duration=40"),
            Expect::Refused(&["too-many-frames"]),
        ),
        (
            "raw H.264 growing from 320x240 to 1920x1080 midway".into(),
            growing,
            Expect::Fails(&["resolution-too-high"]),
        ),
        (
            "empty file".into(),
            Vec::new(),
            Expect::Refused(&["empty-upload"]),
        ),
        (
            "1 KiB of random bytes".into(),
            noise(1024, 1),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "1 MiB of random bytes".into(),
            noise(1 << 20, 2),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "1 MiB of zeros".into(),
            vec![0; 1 << 20],
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "text (README.md)".into(),
            std::fs::read(fixture("../README.md")).unwrap(),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "HTML page".into(),
            b"<!doctype html><html><body><video src=x.mp4></video></body></html>".to_vec(),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "JSON document".into(),
            br#"{"video": true, "frames": [1, 2, 3]}"#.to_vec(),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "text named .mp4 (fixture)".into(),
            read("not_a_video.mp4"),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "PNG image".into(),
            ffmpeg(
                dir,
                "image.png",
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc2=size=320x240",
                    "-frames:v",
                    "1",
                ],
            ),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "JPEG image".into(),
            ffmpeg(
                dir,
                "image.jpg",
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc2=size=320x240",
                    "-frames:v",
                    "1",
                ],
            ),
            Expect::Refused(NOT_A_VIDEO),
        ),
        (
            "WAV audio".into(),
            ffmpeg(dir, "audio.wav", &["-f", "lavfi", "-i", "sine=duration=1"]),
            Expect::Refused(NO_VIDEO),
        ),
        (
            "MP3 audio".into(),
            ffmpeg(dir, "audio.mp3", &["-f", "lavfi", "-i", "sine=duration=1"]),
            Expect::Refused(NO_VIDEO),
        ),
        (
            "ADTS AAC audio".into(),
            ffmpeg(dir, "audio.aac", &["-f", "lavfi", "-i", "sine=duration=1"]),
            Expect::Refused(NO_VIDEO),
        ),
        (
            "M4A audio (fixture)".into(),
            read("audio_only.m4a"),
            Expect::Refused(NO_VIDEO),
        ),
        (
            "MP3 with cover art only (fixture)".into(),
            read("cover_art.mp3"),
            Expect::Refused(NO_VIDEO),
        ),
        (
            "unknown video codec (fixture)".into(),
            read("unknown_codec.avi"),
            Expect::Refused(&["unsupported-codec"]),
        ),
        (
            "MP4, only its ftyp box".into(),
            good[..32].to_vec(),
            Expect::Fails(BROKEN),
        ),
        (
            "MP4, ftyp box then noise".into(),
            ftyp_then_noise,
            Expect::Fails(BROKEN),
        ),
        (
            "MP4 whose moov atom is missing".into(),
            cut(&moov_at_end, 80),
            Expect::Fails(BROKEN),
        ),
        (
            "MP4 with its media data zeroed".into(),
            zeroed_media,
            Expect::Fails(BROKEN),
        ),
        (
            "MP4 declaring a 49-day duration".into(),
            with_absurd_duration(good.clone()),
            Expect::Fails(&["input-too-long", "corrupt-input"]),
        ),
        (
            "Y4M declaring 100000x100000".into(),
            b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec(),
            Expect::Fails(&["resolution-too-high", "corrupt-input", "not-a-video"]),
        ),
        (
            "TS sync bytes around noise".into(),
            ts_sync_noise,
            Expect::Fails(BROKEN),
        ),
        (
            "EBML (Matroska) header then noise".into(),
            ebml_noise,
            Expect::Fails(BROKEN),
        ),
        (
            "truncated MKV (fixture)".into(),
            read("truncated.mkv"),
            Expect::Fails(BROKEN),
        ),
        (
            "truncated MP4 (fixture)".into(),
            read("truncated.mp4"),
            Expect::Fails(BROKEN),
        ),
        (
            "40,000 tiny frames (16x16 at 1000 fps)".into(),
            ffmpeg(
                dir,
                "tiny.mkv",
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    "color=size=16x16:rate=1000:duration=40",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                ],
            ),
            Expect::Refused(&["too-many-frames"]),
        ),
        (
            "single frame (valid)".into(),
            ffmpeg(
                dir,
                "one.mp4",
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    lavfi_video,
                    "-frames:v",
                    "1",
                    "-c:v",
                    "libx264",
                ],
            ),
            Expect::Plays,
        ),
        (
            "two TS files concatenated: timestamps jump back (valid)".into(),
            concatenated,
            Expect::Plays,
        ),
    ];
    for percent in [10, 30, 50, 70, 90] {
        list.push((
            format!("MP4 truncated at {percent}%"),
            cut(&good, percent),
            Expect::Fails(BROKEN),
        ));
    }
    list
}

/// (HTTP status of the upload, final status, error code).
async fn outcome(app: &TestApp, path: &Path) -> (u16, String, String) {
    let response = app.upload_raw(path, "application/octet-stream").await;
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status != 201 {
        let code = body["code"].as_str().unwrap_or("").to_string();
        return (status, "refused".into(), code);
    }
    let id = body["id"].as_str().unwrap();
    let video = app.convert(id).await;
    let code = video["error"]["code"].as_str().unwrap_or("").to_string();
    (status, video["status"].as_str().unwrap().to_string(), code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_and_broken_uploads_are_refused_or_fail_with_stable_codes() {
    let app = spawn_app_with(|c| {
        c.conversion.max_frames = 20_000;
        c.conversion.max_resolution = hls_ladder_server::units::Resolution {
            width: 1280,
            height: 720,
        };
        c.jobs.job_timeout_seconds = 60;
        c.jobs.max_attempts = 1;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    assert!(cases.len() >= 30, "{} cases", cases.len());

    // A good video converts alongside the hostile ones.
    let good = app.upload_id(&fixture("h264_aac.mp4")).await;
    let mut table = vec![
        "| input | upload | outcome | code |".to_string(),
        "|---|---|---|---|".into(),
    ];
    let mut wrong = Vec::new();
    for (index, (name, bytes, expect)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case_{index}.bin"));
        std::fs::write(&path, bytes).unwrap();
        let asked = Instant::now();
        let (http, status, code) = outcome(&app, &path).await;
        let health = app.get("/healthz").await.status();
        assert_eq!(health, 200, "the server stopped answering after {name}");
        table.push(format!("| {name} | {http} | {status} | {code} |"));
        let refused = (400..500).contains(&http);
        let ok = match expect {
            Expect::Refused(codes) => refused && codes.contains(&code.as_str()),
            Expect::Fails(codes) => {
                (refused || status == "failed") && codes.contains(&code.as_str())
            }
            Expect::Plays => status == "completed",
        };
        if !ok {
            wrong.push(format!(
                "{name}: expected {expect:?}, got {http} {status} {code}"
            ));
        }
        assert!(
            asked.elapsed() < Duration::from_secs(90),
            "{name} took {:?}",
            asked.elapsed()
        );
    }
    println!("{}", table.join("\n"));
    assert!(
        wrong.is_empty(),
        "{}\n\n{}",
        wrong.join("\n"),
        table.join("\n")
    );
    let good = app.convert(&good).await;
    assert_eq!(good["status"], "completed", "{good}");
    // Nothing of the refused or failed uploads is left behind.
    app.assert_uploads_removed();
    app.stop().await;
}
