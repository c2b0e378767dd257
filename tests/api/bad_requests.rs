//! Requests the service must refuse, clearly, leaving nothing behind.

use crate::helpers::{fixture, problem, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_body_a_wrong_content_type_and_a_text_file_are_refused() {
    let app = spawn_app().await;
    let empty = app
        .client
        .post(app.url("/v1/videos"))
        .header("Content-Type", "video/mp4")
        .send()
        .await
        .unwrap();
    problem(empty, 400, "empty-upload").await;

    let text = app
        .client
        .post(app.url("/v1/videos"))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    problem(text, 415, "unsupported-content-type").await;

    let not_video = app
        .upload_raw(&fixture("not_a_video.mp4"), "video/mp4")
        .await;
    let body = problem(not_video, 422, "not-a-video").await;
    assert!(body["detail"].as_str().unwrap().contains("not a video"));

    let audio = app.upload_multipart(&fixture("audio_only.m4a")).await;
    problem(audio, 422, "no-video-stream").await;
    assert!(
        app.uploads_left().is_empty(),
        "refused uploads leave nothing behind: {:?}",
        app.uploads_left()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_limit_gets_413_and_its_partial_file_is_removed() {
    let app =
        spawn_app_with(|c| c.upload_limit = hls_ladder_server::units::ByteSize(100_000)).await;
    let declared = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
    problem(declared, 413, "upload-too-large").await;

    // Without a Content-Length the limit is enforced while streaming. The server answers 413
    // and closes without reading the rest, so a raw client reads the answer after its writes fail.
    let status = stream_chunked(
        &app.address,
        &std::fs::read(fixture("h264_aac.mp4")).unwrap(),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
    app.stop().await;
}

/// An answer given before the body is read (too large by its Content-Length, too large once
/// the limit is passed while streaming, not a video type) reaches a client that is still
/// sending: the server lingers on the connection, reading and dropping the rest, instead of
/// closing it at once, which makes the kernel reset it and can destroy the answer before the
/// client reads it. Each case twenty times over, with a real client: the reset is a race
/// (without the lingering, two runs in three failed here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_answer_reaches_a_client_that_is_still_sending() {
    let app =
        spawn_app_with(|c| c.upload_limit = hls_ladder_server::units::ByteSize(1 << 20)).await;
    // Over the limit by 2 MiB; under it, for the wrong type (else the length answers first).
    let (over, under) = (3 << 20, 900 << 10);
    let send = |content_type: &'static str, size: usize, chunked: bool| {
        let body = bytes::Bytes::from(vec![7u8; size]);
        let url = app.url("/v1/videos");
        async move {
            let body = if chunked {
                let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = (0..body.len())
                    .step_by(64 << 10)
                    .map(|at| Ok(body.slice(at..(at + (64 << 10)).min(body.len()))))
                    .collect();
                reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
            } else {
                reqwest::Body::from(body)
            };
            reqwest::Client::new()
                .post(url)
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .expect("the answer reaches the client")
        }
    };
    for _ in 0..10 {
        problem(
            send("video/mp4", over, false).await,
            413,
            "upload-too-large",
        )
        .await;
        problem(send("video/mp4", over, true).await, 413, "upload-too-large").await;
        let wrong_type = send("text/plain", under, false).await;
        problem(wrong_type, 415, "unsupported-content-type").await;
    }
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_video_is_accepted_then_fails_with_a_reason_and_its_file_is_removed() {
    let app = spawn_app().await;
    let id = app.upload_id(&fixture("truncated.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "failed");
    assert_eq!(video["error"]["code"], "corrupt-input");
    assert!(
        video["error"]["message"]
            .as_str()
            .unwrap()
            .contains("truncated"),
        "{video}"
    );
    assert!(video["playback_url"].is_null());
    app.assert_uploads_removed();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404_and_canceling_a_finished_video_is_409() {
    let app = spawn_app().await;
    let missing = app
        .get(&format!("/v1/videos/{}", uuid::Uuid::new_v4()))
        .await;
    problem(missing, 404, "video-not-found").await;
    let garbage = app.get("/v1/videos/not-a-uuid").await;
    problem(garbage, 400, "bad-path").await;
    let nowhere = app.get("/v2/anything").await;
    problem(nowhere, 404, "no-such-endpoint").await;

    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    app.convert(&id).await;
    let cancel = app.post(&format!("/v1/videos/{id}/cancel")).await;
    problem(cancel, 409, "already-finished").await;
    app.stop().await;
}

/// POSTs `bytes` with chunked encoding over a raw socket; returns the response's status line.
async fn stream_chunked(address: &str, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /v1/videos HTTP/1.1\r\nHost: {host}\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    for chunk in bytes.chunks(16 * 1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if socket.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A small tmpfs, unmounted when dropped: a disk that fills up.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// Needs root (CI and the development machines run as root).
    fn mount(dir: &std::path::Path, size: &str) -> SmallDisk {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root");
        let disk = SmallDisk(dir.to_path_buf());
        disk.assert_mounted();
        disk
    }

    /// Fails unless the small disk is still what `dir` holds (its size under 1 MiB): a test
    /// that wrote to the big disk beneath would prove nothing.
    fn assert_mounted(&self) {
        let df = std::process::Command::new("df")
            .args(["-B1", "--output=size"])
            .arg(&self.0)
            .output()
            .expect("df runs");
        let text = String::from_utf8_lossy(&df.stdout);
        let size: u64 = text
            .lines()
            .nth(1)
            .unwrap_or("")
            .trim()
            .parse()
            .unwrap_or(u64::MAX);
        assert!(
            size < 1 << 20,
            "the small disk at {} is gone: {text}",
            self.0.display()
        );
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gets_507_the_partial_file_is_removed_and_service_goes_on() {
    let disk_dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(disk_dir.path(), "160k");
    let app = spawn_app_with(|c| c.temp_dir = Some(disk_dir.path().to_path_buf())).await;

    // 229 KiB does not fit in 160 KiB.
    disk.assert_mounted();
    let response = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
    problem(response, 507, "disk-full").await;
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());

    // The space is back: a 38 KiB upload is taken and converted.
    assert_eq!(app.get("/healthz").await.status(), 200);
    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_upload_directory_gets_503_until_it_is_fixed() {
    let app = spawn_app().await;
    // The directory replaced by a file: nothing can be created in it.
    std::fs::remove_dir_all(&app.upload_dir).unwrap();
    std::fs::write(&app.upload_dir, b"in the way").unwrap();

    let response = app.upload_raw(&fixture("no_audio.mp4"), "video/mp4").await;
    problem(response, 503, "upload-storage-unavailable").await;
    assert_eq!(app.get("/healthz").await.status(), 200);

    std::fs::remove_file(&app.upload_dir).unwrap();
    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    app.stop().await;
}

/// A page size outside what the OpenAPI document allows (1 to 100) is refused, not clamped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_size_outside_the_documented_range_is_a_bad_query() {
    let app = spawn_app().await;
    for path in [
        "/v1/videos?limit=0",
        "/v1/videos?limit=101",
        "/v1/webhook-deliveries?limit=101",
        "/v1/webhook-deliveries?status=elsewhere",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert!(
            ["bad-query", "bad-status"].contains(&problem["code"].as_str().unwrap()),
            "{path}: {problem}"
        );
    }
    assert_eq!(app.get("/v1/videos?limit=100").await.status(), 200);
    app.stop().await;
}

/// What the OpenAPI document does not allow is refused as it says, and what it allows is
/// taken: unknown query parameters, an empty or malformed cursor, a `Last-Event-ID` that is
/// not an event id, JSON bodies with properties they do not name or strings over their
/// `maxLength`; a whole number written `219.0` is a whole number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_outside_the_document_are_refused_and_inside_it_are_taken() {
    let app = spawn_app().await;
    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    for (path, code) in [
        ("/v1/videos?colour=blue", "bad-query"),
        ("/v1/videos?cursor=", "bad-cursor"),
        (
            "/v1/videos?cursor=1_%7B0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b%7D",
            "bad-cursor",
        ),
        ("/v1/webhook-deliveries?colour=blue", "bad-query"),
        (
            "/v1/videos/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b/play/master.m3u8?expires=1",
            "bad-query",
        ),
    ] {
        problem(app.get(path).await, 400, code).await;
    }
    problem(
        app.client
            .post(app.url("/v1/videos?colour=blue"))
            .header("Content-Type", "video/mp4")
            .body(vec![0u8; 16])
            .send()
            .await
            .unwrap(),
        400,
        "bad-query",
    )
    .await;
    for last in ["-1", "null", "9223372036854775808", "1.5"] {
        let response = app
            .client
            .get(app.url(&format!("/v1/videos/{id}/events")))
            .header("Last-Event-ID", last)
            .send()
            .await
            .unwrap();
        problem(response, 400, "bad-last-event-id").await;
    }
    let post_json =
        |path: &str, body: serde_json::Value| app.client.post(app.url(path)).json(&body).send();
    for (path, body) in [
        (
            "/v1/videos",
            serde_json::json!({"url": "https://example.com/a.mp4", "colour": "blue"}),
        ),
        (
            "/v1/videos",
            serde_json::json!({"url": "https://example.com/a.mp4", "filename": "é".repeat(256)}),
        ),
        (
            "/v1/videos",
            serde_json::json!({"url": format!("https://example.com/{}", "é".repeat(4080))}),
        ),
        (
            "/v1/direct-uploads",
            serde_json::json!({"size": 1000, "colour": "blue"}),
        ),
        (
            "/v1/direct-uploads",
            serde_json::json!({"size": 1000, "filename": "a".repeat(256)}),
        ),
        ("/v1/direct-uploads", serde_json::json!({"size": 1000.5})),
    ] {
        let answer = post_json(path, body.clone()).await.unwrap();
        let code = if body["url"].as_str().is_some_and(|u| u.len() > 4096) {
            "bad-url"
        } else {
            "bad-json"
        };
        problem(answer, 400, code).await;
    }
    // At the limits, and a whole number written as a float.
    let longest =
        serde_json::json!({"url": "https://93.184.215.14/a.mp4", "filename": "é".repeat(255)});
    assert_eq!(
        post_json("/v1/videos", longest).await.unwrap().status(),
        202
    );
    let float = post_json("/v1/direct-uploads", serde_json::json!({"size": 219.0}))
        .await
        .unwrap();
    assert_eq!(float.status(), 201);
    let plan: serde_json::Value = float.json().await.unwrap();
    assert_eq!(plan["parts"][0]["bytes"], 219, "{plan}");
    app.stop().await;
}
