//! Secrets never reach the logs or the answers: a full run of the real binary at debug level,
//! then a search of everything it wrote.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{TestApp, drop_database, fixture, spawn_app};

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
            .replacen("postgres@", &format!("postgres:{db_password}@"), 1);
    let temp = tempfile::tempdir().unwrap();
    let log_path = temp.path().join("server.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_hls-transcoder"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &database_url)
        .env("S3_ENDPOINT", config.s3_endpoint.as_deref().unwrap())
        .env("S3_BUCKET", &config.s3_bucket)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", &s3_secret)
        .env("API_KEYS", format!("other-key,{api_key}"))
        .env("TEMP_DIR", temp.path())
        .env("PRESET", "ultrafast")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let mut answers = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let finished = loop {
        let video: serde_json::Value = client
            .get(format!("{address}/v1/videos/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if video["status"] == "completed" {
            break video;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not completed: {video}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
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

    // SIGTERM, as an orchestrator stops it.
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(server.wait().unwrap().success());
    let log = std::fs::read_to_string(&log_path).unwrap();
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
    drop_database(&config.database_url).await;
}
