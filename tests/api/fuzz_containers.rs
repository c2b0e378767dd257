//! Property test of the whole service against hostile containers: scripts, playlists and
//! manifests naming another upload (by relative and absolute path, nested protocols, data
//! URIs, network URLs), raw elementary streams with many tiny frames or a picture that grows,
//! and polyglots of a real video and a script, each maybe cut short or with bytes flipped.
//! Every upload gets a 4xx or a 201, never a 5xx or a dropped connection; every accepted one
//! ends with a final status and a stable code; nothing is ever made of the other upload; the
//! server stays up. `PROPTEST_CASES=N` runs more cases (RELIABILITY.md has a long run).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::{fixture, spawn_app_with};
use crate::hostile_input::ffmpeg;
use crate::synthetic_clip::Clip;

/// The codes an accepted hostile upload may fail with.
const STABLE_CODES: [&str; 8] = [
    "input-too-demanding",
    "corrupt-input",
    "not-a-video",
    "no-video-stream",
    "unsupported-codec",
    "input-too-long",
    "resolution-too-high",
    "too-many-frames",
];

/// Media pieces made once per run with the ffmpeg CLI.
struct Pieces {
    /// A real small MP4 (not the victim).
    mp4: Vec<u8>,
    /// Raw H.264: 4000 frames of 16x16 at 1000 fps.
    tiny_frames: Vec<u8>,
    /// Raw H.264: 320x240, then 1280x720.
    growing: Vec<u8>,
}

fn raw_h264(dir: &Path, name: &str, source: &str) -> Vec<u8> {
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-f", "h264"];
    ffmpeg(
        dir,
        name,
        &[&["-f", "lavfi", "-i", source][..], &codec[..]].concat(),
    )
}

impl Pieces {
    fn make(dir: &Path) -> Pieces {
        let mut growing = raw_h264(
            dir,
            "small.h264",
            "testsrc2=size=320x240:rate=25:duration=1",
        );
        growing.extend(raw_h264(
            dir,
            "large.h264",
            "testsrc2=size=1280x720:rate=25:duration=1",
        ));
        Pieces {
            mp4: std::fs::read(fixture("no_audio.mp4")).unwrap(),
            tiny_frames: raw_h264(
                dir,
                "tiny.h264",
                "color=black:size=16x16:rate=1000:duration=4",
            ),
            growing,
        }
    }
}

/// A way of naming the victim from inside a script.
fn target(victim: &Path) -> impl Strategy<Value = String> + use<> {
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    let absolute = victim.display().to_string();
    let bytes = std::fs::read(victim).unwrap();
    let data = format!(
        "data:video/mp4;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len().min(4096)])
    );
    prop_oneof![
        Just(name.clone()),
        Just(format!("./{name}")),
        Just(absolute.clone()),
        Just(format!("file:{absolute}")),
        Just(format!("subfile,,start,0,end,0,,:{absolute}")),
        Just(format!("concat:{absolute}|{absolute}")),
        Just(data),
        Just("http://127.0.0.1:9/victim.mp4".to_string()),
    ]
}

/// A script, playlist or manifest naming `target`.
fn script(target: String, kind: u8) -> String {
    match kind % 7 {
        0 => format!("ffconcat version 1.0\nfile '{target}'\n"),
        1 => format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n"
        ),
        2 => format!(
            "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
             mediaPresentationDuration=\"PT2S\" minBufferTime=\"PT2S\" \
             profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\"><Period><AdaptationSet \
             mimeType=\"video/mp4\"><Representation id=\"1\" bandwidth=\"1\"><BaseURL>{target}\
             </BaseURL></Representation></AdaptationSet></Period></MPD>"
        ),
        3 => "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
            .to_string(),
        4 => format!(";FFMETADATA1\ntitle={target}\n"),
        5 => format!("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{target}\n"),
        _ => format!("ffconcat version 1.0\nfile '{target}'\nfile '{target}'\nduration 1\n"),
    }
}

