//! Imports from a URL: `POST /v1/videos` with `{"url": ...}` downloads the file in the
//! background, probes it as any upload and converts it; what may be fetched (no private
//! network, re-checked after redirects and on the resolved addresses), the limits (size,
//! idle and total time, redirects), cancel, retry, and an import that outlives its node.

use std::time::{Duration, Instant};

use hls_ladder_server::config::Role;
use serde_json::{Value, json};

use crate::file_server::FileServer;
use crate::helpers::{TestApp, fixture, problem, spawn_app_with, spawn_app_with_workers};

async fn import(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/videos"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Imports `url`, expects 202 `importing`, returns the video's id.
async fn import_id(app: &TestApp, url: &str) -> String {
    let response = import(app, json!({ "url": url })).await;
    assert_eq!(response.status(), 202);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/v1/videos/")
    );
    let video: Value = response.json().await.unwrap();
    assert_eq!(video["status"], "importing", "{video}");
    assert!(video["source"].is_null());
    video["id"].as_str().unwrap().to_string()
}

async fn clip_server() -> FileServer {
    FileServer::start(std::fs::read(fixture("h264_aac.mp4")).unwrap()).await
}

/// A service that may fetch from loopback (as a private deployment would set it).
async fn allowing_loopback(
    adjust: impl FnOnce(&mut hls_ladder_server::config::ServeConfig),
) -> TestApp {
    spawn_app_with(|c| {
        c.imports.import_allow_private = true;
        adjust(c);
    })
    .await
}

/// A client retrying an import with its `Idempotency-Key` gets the same answer: `202`, the
/// same video, marked as a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_import_answers_as_the_first_time() {
    let server = clip_server().await;
    let app = allowing_loopback(|_| {}).await;
    let request = || {
        app.client
            .post(app.url("/v1/videos"))
            .header("Idempotency-Key", "import-once")
            .json(&json!({ "url": server.url("/file.mp4") }))
            .send()
    };
    let first = request().await.unwrap();
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = request().await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let listed = app.get_json("/v1/videos").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    app.stop().await;
}

