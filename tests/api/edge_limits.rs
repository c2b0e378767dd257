//! Resource exhaustion at the HTTP edge: slow and idle clients, too many connections, probes
//! that hang, crash or need too much, made-up methods and keys, too many event streams. Each
//! limit is set low here so the test is quick; the defaults are in the README.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, fixture, problem, spawn_app_with};

fn address(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

/// Reads what the server sends until it closes or `within` passes; `None` when it is still
/// open then.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&received).into()),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Sends a request's head, then `body_bytes` one at a time, `every` apart, until the server
/// answers; returns the answer's head and when it came.
async fn trickle_upload(app: &TestApp, head: &str, every: Duration) -> (String, Duration) {
    let mut stream = TcpStream::connect(address(app)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => {
                let n = read.unwrap_or(0);
                return (String::from_utf8_lossy(&buffer[..n]).into_owned(), started.elapsed());
            }
            () = tokio::time::sleep(every) => {
                if stream.write_all(b"x").await.is_err() {
                    let answer = read_until_closed(&mut stream, Duration::from_secs(2)).await;
                    return (answer.unwrap_or_default(), started.elapsed());
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no answer to a trickle"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_trickling_upload_gets_408_and_leaves_no_file() {
    let app = spawn_app_with(|c| {
        c.edge.upload_stall_seconds = 1.0;
        c.edge.upload_min_rate = 1000;
    })
    .await;
    let raw = "POST /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\n\
               Content-Length: 1000000\r\n\r\n";
    // One byte every 200 ms: 5 bytes a second, for a minimum of 1000.
    let (answer, after) = trickle_upload(&app, raw, Duration::from_millis(200)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("upload-too-slow"), "{answer}");
    assert!(after < Duration::from_secs(4), "answered after {after:?}");

    // Stalled: a first chunk, then nothing.
    let (answer, _) = trickle_upload(
        &app,
        &format!("{raw}{}", "y".repeat(500)),
        Duration::from_secs(30),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A multipart body whose parts before the file trickle in.
    let multipart = "POST /v1/videos HTTP/1.1\r\nHost: x\r\n\
                     Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 1000000\r\n\r\n\
                     --B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n";
    let (answer, _) = trickle_upload(&app, multipart, Duration::from_millis(200)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    app.assert_uploads_removed();

    // A normal upload is not slowed down by any of this.
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;
    assert!(!id.is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_must_come_in_time_and_idle_connections_are_closed() {
    let app = spawn_app_with(|c| c.edge.header_timeout_seconds = 1.0).await;

    // A client that sends its headers a byte at a time never finishes them in time.
    let mut slow = TcpStream::connect(address(&app)).await.unwrap();
    let started = Instant::now();
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter() {
        if slow.write_all(&[*byte]).await.is_err() {
            break;
        }
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    assert!(
        closed.is_some(),
        "a slow header sender still holds its connection"
    );
    // Closed by the 1 s header timeout, not by the client giving up: a loaded machine may be
    // slow to do it, but not this slow.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // A keep-alive connection that asks nothing more is closed after the same time.
    let mut idle = TcpStream::connect(address(&app)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = Instant::now();
    let answer = read_until_closed(&mut idle, Duration::from_secs(4)).await;
    let answer = answer.expect("the idle connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let lived = answered.elapsed();
    assert!(
        lived >= Duration::from_millis(500) && lived < Duration::from_secs(3),
        "{lived:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(|c| {
        c.edge.max_connections = 4;
        c.edge.header_timeout_seconds = 30.0;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(address(&app)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = TcpStream::connect(address(&app)).await.unwrap();
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let waiting = read_until_closed(&mut fifth, Duration::from_secs(1)).await;
    assert!(waiting.is_none(), "served past the cap: {waiting:?}");
    drop(idle.pop());
    let answer = read_until_closed(&mut fifth, Duration::from_secs(5)).await;
    assert!(answer.unwrap_or_default().starts_with("HTTP/1.1 200"));
    drop(idle);
    app.stop().await;
}

/// A shell script standing in for the probe binary.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_run_one_at_a_time_with_a_scrubbed_environment_and_a_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let real = env!("CARGO_BIN_EXE_hls-ladder");
    let log = dir.path().join("probes.log");
    // Records its environment and when it ran, takes a second, then probes for real.
    let wrapper = script(
        dir.path(),
        "probe.sh",
        &format!(
            "env > {env}\necho start $(date +%s.%N) >> {log}\nsleep 1\n\
             echo end $(date +%s.%N) >> {log}\nexec {real} \"$@\"",
            env = dir.path().join("env").display(),
            log = log.display()
        ),
    );
    let app = spawn_app_with(|c| {
        c.probe_binary = Some(wrapper.clone());
        c.edge.probe_concurrency = 1;
        c.webhooks.webhook_secret = Some("a-secret-that-must-not-leak".into());
    })
    .await;
    let (one, two) = (fixture("h264_aac.mp4"), fixture("no_audio.mp4"));
    let (first, second) = tokio::join!(
        app.upload_raw(&one, "video/mp4"),
        app.upload_raw(&two, "video/mp4"),
    );
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (201, 201)
    );
    let times: Vec<(String, f64)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            let (what, at) = l.split_once(' ').unwrap();
            (what.to_string(), at.parse().unwrap())
        })
        .collect();
    let order: Vec<&str> = times.iter().map(|(what, _)| what.as_str()).collect();
    assert_eq!(
        order,
        ["start", "end", "start", "end"],
        "the probes overlapped: {times:?}"
    );

    let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
    let names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    for name in &names {
        assert!(
            ["PATH", "LD_LIBRARY_PATH", "RUST_LOG", "PWD", "SHLVL", "_"].contains(name),
            "the probe sees {name}: {env}"
        );
    }
    assert!(!env.contains("a-secret-that-must-not-leak") && !env.contains("postgres"));
    app.stop().await;

    // A probe that hangs is killed at the deadline and the upload refused.
    let hanging = script(dir.path(), "hang.sh", "sleep 30");
    let app = spawn_app_with(|c| {
        c.probe_binary = Some(hanging.clone());
        c.edge.probe_timeout_seconds = 1;
    })
    .await;
    let asked = Instant::now();
    let refused = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
    problem(refused, 422, "corrupt-input").await;
    // Killed at its 1 s deadline, long before the script's own 30 s.
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "{:?}",
        asked.elapsed()
    );
    assert!(app.uploads_left().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_past_its_memory_is_refused_and_a_server_fault_is_503_not_the_clients() {
    let app = spawn_app_with(|c| {
        c.edge.probe_memory_limit = hls_ladder_server::units::ByteSize(64 << 20)
    })
    .await;
    let refused = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
    let body = problem(refused, 422, "input-too-demanding").await;
    assert!(
        body["detail"].as_str().unwrap().contains("memory"),
        "{body}"
    );
    assert!(app.uploads_left().is_empty());
    app.stop().await;

    // Out of processes or descriptors on our side: 503, and the client may send it again.
    let dir = tempfile::tempdir().unwrap();
    let short = script(
        dir.path(),
        "short.sh",
        "echo '{\"code\":\"internal-media-error\",\"message\":\"Too many open files\"}'\nexit 75",
    );
    for binary in [short, dir.path().join("missing-binary")] {
        let app = spawn_app_with(|c| c.probe_binary = Some(binary.clone())).await;
        let answer = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
        problem(answer, 503, "probe-unavailable").await;
        assert!(app.uploads_left().is_empty());
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_do_not_grow_the_metrics() {
    let app = spawn_app_with(|_| {}).await;
    let client = reqwest::Client::new();
    for n in 0..50 {
        let method = reqwest::Method::from_bytes(format!("RANDOM{n}").as_bytes()).unwrap();
        let _ = client
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(!metrics.contains("RANDOM"), "made-up methods became labels");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_made_up_authorization_header_buys_no_fresh_upload_allowance() {
    let app = spawn_app_with(|c| c.upload_rate = Some("1/min".parse().unwrap())).await;
    let send = |token: &str| {
        let bytes = std::fs::read(fixture("no_audio.mp4")).unwrap();
        reqwest::Client::new()
            .post(app.url("/v1/videos"))
            .header("Content-Type", "video/mp4")
            .bearer_auth(token)
            .body(bytes)
            .send()
    };
    assert_eq!(send("first").await.unwrap().status(), 201);
    problem(send("second").await.unwrap(), 429, "too-many-uploads").await;
    problem(send("third").await.unwrap(), 429, "too-many-uploads").await;
    app.stop().await;

    // With API keys, each valid key has its own allowance.
    let app = spawn_app_with(|c| {
        c.upload_rate = Some("1/min".parse().unwrap());
        c.access.api_keys = vec!["key-one".into(), "key-two".into()];
    })
    .await;
    let clip = fixture("no_audio.mp4");
    let upload = |key: &'static str| app.upload_with_key(&clip, "video/mp4", Some(key));
    assert_eq!(upload("key-one").await.status(), 201);
    assert_eq!(upload("key-two").await.status(), 201);
    problem(upload("key-one").await, 429, "too-many-uploads").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_per_client_and_in_all() {
    let app = spawn_app_with(|c| {
        c.access.api_keys = vec!["alpha".into(), "beta".into(), "gamma".into()];
        c.edge.max_event_streams = 3;
        c.edge.max_event_streams_per_client = 2;
    })
    .await;
    let response = app
        .upload_with_key(&fixture("no_audio.mp4"), "video/mp4", Some("alpha"))
        .await;
    let video: serde_json::Value = response.json().await.unwrap();
    let path = format!("/v1/videos/{}/events", video["id"].as_str().unwrap());
    let open = |key: &'static str| {
        reqwest::Client::new()
            .get(app.url(&path))
            .bearer_auth(key)
            .send()
    };
    let first = open("alpha").await.unwrap();
    let second = open("alpha").await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    problem(open("alpha").await.unwrap(), 429, "too-many-event-streams").await;
    let third = open("beta").await.unwrap();
    assert_eq!(third.status(), 200);
    problem(open("gamma").await.unwrap(), 503, "event-streams-full").await;
    // A closed stream gives its slot back.
    drop(first);
    // (A server notices a closed stream when it next writes: at the latest the keep-alive
    // comment, every 15 s.)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let again = open("gamma").await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((second, third));
    app.stop().await;
}
