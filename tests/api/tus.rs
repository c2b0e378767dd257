//! Resumable uploads with the tus 1.0.0 protocol at `/v1/uploads`, spoken by hand here (the
//! protocol's own examples): discovery, creation, an upload cut mid-way and resumed at the
//! offset the server kept, on another API process too, termination, and each refusal.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use reqwest::{Client, StatusCode};

use crate::helpers::{TestApp, another_process, long_clip, problem, spawn_app_with};

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Creates an upload of `length` bytes; returns its URL.
async fn create(app: &TestApp, client: &Client, length: usize) -> String {
    let answer = client
        .post(app.url("/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header(
            "Upload-Metadata",
            format!("filename {},is_confidential", b64("clip.mp4")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        StatusCode::CREATED,
        "{:?}",
        answer.text().await
    );
    assert_eq!(answer.headers()["tus-resumable"], "1.0.0");
    assert!(answer.headers().contains_key("upload-expires"));
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/v1/uploads/"), "{location}");
    app.url(location)
}

/// The offset HEAD gives.
async fn offset(client: &Client, url: &str) -> u64 {
    let answer = client
        .head(url)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    answer.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// PATCHes `bytes` at `at`; with `cut`, the body breaks off after them, as a dropped
/// connection does.
async fn patch(
    client: &Client,
    url: &str,
    at: u64,
    bytes: Vec<u8>,
    cut: bool,
) -> Option<reqwest::Response> {
    let mut pieces: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(256 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    if cut {
        pieces.push(Err(std::io::Error::other("the train went into a tunnel")));
    }
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(pieces));
    client
        .patch(url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", at.to_string())
        .body(body)
        .send()
        .await
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_mid_way_resumes_at_its_offset_on_another_process_and_converts() {
    let app = spawn_app_with(|_| {}).await;
    let other = another_process(&app, 0).await;
    let temp = tempfile::tempdir().unwrap();
    let file = std::fs::read(long_clip(temp.path())).unwrap();
    assert!(
        file.len() > 2 * 8 * 1024 * 1024,
        "the clip spans parts: {}",
        file.len()
    );
    let client = Client::new();

    // Discovery, without an API key or Tus-Resumable.
    let options = client
        .request(reqwest::Method::OPTIONS, app.url("/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(options.headers()["tus-version"], "1.0.0");
    let extensions = options.headers()["tus-extension"].to_str().unwrap();
    for extension in [
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
    ] {
        assert!(
            extensions.split(',').any(|e| e == extension),
            "{extensions}"
        );
    }
    assert!(options.headers().contains_key("tus-max-size"));

    let url = create(&app, &client, file.len()).await;
    assert_eq!(offset(&client, &url).await, 0);
    // The first 11 MiB and a bit, then the connection drops.
    let cut = 11 * 1024 * 1024 + 12_345;
    patch(&client, &url, 0, file[..cut].to_vec(), true).await;
    // The server kept what arrived (all of it, or what it had when it saw the break).
    let kept = {
        // The part is recorded as it is stored, the rest when the server sees the break.
        let mut kept = 0;
        for _ in 0..100 {
            kept = offset(&client, &url).await;
            if kept > 8 * 1024 * 1024 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        kept
    };
    assert!(
        kept > 8 * 1024 * 1024 && kept <= cut as u64,
        "kept {kept} of {cut}"
    );
    let id = url.rsplit('/').next().unwrap().to_string();
    // Not a video yet: the video to be says how far its upload got, on any API process.
    for process in [&app, &other] {
        let uploading = process.get_json(&format!("/v1/videos/{id}")).await;
        assert_eq!(uploading["status"], "uploading", "{uploading}");
        assert_eq!(uploading["upload"]["bytes_received"], kept, "{uploading}");
        assert_eq!(
            uploading["upload"]["bytes_expected"],
            file.len(),
            "{uploading}"
        );
        assert_eq!(
            uploading["upload"]["upload_url"],
            format!("/v1/uploads/{id}")
        );
        assert_eq!(uploading["source_bytes"], kept);
        assert_eq!(uploading["original_filename"], "clip.mp4");
        assert!(uploading["source"].is_null() && uploading["playback_url"].is_null());
    }

    // Resumed on the other API process, from the offset it gives.
    let other_url = other.url(&format!("/v1/uploads/{id}"));
    assert_eq!(offset(&client, &other_url).await, kept);
    // A PATCH at any other offset is refused and changes nothing.
    let wrong = patch(&client, &other_url, 0, file[..10].to_vec(), false)
        .await
        .unwrap();
    problem(wrong, 409, "upload-offset-mismatch").await;
    let done = patch(
        &client,
        &other_url,
        kept,
        file[kept as usize..].to_vec(),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        done.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        done.text().await
    );
    assert_eq!(
        done.headers()["upload-offset"],
        file.len().to_string().as_str()
    );
    assert_eq!(offset(&client, &url).await, file.len() as u64);
    // The last request sent again (its answer lost): nothing to do; elsewhere, a conflict.
    let again = patch(&client, &url, file.len() as u64, Vec::new(), false)
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        again.headers()["upload-offset"],
        file.len().to_string().as_str()
    );
    let behind = patch(&client, &url, 5, vec![1], false).await.unwrap();
    problem(behind, 409, "upload-offset-mismatch").await;

    // It is the video with the upload's id, whole, and it converts.
    let video = app.get_json(&format!("/v1/videos/{id}")).await;
    assert_eq!(video["original_filename"], "clip.mp4");
    assert_eq!(video["source_bytes"], file.len());
    let finished = app.convert(&id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    other.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_refusals_follow_the_protocol() {
    let app =
        spawn_app_with(|c| c.upload_limit = hls_ladder_server::units::ByteSize(1_000_000)).await;
    let client = Client::new();
    let post = |length: &str, version: Option<&str>| {
        let mut request = client
            .post(app.url("/v1/uploads"))
            .header("Upload-Length", length.to_string());
        if let Some(version) = version {
            request = request.header("Tus-Resumable", version);
        }
        request.send()
    };
    // Another protocol version: 412 with the version spoken.
    let old = post("10", Some("0.2.2")).await.unwrap();
    assert_eq!(old.headers()["tus-version"], "1.0.0");
    problem(old, 412, "tus-version-unsupported").await;
    // Over the size limit: 413, before a byte is sent.
    problem(
        post("1000001", Some("1.0.0")).await.unwrap(),
        413,
        "upload-too-large",
    )
    .await;
    problem(
        post("x", Some("1.0.0")).await.unwrap(),
        400,
        "bad-tus-header",
    )
    .await;
    problem(post("0", Some("1.0.0")).await.unwrap(), 400, "empty-upload").await;

    let url = create(&app, &client, 1000).await;
    // Bytes must come as application/offset+octet-stream.
    let wrong_type = client
        .patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/octet-stream")
        .header("Upload-Offset", "0")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    problem(wrong_type, 415, "unsupported-content-type").await;
    // More than the length: refused past it.
    let long = patch(&client, &url, 0, vec![1u8; 1500], false)
        .await
        .unwrap();
    problem(long, 413, "upload-too-large").await;

    // Termination: gone, and so are its bytes.
    let second = create(&app, &client, 1000).await;
    patch(&client, &second, 0, vec![2u8; 100], false)
        .await
        .unwrap();
    let deleted = client
        .delete(&second)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = client
        .head(&second)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert!(!gone.headers().contains_key("upload-offset"));
    let id = second.rsplit('/').next().unwrap();
    problem(
        app.get(&format!("/v1/videos/{id}")).await,
        404,
        "video-not-found",
    )
    .await;
    let store = crate::helpers::test_store(&app.config).await;
    use hls_ladder_server::storage::ObjectStore;
    assert!(
        store
            .list(&format!("sources/{id}"))
            .await
            .unwrap()
            .is_empty()
    );
    let after = patch(&client, &second, 100, vec![2u8; 10], false)
        .await
        .unwrap();
    problem(after, 404, "upload-not-found").await;

    // An expired upload is gone too, and the janitor removes its bytes from the bucket.
    let third = create(&app, &client, 1000).await;
    patch(&client, &third, 0, vec![3u8; 100], false)
        .await
        .unwrap();
    let third_id = uuid::Uuid::parse_str(third.rsplit('/').next().unwrap()).unwrap();
    assert!(
        !store
            .list(&format!("sources/{third_id}"))
            .await
            .unwrap()
            .is_empty()
    );
    let pool = sqlx::PgPool::connect(app.config.database_url.expose())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE resumable_uploads SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(third_id)
    .execute(&pool)
    .await
    .unwrap();
    let expired = patch(&client, &third, 100, vec![3u8; 10], false)
        .await
        .unwrap();
    problem(expired, 404, "upload-not-found").await;
    let uploads =
        hls_ladder_server::uploads::Uploads::new(std::env::temp_dir(), std::sync::Arc::new(store));
    let removed = hls_ladder_server::jobs::janitor::sweep_expired_uploads(&pool, &uploads)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let store = uploads.store();
    assert!(
        store
            .list(&format!("sources/{third_id}"))
            .await
            .unwrap()
            .is_empty()
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM resumable_uploads WHERE id = $1")
        .bind(third_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    app.stop().await;
}

/// The README's curl session, run as written against the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_curl_session_uploads_in_two_parts() {
    let app = spawn_app_with(|_| {}).await;
    // Larger than the MiB the session sends first.
    let temp = tempfile::tempdir().unwrap();
    let file = long_clip(temp.path());
    let video: serde_json::Value =
        crate::helpers::run_doc_session(&app, "docs/uploads.md", "tus-session", &file).await;
    assert_eq!(video["original_filename"], "long.mp4", "{video}");
    assert_eq!(
        video["source_bytes"],
        std::fs::metadata(&file).unwrap().len()
    );
    let id = video["id"].as_str().unwrap().to_string();
    let finished = app.convert(&id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    app.stop().await;
}

/// tus-js-client, a client nobody here wrote, in Node (`tests/browser/tus_upload.mjs`): its
/// connection is cut after 4 MiB; it finds the offset again and goes on from there, not from
/// zero, and the video converts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_resumes_after_a_cut_connection_from_its_offset() {
    use tokio::io::AsyncBufReadExt;
    let key = "tus-test-key";
    let app = spawn_app_with(|c| c.access.api_keys = vec![key.into()]).await;
    let target: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let proxy = crate::tcp_proxy::TcpProxy::start(target).await;
    let temp = tempfile::tempdir().unwrap();
    let clip = long_clip(temp.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/tus_upload.mjs");
    let mut node = tokio::process::Command::new("node")
        .arg(script)
        .env("BASE_URL", proxy.url())
        .env("FILE", &clip)
        .env("API_KEY", key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs (make deps installs it, and `make web` tus-js-client)");
    let mut lines = tokio::io::BufReader::new(node.stdout.take().unwrap()).lines();
    let mut summary = None;
    let mut cut_at = None;
    while let Some(line) = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("tus_upload.mjs went quiet")
        .unwrap()
    {
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(at) = value["cut"].as_u64() {
            // The connection drops, and stays down for a while.
            proxy.cut();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            proxy.restore();
            cut_at = Some(at);
        } else {
            summary = Some(value);
        }
    }
    let output = node.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    let cut_at = cut_at.expect("the upload announced its cut");
    eprintln!("tus-js-client: {summary}");
    // It was cut, retried, asked where to go on, and went on from there.
    assert!(
        !summary["retried"].as_array().unwrap().is_empty(),
        "{summary}"
    );
    assert!(summary["heads"].as_u64().unwrap() >= 1, "{summary}");
    let offsets: Vec<u64> = summary["patch_offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_u64().unwrap())
        .collect();
    assert_eq!(offsets[0], 0, "{summary}");
    assert!(
        offsets[1..].iter().all(|&o| o > 0),
        "restarted from zero: {summary}"
    );
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{summary}");
    assert!(
        offsets.iter().filter(|&&o| o == cut_at).count() >= 2,
        "{summary}"
    );
    assert!(proxy.refused() >= 1, "the cut turned a request away");

    let id = summary["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let read = || async {
        let answer = app.get_with_key(&format!("/v1/videos/{id}"), key).await;
        answer.json::<serde_json::Value>().await.unwrap()
    };
    let video = read().await;
    assert_eq!(video["source_bytes"], summary["size"], "{video}");
    assert_eq!(video["original_filename"], "long.mp4");
    app.run_next_job().await;
    let video = read().await;
    assert_eq!(video["status"], "completed", "{video}");
    app.stop().await;
}

/// With `--role api`, a whole upload is left in the bucket for the workers (where its parts
/// were joined): the API node keeps no file, and a worker elsewhere converts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_api_node_a_whole_upload_stays_in_the_bucket_for_the_workers() {
    use hls_ladder_server::config::Role;
    use hls_ladder_server::storage::ObjectStore;
    let app = spawn_app_with(|c| c.role = Role::Api).await;
    let client = Client::new();
    let file = std::fs::read(crate::helpers::fixture("h264_aac.mp4")).unwrap();
    let url = create(&app, &client, file.len()).await;
    let done = patch(&client, &url, 0, file.clone(), false).await.unwrap();
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let id = url.rsplit('/').next().unwrap().to_string();
    let store = crate::helpers::test_store(&app.config).await;
    let staged = store.get_bytes(&format!("sources/{id}")).await.unwrap();
    assert_eq!(
        staged.as_deref(),
        Some(&file[..]),
        "the upload joined whole"
    );
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());

    // Converted as a worker on another machine would: from the staged upload in the bucket.
    let finished = app.convert(&id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    app.stop().await;
}

/// A slow request keeps its hold on the upload while its body comes, though it stores no
/// part: no other request could take it over meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_renews_its_hold_while_its_body_comes() {
    let app = spawn_app_with(|_| {}).await;
    let client = Client::new();
    let url = create(&app, &client, 1_000_000).await;
    let id = uuid::Uuid::parse_str(url.rsplit('/').next().unwrap()).unwrap();
    // 1 KiB every half second for 12 s: far below a part.
    use futures_util::StreamExt;
    let body = futures_util::stream::iter(0..24).then(|_| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok::<_, std::io::Error>(Bytes::from(vec![7u8; 1024]))
    });
    let sending = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move {
            client
                .patch(&url)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", "0")
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
                .unwrap()
        }
    });
    let pool = sqlx::PgPool::connect(app.config.database_url.expose())
        .await
        .unwrap();
    let seen = || async {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "SELECT writer_seen_at FROM resumable_uploads WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let early = seen().await.expect("the request holds the upload");
    // Meanwhile another request waits for it to let go (5 s, HOLD_WAIT), then is turned away.
    let other = patch(&client, &url, 0, vec![1u8; 10], false).await.unwrap();
    problem(other, 423, "upload-busy").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let late = seen().await.expect("the request still holds the upload");
    assert!(
        late - early >= chrono::Duration::seconds(4),
        "the hold was not renewed: {early} then {late}"
    );
    let done = sending.await.unwrap();
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(done.headers()["upload-offset"], "24576");
    app.stop().await;
}

/// A request that finds the upload held by another (a client reconnecting while its previous
/// request still finishes) waits for it to let go, then goes on from where it left off: no
/// `423`, and no body sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_finds_the_upload_held_waits_for_it_to_let_go() {
    let app = spawn_app_with(|_| {}).await;
    let client = Client::new();
    // Longer than both requests send: whole, it would become a video (and be refused).
    let url = create(&app, &client, 8192).await;
    // The first request: 3 KiB over a second and a half.
    use futures_util::StreamExt;
    let slow_body = futures_util::stream::iter(0..3).then(|_| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok::<_, std::io::Error>(Bytes::from(vec![7u8; 1024]))
    });
    let first = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .patch(&url)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", "0")
                .body(reqwest::Body::wrap_stream(slow_body))
                .send()
                .await
                .unwrap()
        }
    });
    // The second, sent while the first holds the upload, at the offset the first will leave.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = patch(&client, &url, 3072, vec![8u8; 1024], false)
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::NO_CONTENT);
    assert_eq!(second.headers()["upload-offset"], "4096");
    let first = first.await.unwrap();
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(first.headers()["upload-offset"], "3072");
    app.stop().await;
}

/// tus-py-client (tuspy from PyPI, `tests/clients/tuspy_upload.py`): stopped half-way, a second
/// uploader finds the upload again in its URL storage and finishes it from the service's
/// offset; the video converts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_py_client_stops_half_way_and_a_second_uploader_finishes_it() {
    let key = "tuspy-test-key";
    let app = spawn_app_with(|c| c.access.api_keys = vec![key.into()]).await;
    let temp = tempfile::tempdir().unwrap();
    let clip = long_clip(temp.path());
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv-test/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/tuspy_upload.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("BASE_URL", &app.address)
        .env("FILE", &clip)
        .env("API_KEY", key)
        .output()
        .await
        .expect("the test venv has tuspy (scripts/install-deps.sh --test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let size = std::fs::metadata(&clip).unwrap().len();
    let stopped = summary["stopped_at"].as_u64().unwrap();
    assert!(stopped > 0 && stopped < size, "{summary}");
    assert_eq!(summary["resumed_from"], stopped, "{summary}");
    assert_eq!(summary["offset"], size, "{summary}");
    let id = summary["url"].as_str().unwrap().rsplit('/').next().unwrap();
    let finished = app.convert(id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["source_bytes"], size);
    assert_eq!(finished["original_filename"], "long.mp4");
    app.stop().await;
}
