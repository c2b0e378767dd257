//! `spawn_app()`: a fresh database, bucket and temp dir, and the service on port 0, whose
//! background work (conversions, imports, the janitor) runs when the test says so
//! (`app.run_next_job()`, `app.convert(id)`, ...); `spawn_app_with_workers` for the end-to-end,
//! chaos and browser tests that need free-running workers. A test app removes its database
//! and bucket when it is dropped, also when its test fails.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hls_ladder_server::background::{BackgroundJobs, FreeRunning};
use secrecy::ExposeSecret;

use crate::synthetic_clip::Clip;
use hls_ladder::Preset;
use hls_ladder_server::config::{
    AccessConfig, ConversionConfig, JobsConfig, ServeConfig, StorageConfig,
};
use hls_ladder_server::server::Application;
use hls_ladder_server::units::ByteSize;
use serde_json::Value;
use uuid::Uuid;

/// Where PostgreSQL runs (trust auth); each test creates its own database there.
pub fn database_base_url() -> String {
    std::env::var("TEST_DATABASE_BASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The name of the database `config` uses (a test's own: `test_...`).
pub fn database_name(config: &ServeConfig) -> String {
    let url = config.database_url.expose();
    url.rsplit('/').next().unwrap().to_string()
}

/// LocalStack's S3 endpoint.
pub fn s3_endpoint() -> String {
    std::env::var("TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub config: ServeConfig,
    pub upload_dir: PathBuf,
    /// Runs the background work the app does not run by itself.
    pub jobs: BackgroundJobs,
    _temp: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// This app made its database and bucket, and removes them when dropped (a second
    /// process of the same service shares them and leaves them).
    owns_resources: bool,
}

/// The background work of an app whose test runs it: conversions, imports and the janitor wait
/// for the test; webhooks go out by themselves (their tests are end to end, with a receiver).
const ON_DEMAND: FreeRunning = FreeRunning {
    conversions: false,
    imports: false,
    janitor: false,
    webhooks: true,
};

/// A config for a fresh database and bucket, listening on port 0: the service's defaults,
/// with what a test needs changed (one worker, a fast ladder, short leases and limits).
pub fn test_config(temp: &Path) -> ServeConfig {
    let name = Uuid::new_v4().simple().to_string();
    let defaults = ServeConfig::defaults();
    ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("{}/test_{name}", database_base_url()).into(),
        db_connections: 8,
        storage: StorageConfig {
            s3_endpoint: Some(s3_endpoint()),
            s3_bucket: format!("test-{}", &name[..20]),
            aws_access_key_id: Some("test".into()),
            aws_secret_access_key: Some("test".into()),
            s3_retry_seconds: 30.0,
            ..defaults.storage.clone()
        },
        jobs: JobsConfig {
            workers: 1,
            lease_seconds: 3.0,
            shutdown_grace_seconds: 5,
            job_timeout_seconds: 600,
            ..defaults.jobs.clone()
        },
        conversion: ConversionConfig {
            segment_seconds: 2.0,
            preset: Preset::Ultrafast,
            ..defaults.conversion.clone()
        },
        access: AccessConfig {
            playback_link_seconds: 3600,
            ..defaults.access.clone()
        },
        upload_limit: ByteSize(64 << 20),
        temp_dir: Some(temp.to_path_buf()),
        probe_binary: Some(env!("CARGO_BIN_EXE_hls-ladder").into()),
        ..defaults
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let mut config = test_config(temp.path());
    adjust(&mut config);
    start_running(config, temp, ON_DEMAND).await
}

/// A service with `adjust`ed settings whose workers run by themselves, as in production: for
/// the end-to-end, chaos and browser tests.
pub async fn spawn_app_with_workers(adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let mut config = test_config(temp.path());
    adjust(&mut config);
    start(config, temp).await
}

/// A service with private playback: signed links, no public bucket, and the API key
/// `operator` for reads as for writes.
pub async fn spawn_private_app() -> TestApp {
    spawn_app_with(private_access).await
}

/// Private playback (signed links, no public bucket) and the API key `operator` for reads as
/// for writes.
pub fn private_access(c: &mut ServeConfig) {
    c.access.private_playback = true;
    c.access.playback_secret = Some("test-signing-secret-of-32-bytes!".into());
    c.access.api_keys = vec!["operator".into()];
    c.access.private_reads = true;
}

/// A second process of `app`'s service, in this test process: its database, its bucket and
/// its upload directory, with `workers` workers.
pub async fn another_process(app: &TestApp, workers: usize) -> TestApp {
    let temp = tempfile::tempdir().unwrap();
    let mut config = test_config(temp.path());
    config.database_url = app.config.database_url.clone();
    config.storage.s3_bucket = app.config.storage.s3_bucket.clone();
    config.temp_dir = app.config.temp_dir.clone();
    config.jobs.workers = workers;
    let mut process = start(config, temp).await;
    process.owns_resources = false;
    process
}

/// Starts a server with `config`, every background work running by itself (e.g. a second
/// server on another test's database).
pub async fn start(config: ServeConfig, temp: tempfile::TempDir) -> TestApp {
    start_running(config, temp, FreeRunning::all()).await
}

/// Starts a server with `config` that runs by itself only what `free_running` says.
pub async fn start_running(
    config: ServeConfig,
    temp: tempfile::TempDir,
    free_running: FreeRunning,
) -> TestApp {
    let app = Application::build(config.clone())
        .await
        .expect("the service starts")
        .with_free_running(free_running);
    run(app, config, temp)
}

/// Starts a server with `config` that publishes to `store` (an in-memory one, say) instead of
/// the configured bucket.
pub async fn start_with_store(
    config: ServeConfig,
    temp: tempfile::TempDir,
    store: std::sync::Arc<dyn hls_ladder_server::storage::ObjectStore>,
) -> TestApp {
    let app = Application::build_with_store(config.clone(), store)
        .await
        .expect("the service starts")
        .with_free_running(ON_DEMAND);
    run(app, config, temp)
}

fn run(app: Application, config: ServeConfig, temp: tempfile::TempDir) -> TestApp {
    let address = format!("http://{}", app.local_addr());
    let jobs = app.background_jobs();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let upload_dir = config.upload_dir();
    TestApp {
        address,
        // Never reuse a connection the server may be closing: it closes idle ones after
        // HEADER_TIMEOUT_SECONDS, and a request sent just then is reset.
        client: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs_f64(
                (config.edge.header_timeout_seconds / 2.0).max(0.5),
            ))
            .build()
            .unwrap(),
        config,
        upload_dir,
        jobs,
        _temp: temp,
        shutdown: Some(shutdown),
        server: Some(server),
        owns_resources: true,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Runs the next waiting conversion to its end, as a worker would; its video's id, or
    /// `None` when no job was waiting.
    pub async fn run_next_job(&self) -> Option<String> {
        let ran = self.jobs.run_next_job().await.expect("the queue answers");
        ran.map(|id| id.to_string())
    }

    /// Runs the waiting imports, then the waiting conversions, to their end (`id`'s among
    /// them), and returns the video `id`, which must have reached a final status.
    pub async fn convert(&self, id: &str) -> Value {
        while self.run_next_import().await.is_some() {}
        let ran = self
            .jobs
            .run_pending_jobs()
            .await
            .expect("the queue answers");
        let video = self.get_video(id).await;
        assert!(
            ["completed", "failed", "canceled"].contains(&video["status"].as_str().unwrap()),
            "ran {ran:?}, and {id} is not finished: {video}"
        );
        video
    }

    /// Starts the next waiting import in a task of its own, for a test that acts while it
    /// downloads (cancels it); the task ends with the import.
    pub fn start_next_import(&self) -> tokio::task::JoinHandle<Option<uuid::Uuid>> {
        let jobs = self.jobs.clone();
        tokio::spawn(async move { jobs.run_next_import().await.expect("the queue answers") })
    }

    /// Runs the next waiting import (download, probe, queue or fail), as the import pool
    /// would; its video's id, or `None` when no import was waiting.
    pub async fn run_next_import(&self) -> Option<String> {
        let ran = self
            .jobs
            .run_next_import()
            .await
            .expect("the queue answers");
        ran.map(|id| id.to_string())
    }

    /// Uploads a fixture as a raw body, on a connection of its own: the server answers a
    /// refused upload without reading all of it and closes that connection, which a pooled
    /// connection would then trip over.
    pub async fn upload_raw(&self, path: &Path, content_type: &str) -> reqwest::Response {
        self.upload_with_key(path, content_type, None).await
    }

    /// [`Self::upload_raw`], with `Authorization: Bearer KEY` when a key is given.
    pub async fn upload_with_key(
        &self,
        path: &Path,
        content_type: &str,
        key: Option<&str>,
    ) -> reqwest::Response {
        let bytes = tokio::fs::read(path).await.unwrap();
        let mut request = reqwest::Client::new()
            .post(self.url("/v1/videos"))
            .header("Content-Type", content_type)
            .body(bytes);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }

    /// Uploads a file as a raw `video/mp4` body (with the first API key when keys are
    /// configured), expects 201, and returns the video's id.
    pub async fn upload_id(&self, path: &Path) -> String {
        let key = self
            .config
            .access
            .api_keys
            .first()
            .map(|key| key.expose_secret());
        let response = self.upload_with_key(path, "video/mp4", key).await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        created["id"].as_str().unwrap().to_string()
    }

    /// Uploads a fixture as multipart field `file`.
    pub async fn upload_multipart(&self, path: &Path) -> reqwest::Response {
        let bytes = tokio::fs::read(path).await.unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name)
            .mime_str("video/mp4")
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("title", "ignored")
            .part("file", part);
        self.client
            .post(self.url("/v1/videos"))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// GET a path of the API.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// GET a path of the API with `Authorization: Bearer KEY`.
    pub async fn get_with_key(&self, path: &str, key: &str) -> reqwest::Response {
        let request = self.client.get(self.url(path)).bearer_auth(key);
        request.send().await.unwrap()
    }

    /// POST to a path of the API with no body (cancel, retry).
    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.client.post(self.url(path)).send().await.unwrap()
    }

    /// DELETE a path of the API.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    /// GET a path of the API and parse its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    /// GET a video, with the first API key when keys are configured.
    pub async fn get_video(&self, id: &str) -> Value {
        let path = format!("/v1/videos/{id}");
        let response = match self.config.access.api_keys.first() {
            Some(key) => self.get_with_key(&path, key.expose_secret()).await,
            None => self.get(&path).await,
        };
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Polls until the video reaches a final status (or `timeout`).
    pub async fn wait_until_finished(&self, id: &str, timeout: Duration) -> Value {
        self.wait_for(id, timeout, "finished", |video| {
            ["completed", "failed", "canceled"].contains(&video["status"].as_str().unwrap())
        })
        .await
    }

    /// Polls the video every 100 ms until `reached(video)`; fails after `timeout`, saying it
    /// was waiting for `what`.
    pub async fn wait_for(
        &self,
        id: &str,
        timeout: Duration,
        what: &str,
        reached: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let video = self.get_video(id).await;
            if reached(&video) {
                return video;
            }
            assert!(
                Instant::now() < deadline,
                "not {what} after {timeout:?}: {video}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Files left in the upload directory.
    pub fn uploads_left(&self) -> Vec<String> {
        std::fs::read_dir(&self.upload_dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts that the upload directory is empty (after the background work a test ran:
    /// a job removes its source before it returns).
    pub fn assert_uploads_removed(&self) {
        assert!(
            self.uploads_left().is_empty(),
            "uploads left: {:?}",
            self.uploads_left()
        );
    }

    /// Waits up to 10 s for the upload directory to be empty, and fails with what is left:
    /// with free-running workers, a worker removes a source just after it records the final
    /// status, so a client can see that status a moment before the file is gone.
    pub async fn wait_until_uploads_removed(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.uploads_left().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.assert_uploads_removed();
    }

    /// Stops the server gracefully, then removes its database and bucket (as dropping it
    /// does).
    pub async fn stop(mut self) {
        self.shut_down().await;
    }

    /// Stops the server gracefully, as SIGTERM does, and leaves its database and bucket (for
    /// a test that starts the service again on them; that one removes them).
    pub async fn stop_keeping_database(mut self) {
        self.owns_resources = false;
        self.shut_down().await;
    }

    async fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    /// Removes the app's database and bucket, also when its test failed (a panic unwinds
    /// through here): on a thread of its own, since the test's runtime may be gone. A server
    /// still running loses its connections (the database is dropped with FORCE).
    fn drop(&mut self) {
        if !self.owns_resources {
            return;
        }
        let database = self.config.database_url.expose().to_string();
        let bucket = self.config.storage.s3_bucket.clone();
        let removed = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the clean-up");
            runtime.block_on(async {
                drop_database(&database).await;
                remove_bucket(&bucket).await;
            });
        });
        let _ = removed.join();
    }
}

/// Removes a test's bucket and everything in it (LocalStack keeps buckets until it stops).
pub async fn remove_bucket(bucket: &str) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(s3_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(Ok(page)) = pages.next().await {
        for object in page.contents() {
            if let Some(key) = object.key() {
                let _ = s3.delete_object().bucket(bucket).key(key).send().await;
            }
        }
    }
    let mut uploads = s3.list_multipart_uploads().bucket(bucket).send().await.ok();
    for upload in uploads
        .take()
        .map(|u| u.uploads().to_vec())
        .unwrap_or_default()
    {
        if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
            let _ = s3
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(id)
                .send()
                .await;
        }
    }
    let _ = s3.delete_bucket().bucket(bucket).send().await;
}

/// A client of the test app's bucket, as the service has one.
pub async fn test_store(config: &ServeConfig) -> hls_ladder_server::storage::S3Store {
    use hls_ladder_server::storage::{S3Settings, S3Store};
    S3Store::new(&S3Settings {
        endpoint: Some(s3_endpoint()),
        bucket: config.storage.s3_bucket.clone(),
        region: "us-east-1".into(),
        path_style: true,
        public_url: None,
        credentials: Some(("test".into(), "test".into())),
        retry_for: Duration::from_secs(5),
    })
    .await
}

/// A clip long enough that its conversion is still running when the test acts on it: 20 s
/// of 720p at 30 fps with a 48 kHz tone, H.264 and AAC in MP4.
pub fn long_clip(dir: &Path) -> PathBuf {
    let clip = Clip {
        size: "1280x720",
        rate: "30",
        seconds: 20.0,
        audio: Some("sine=frequency=440:sample_rate=48000"),
        audio_seconds: None,
    };
    clip.make(
        &dir.join("long.mp4"),
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    )
}

/// Asserts that `response` is a problem+json document with this status and code; returns it.
pub async fn problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// Decodes a URL end to end with ffmpeg; returns (its warnings and errors, duration from
/// ffprobe): a clean output gives no warning at all.
pub fn decode_url(url: &str) -> (String, f64) {
    let output = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "warning", "-i", url, "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        output.status.success(),
        "ffmpeg failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .expect("ffprobe runs");
    let duration = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    (
        String::from_utf8_lossy(&output.stderr).into_owned(),
        duration,
    )
}

/// Drops a test's database once its server stopped, so test runs leave nothing behind.
pub async fn drop_database(url: &str) {
    use sqlx::Connection;
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    let admin = format!("{}/postgres", database_base_url());
    if let Ok(mut connection) = sqlx::PgConnection::connect(&admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut connection)
            .await;
    }
}

/// The code block in `language` that follows `<!-- MARKER -->` in the page `page` (a path
/// from the repository's root, e.g. `docs/uploads.md`): the docs' examples, run by the tests
/// as written.
pub fn doc_block(page: &str, marker: &str, language: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(page);
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(&format!("<!-- {marker} -->"))
        .unwrap_or_else(|| panic!("{page} marks no `{marker}`"));
    let block = &text[start..];
    let fence = format!("```{language}\n");
    let block = &block[block.find(&fence).unwrap() + fence.len()..];
    block[..block.find("```").unwrap()].to_string()
}

/// Runs the shell session marked `<!-- MARKER -->` in `page` as written, with bash, against
/// `app` and `file` (the session starts by setting `BASE` and `FILE`); the JSON of its last
/// output line, which must be a video.
pub async fn run_doc_session(app: &TestApp, page: &str, marker: &str, file: &Path) -> Value {
    let block = doc_block(page, marker, "sh");
    let script = block.replace(
        "BASE=http://127.0.0.1:8080 FILE=clip.mp4",
        &format!("BASE={} FILE={}", app.address, file.display()),
    );
    assert_ne!(script, block, "the session starts by setting BASE and FILE");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    last_json_line(&output)
}

/// A command's output: it must have succeeded, and its last line is JSON.
fn last_json_line(output: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Runs the browser test `tests/browser/{script}` with Node (playwright-core driving Debian's
/// Chromium) and `env`; it must succeed. Its result: the JSON of its last output line.
pub async fn run_browser_script(script: &str, env: Vec<(&'static str, String)>) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .envs(env)
            .output()
            .expect("node runs (`make web` installs playwright-core)")
    })
    .await
    .unwrap();
    last_json_line(&output)
}
