//! Secrets never reach the logs or the answers: a full run of the real binary at debug level,
//! then a search of everything it wrote.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{TestApp, drop_database, fixture, spawn_app};

/// The real binary serving on a free port, logging JSON to a file.
struct Server {
    child: Child,
    address: String,
    log_path: std::path::PathBuf,
}

impl Server {
    async fn start(temp: &tempfile::TempDir, env: &[(&str, &str)]) -> Server {
        let log_path = temp.path().join("server.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_hls-ladder"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .envs(env.iter().copied())
            .env("TEMP_DIR", temp.path())
            .env("PRESET", "ultrafast")
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let address = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{address}/readyz")).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Server {
            child,
            address,
            log_path,
        }
    }

    /// Polls a video (with an API key, if given) until it is completed, for up to a minute.
    async fn wait_until_completed(&self, id: &str, key: Option<&str>) -> serde_json::Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let mut request =
                reqwest::Client::new().get(format!("{}/v1/videos/{id}", self.address));
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            let video: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            if video["status"] == "completed" {
                return video;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not completed: {video}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM, as an orchestrator stops it; then everything it logged.
    fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(self.child.wait().unwrap().success());
        std::fs::read_to_string(&self.log_path).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_at_debug_level_logs_no_secret() {
    // Borrow a fresh database and bucket from a test app, then run the binary on them.
    let app: TestApp = spawn_app().await;
    let config = app.config.clone();
    app.stop_keeping_database().await;

    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let db_password = format!("db-password-{suffix}");
    let s3_secret = format!("s3-secret-{suffix}");
    let api_key = format!("api-key-{suffix}");
    let secrets = [&db_password, &s3_secret, &api_key];
    // PostgreSQL here trusts local connections, so any password is accepted.
    let database_url =
        config
            .database_url
            .expose()
            .replacen("postgres@", &format!("postgres:{db_password}@"), 1);
    let temp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &temp,
        &[
            ("DATABASE_URL", &database_url),
            (
                "S3_ENDPOINT",
                config.storage.s3_endpoint.as_deref().unwrap(),
            ),
            ("S3_BUCKET", &config.storage.s3_bucket),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", &s3_secret),
            ("API_KEYS", &format!("other-key,{api_key}")),
            ("RUST_LOG", "debug"),
        ],
    )
    .await;
    let (address, client) = (server.address.clone(), reqwest::Client::new());
    let mut answers = String::new();
    let video = tokio::fs::read(fixture("h264_aac.mp4")).await.unwrap();
    let upload = |key: String| {
        reqwest::Client::new()
            .post(format!("{address}/v1/videos"))
            .bearer_auth(key)
            .header("Content-Type", "video/mp4")
            .body(video.clone())
            .send()
    };
    let refused = upload(format!("{api_key}-wrong")).await.unwrap();
    assert_eq!(refused.status(), 403);
    answers += &refused.text().await.unwrap();
    let created: serde_json::Value = upload(api_key.clone()).await.unwrap().json().await.unwrap();
    let id = created["id"].as_str().expect("created").to_string();
    let finished = server.wait_until_completed(&id, None).await;
    answers += &finished.to_string();
    for path in ["/readyz", "/metrics", "/openapi.json", "/v1/videos"] {
        answers += &client
            .get(format!("{address}{path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    }
    let deleted = client
        .delete(format!("{address}/v1/videos/{id}"))
        .bearer_auth(&api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let log = server.stop();
    assert!(
        log.lines().count() > 50 && log.contains("conversion completed"),
        "the run logged too little to prove anything:\n{log}"
    );
    // The database URL is logged at start, with its password masked.
    assert!(log.contains("postgres:***@"), "no redacted URL in the log");
    for secret in secrets {
        assert!(!log.contains(secret.as_str()), "the log holds {secret}");
        assert!(
            !answers.contains(secret.as_str()),
            "an answer holds {secret}"
        );
    }
    drop_database(config.database_url.expose()).await;
}

/// Every `signature=...` and `X-Amz-Signature=...` value in `text`.
fn signatures_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["signature=", "X-Amz-Signature="] {
        for piece in text.split(marker).skip(1) {
            let value: String = piece
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect();
            if value.len() >= 32 {
                found.push(value);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_link_signatures_and_the_playback_secret_are_never_logged_even_at_trace() {
    let app: TestApp = spawn_app().await;
    let config = app.config.clone();
    app.stop_keeping_database().await;
    let playback_secret = format!("playback-secret-{}", uuid::Uuid::new_v4().simple());
    let temp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &temp,
        &[
            ("DATABASE_URL", config.database_url.expose()),
            (
                "S3_ENDPOINT",
                config.storage.s3_endpoint.as_deref().unwrap(),
            ),
            ("S3_BUCKET", &config.storage.s3_bucket),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("API_KEYS", "operator"),
            ("PRIVATE_READS", "true"),
            ("PRIVATE_PLAYBACK", "true"),
            ("PLAYBACK_SECRET", &playback_secret),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let address = server.address.clone();
    let created: serde_json::Value = client
        .post(format!("{address}/v1/videos"))
        .bearer_auth("operator")
        .header("Content-Type", "video/mp4")
        .body(tokio::fs::read(fixture("no_audio.mp4")).await.unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("created").to_string();
    let video = server.wait_until_completed(&id, Some("operator")).await;
    // Play it all through the links, as a player would: master, media playlist, segments.
    let master_url = video["playback_url"].as_str().unwrap().to_string();
    let master = reqwest::get(&master_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let base = master_url
        .split('?')
        .next()
        .unwrap()
        .rsplit_once('/')
        .unwrap()
        .0
        .to_string();
    let variant = master
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .unwrap();
    let media = reqwest::get(format!("{base}/{variant}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for segment in media
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert_eq!(reqwest::get(segment).await.unwrap().status(), 200);
    }
    let handed_out = signatures_in(&format!("{master_url}\n{master}\n{media}"));
    assert!(handed_out.len() >= 3, "{handed_out:?}");

    let log = server.stop();
    assert!(
        log.lines().count() > 200,
        "the run logged too little to prove anything"
    );
    assert!(
        log.contains("/play/"),
        "the playlist requests are not in the log at all"
    );
    assert!(
        !log.contains(&playback_secret),
        "the log holds PLAYBACK_SECRET"
    );
    for signature in handed_out {
        assert!(
            !log.contains(&signature),
            "the log holds a signature handed to a player: {signature}"
        );
    }
    drop_database(config.database_url.expose()).await;
}