/// One hostile upload.
fn hostile(victim: PathBuf, pieces: &'static Pieces) -> impl Strategy<Value = (String, Vec<u8>)> {
    let scripts = (
        target(&victim),
        any::<u8>(),
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(|(target, kind, crlf, bom)| {
            let mut text = script(target, kind);
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let mut bytes = if bom {
                vec![0xEF, 0xBB, 0xBF]
            } else {
                Vec::new()
            };
            bytes.extend(text.into_bytes());
            (format!("script {kind}"), bytes)
        });
    let raw = prop_oneof![
        Just((
            "raw: 4000 tiny frames".to_string(),
            pieces.tiny_frames.clone()
        )),
        Just((
            "raw: a picture that grows".to_string(),
            pieces.growing.clone()
        )),
    ];
    let polyglots =
        (target(&victim), any::<u8>(), prop::bool::ANY).prop_map(|(target, kind, before)| {
            let text = script(target, kind).into_bytes();
            let mut bytes = Vec::new();
            if before {
                bytes.extend(&text);
                bytes.extend(&pieces.mp4);
            } else {
                bytes.extend(&pieces.mp4);
                bytes.extend(&text);
            }
            (
                format!(
                    "polyglot {kind} {}",
                    if before { "before" } else { "after" }
                ),
                bytes,
            )
        });
    (
        prop_oneof![4 => scripts, 2 => raw, 2 => polyglots],
        prop::option::weighted(0.3, any::<prop::sample::Index>()),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    )
        .prop_map(|((name, mut bytes), cut, flips)| {
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()).max(1));
            }
            for (at, value) in flips {
                let at = at.index(bytes.len());
                bytes[at] ^= value;
            }
            (name, bytes)
        })
}

#[test]
fn hostile_containers_never_reach_another_upload_and_end_with_stable_codes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn_app_with(|c| {
        c.conversion.max_frames = 2000;
        c.conversion.max_resolution = hls_ladder_server::units::Resolution {
            width: 640,
            height: 480,
        };
        c.jobs.max_attempts = 1;
    }));
    let dir = tempfile::tempdir().unwrap();
    let pieces: &'static Pieces = Box::leak(Box::new(Pieces::make(dir.path())));
    // The victim: another user's waiting upload, 176x144, which no hostile upload may reach.
    std::fs::create_dir_all(&app.upload_dir).unwrap();
    let victim = app
        .upload_dir
        .join(format!("{}.upload", uuid::Uuid::now_v7()));
    let clip = Clip {
        size: "176x144",
        rate: "25",
        seconds: 2.0,
        audio: None,
        audio_seconds: None,
    };
    let made = clip.make(&dir.path().join("victim.mp4"), &["-c:v", "libx264"]);
    std::fs::copy(&made, &victim).unwrap();
    let victim_bytes = std::fs::read(&victim).unwrap();

    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let outcomes = std::cell::RefCell::new(BTreeMap::<String, usize>::new());
    let slowest = std::cell::Cell::new(Duration::ZERO);
    let result = runner.run(&hostile(victim.clone(), pieces), |(name, bytes)| {
        let started = Instant::now();
        let outcome: Result<String, String> = runtime.block_on(async {
            let path = dir.path().join("case.bin");
            tokio::fs::write(&path, &bytes).await.unwrap();
            let response = app.upload_raw(&path, "application/octet-stream").await;
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status != 201 {
                if !(400..500).contains(&status) {
                    return Err(format!("{name}: answered {status} {body}"));
                }
                return Ok(format!("{status} {}", body["code"].as_str().unwrap_or("")));
            }
            let id = body["id"].as_str().unwrap();
            let video = app.convert(id).await;
            let (width, height) = (&video["source"]["width"], &video["source"]["height"]);
            if width == 176 && height == 144 {
                return Err(format!("{name}: converted the victim: {video}"));
            }
            match video["status"].as_str().unwrap() {
                "completed" => Ok("completed".into()),
                "failed" => {
                    let code = video["error"]["code"].as_str().unwrap_or("");
                    if STABLE_CODES.contains(&code) {
                        Ok(format!("failed {code}"))
                    } else {
                        Err(format!("{name}: failed with {code}: {video}"))
                    }
                }
                other => Err(format!("{name}: ended {other}")),
            }
        });
        let health = runtime.block_on(app.get("/healthz")).status();
        prop_assert_eq!(health, 200, "the server stopped answering");
        slowest.set(slowest.get().max(started.elapsed()));
        let outcome = outcome.map_err(TestCaseError::fail)?;
        *outcomes.borrow_mut().entry(outcome).or_default() += 1;
        Ok(())
    });
    eprintln!(
        "{cases} cases; outcomes: {:?}; slowest {:.1} s",
        outcomes.borrow(),
        slowest.get().as_secs_f64()
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        victim_bytes,
        "the victim was touched"
    );
    runtime.block_on(app.stop());
    result.unwrap();
}