async fn failure_of(app: &TestApp, id: &str) -> (String, String) {
    let video = app.convert(id).await;
    assert_eq!(video["status"], "failed", "{video}");
    (
        video["error"]["code"].as_str().unwrap().to_string(),
        video["error"]["message"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_imported_from_a_url_is_downloaded_probed_and_converted() {
    let server = clip_server().await;
    let app = allowing_loopback(|_| {}).await;
    for path in ["/file.mp4", "/chunked.mp4", "/hops/3"] {
        let id = import_id(&app, &server.url(path)).await;
        let video = app.convert(&id).await;
        assert_eq!(video["status"], "completed", "{path}: {video}");
        let size = std::fs::metadata(fixture("h264_aac.mp4")).unwrap().len();
        assert_eq!(video["source_bytes"], size, "{path}");
        assert_eq!(video["source"]["video_codec"], "h264");
        assert!(video["playback_url"].as_str().is_some());
    }
    // The name shown is the URL's last segment unless the client gives one.
    let named = import(
        &app,
        json!({"url": server.url("/file.mp4"), "filename": "../holiday.mp4"}),
    )
    .await;
    let named: Value = named.json().await.unwrap();
    let id = named["id"].as_str().unwrap();
    assert_eq!(named["original_filename"], "holiday.mp4");
    let video = app.convert(id).await;
    assert_eq!(video["original_filename"], "holiday.mp4");
    assert_eq!(video["status"], "completed");
    app.assert_uploads_removed();
    app.stop().await;
}

#[tokio::test]
async fn urls_that_cannot_be_fetched_are_refused_at_once() {
    let app = spawn_app_with(|_| {}).await;
    for (url, code) in [
        ("ftp://example.com/video.mp4", "url-not-allowed"),
        ("file:///etc/passwd", "url-not-allowed"),
        ("gopher://example.com/", "url-not-allowed"),
        ("https://user:pass@example.com/v.mp4", "url-not-allowed"),
        ("http://127.0.0.1:8080/v.mp4", "url-not-allowed"),
        ("http://[::1]/v.mp4", "url-not-allowed"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "url-not-allowed",
        ),
        (
            "http://[fd00:ec2::254]/latest/meta-data/",
            "url-not-allowed",
        ),
        ("http://10.0.0.1/v.mp4", "url-not-allowed"),
        ("http://2130706433/v.mp4", "url-not-allowed"),
        ("not a url", "bad-url"),
        ("/relative/path.mp4", "bad-url"),
    ] {
        let status = if code == "bad-url" { 400 } else { 422 };
        let body = problem(import(&app, json!({ "url": url })).await, status, code).await;
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{url}");
    }
    let too_long = format!("https://example.com/{}", "a".repeat(5000));
    problem(
        import(&app, json!({ "url": too_long })).await,
        400,
        "bad-url",
    )
    .await;
    for body in ["{}", "[]", "{\"url\": 5}", "not json"] {
        let response = app
            .client
            .post(app.url("/v1/videos"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        problem(response, 400, "bad-json").await;
    }
    // Nothing was recorded.
    let list = app.get_json("/v1/videos").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_resolves_to_a_private_address_is_never_connected_to() {
    let server = clip_server().await;
    // The default: public addresses only. `localhost` is a name (so it is accepted at
    // first), but it resolves to loopback only.
    let app = spawn_app_with(|_| {}).await;
    let url = format!("http://localhost:{}/file.mp4", server.address.port());
    let id = import_id(&app, &url).await;
    let (code, message) = failure_of(&app, &id).await;
    assert_eq!(code, "url-not-allowed", "{message}");
    assert!(message.contains("localhost"), "{message}");
    assert_eq!(server.requests(), 0, "the server was never asked");
    app.assert_uploads_removed();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_private_address_is_refused() {
    let server = clip_server().await;
    // 127.0.0.1 is allowed as an internal media server would be; no other private address.
    let app = spawn_app_with(|c| {
        c.imports.import_allow_addresses = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let port = server.address.port();
    for target in [
        format!("http://127.0.0.2:{port}/file.mp4"),
        format!("http://[::1]:{port}/file.mp4"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "file:///etc/passwd".to_string(),
    ] {
        let before = server.requests();
        let url = format!("{}?to={}", server.url("/redirect"), urlencode(&target));
        let id = import_id(&app, &url).await;
        let (code, message) = failure_of(&app, &id).await;
        assert_eq!(code, "url-not-allowed", "{target}: {message}");
        assert!(message.contains("redirect"), "{message}");
        assert_eq!(
            server.requests(),
            before + 1,
            "only the redirect was asked for"
        );
    }
    // The allowed address itself imports.
    let id = import_id(&app, &server.url("/file.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An import that fails, and what it left behind: nothing.
async fn failed_import(app: &TestApp, url: &str) -> (String, String) {
    let id = import_id(app, url).await;
    let failure = failure_of(app, &id).await;
    app.assert_uploads_removed();
    failure
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_larger_than_the_upload_limit_fails_by_its_length_or_by_what_arrives() {
    let server = clip_server().await;
    let size = std::fs::metadata(fixture("h264_aac.mp4")).unwrap().len();
    let limit = hls_ladder_server::units::ByteSize(size - 1);
    let app = allowing_loopback(|c| c.upload_limit = limit).await;
    // By its Content-Length, and by what arrives (chunked, no length).
    for path in ["/file.mp4", "/chunked.mp4"] {
        let (code, message) = failed_import(&app, &server.url(path)).await;
        assert_eq!(code, "import-too-large", "{path}: {message}");
        assert!(message.contains(&(size - 1).to_string()), "{message}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_server_goes_quiet_fails_on_the_idle_limit() {
    let server = clip_server().await;
    let app = allowing_loopback(|c| c.imports.import_idle_seconds = 1.0).await;
    let (code, message) = failed_import(&app, &server.url("/stall.mp4")).await;
    assert_eq!(code, "import-timeout", "{message}");
    // The idle limit cut it, not the total time (an hour by default).
    assert!(message.contains("IMPORT_IDLE_SECONDS"), "{message}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_past_its_redirect_limit_fails() {
    let server = clip_server().await;
    let app = allowing_loopback(|c| c.imports.import_max_redirects = 2).await;
    let (code, message) = failed_import(&app, &server.url("/hops/3")).await;
    assert_eq!(code, "import-failed", "{message}");
    assert!(message.contains("redirect"), "{message}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_the_remote_server_refuses_fails_naming_its_answer_but_not_the_query() {
    let server = clip_server().await;
    let app = allowing_loopback(|_| {}).await;
    // The remote server's own refusal, named; the URL's query (a token, say) is not repeated.
    let url = server.url("/status/404?signature=s3cr3t");
    let (code, message) = failed_import(&app, &url).await;
    assert_eq!(code, "import-failed");
    assert!(
        message.contains("404") && message.contains("/status/404"),
        "{message}"
    );
    assert!(!message.contains("s3cr3t"), "{message}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_from_where_nothing_listens_fails_without_its_query() {
    let app = allowing_loopback(|_| {}).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/v.mp4?signature=s3cr3t");
    let (code, message) = failed_import(&app, &url).await;
    assert_eq!(code, "import-failed");
    assert!(!message.contains("s3cr3t"), "{message}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_slower_than_its_total_time_fails_and_leaves_nothing() {
    let server = clip_server().await;
    let app = allowing_loopback(|c| c.imports.import_timeout_seconds = 2).await;
    // Never idle for long, but 8 s in all.
    let id = import_id(&app, &server.url("/slow.mp4?seconds=8")).await;
    let (code, message) = failure_of(&app, &id).await;
    assert_eq!(code, "import-timeout", "{message}");
    assert!(message.contains("IMPORT_TIMEOUT_SECONDS"), "{message}");
    app.assert_uploads_removed();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_video_fails_as_an_upload_would() {
    let server = FileServer::start(b"<html>not a video</html>".repeat(100)).await;
    let app = allowing_loopback(|_| {}).await;
    let id = import_id(&app, &server.url("/file.mp4")).await;
    let (code, message) = failure_of(&app, &id).await;
    assert_eq!(code, "not-a-video", "{message}");
    app.assert_uploads_removed();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_can_be_canceled_while_it_downloads_and_a_failed_one_retried() {
    let server = clip_server().await;
    let app = allowing_loopback(|_| {}).await;
    let id = import_id(&app, &server.url("/slow.mp4?seconds=30")).await;
    let import = app.start_next_import();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests() == 0 {
        assert!(Instant::now() < deadline, "the download did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let canceled = app.post(&format!("/v1/videos/{id}/cancel")).await;
    assert_eq!(canceled.status(), 202);
    let video: Value = canceled.json().await.unwrap();
    assert_eq!(video["status"], "canceled");
    // The download stops within a lease renewal (a second here).
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.cut_short() == 0 {
        assert!(
            Instant::now() < deadline,
            "the download went on after the cancel"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    import.await.unwrap();
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());

    // A remote failure, then a retry once the remote server is fixed.
    server.fail_next(1);
    let id = import_id(&app, &server.url("/flaky.mp4")).await;
    let (code, _) = failure_of(&app, &id).await;
    assert_eq!(code, "import-failed");
    let retried = app.post(&format!("/v1/videos/{id}/retry")).await;
    assert_eq!(retried.status(), 202);
    let video: Value = retried.json().await.unwrap();
    assert_eq!(video["status"], "importing");
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed", "{video}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_on_an_api_node_that_dies_is_downloaded_again_by_the_next_one() {
    use crate::workers::{WorkerProcess, spawn_serve_with};
    let server = clip_server().await;
    // This process only converts, by itself; the imports are the API processes' work.
    let app = spawn_app_with_workers(|c| c.role = Role::Worker).await;
    let temp = tempfile::tempdir().unwrap();
    let (mut first, first_url) = api_process(&app, temp.path());
    let first_app = ApiClient(first_url);
    let id = first_app.import(&server.url("/slow.mp4?seconds=6")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests() == 0 {
        assert!(Instant::now() < deadline, "the download did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    // Another API process (or the same one restarted) takes it over once its lease runs out.
    let (second, second_url) = api_process(&app, temp.path());
    let second_app = ApiClient(second_url);
    let deadline = Instant::now() + Duration::from_secs(120);
    let video = loop {
        let video = second_app.get(&id).await;
        if ["completed", "failed", "canceled"].contains(&video["status"].as_str().unwrap_or("")) {
            break video;
        }
        assert!(Instant::now() < deadline, "not finished: {video}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(video["status"], "completed", "{video}");
    assert!(video["playback_url"].is_string());
    assert_eq!(server.requests(), 2, "downloaded again from the start");
    drop(second);
    app.stop().await;

    /// `hls-ladder serve --role api` allowed to import from loopback, on a free port.
    fn api_process(app: &TestApp, temp: &std::path::Path) -> (WorkerProcess, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let child = spawn_serve_with(
            app,
            "api",
            temp,
            &[("IMPORT_ALLOW_PRIVATE", "true"), ("LISTEN", &listen)],
        );
        (WorkerProcess::new(child), format!("http://{listen}"))
    }
}

/// A client of a service in another process.
struct ApiClient(String);

impl ApiClient {
    async fn import(&self, url: &str) -> String {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let sent = client
                .post(format!("{}/v1/videos", self.0))
                .json(&json!({ "url": url }))
                .send()
                .await;
            if let Ok(response) = sent {
                assert_eq!(response.status(), 202);
                let video: Value = response.json().await.unwrap();
                return video["id"].as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "the API process did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The video; `null` while the process is not answering yet.
    async fn get(&self, id: &str) -> Value {
        let url = format!("{}/v1/videos/{id}", self.0);
        match reqwest::get(url).await {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_downloads_died_with_their_nodes_too_often_fails() {
    let server = clip_server().await;
    let app = allowing_loopback(|_| {}).await;
    // As if three nodes had each claimed it and died mid-download.
    let id = uuid::Uuid::now_v7();
    let pool = sqlx::PgPool::connect(app.config.database_url.expose())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO videos (id, status, source_bytes, import_url, import_attempts)
         VALUES ($1, 'importing', 0, $2, $3)",
    )
    .bind(id)
    .bind(server.url("/file.mp4"))
    .bind(hls_ladder_server::db::imports::MAX_IMPORT_ATTEMPTS)
    .execute(&pool)
    .await
    .unwrap();
    let (code, message) = failure_of(&app, &id.to_string()).await;
    assert_eq!(code, "import-failed");
    assert!(message.contains("interrupted 3 times"), "{message}");
    assert_eq!(server.requests(), 0, "not downloaded a fourth time");
    // A retry gives it fresh attempts.
    let retried = app.post(&format!("/v1/videos/{id}/retry")).await;
    assert_eq!(retried.status(), 202);
    let video = app.convert(&id.to_string()).await;
    assert_eq!(video["status"], "completed", "{video}");
    pool.close().await;
    app.stop().await;
}
