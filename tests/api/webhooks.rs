//! Webhooks: signed deliveries to a real receiver on loopback, retries with backoff, the
//! deliveries API and replay, and a crash between the status change and the delivery.

use std::time::Duration;

use hls_ladder_server::config::Role;
use hls_ladder_server::webhooks::signature;
use serde_json::Value;

use crate::helpers::{TestApp, fixture, long_clip, problem, spawn_app_with};
use crate::webhook_receiver::{Answer, Received, Receiver};
use crate::workers::{WorkerProcess, spawn_serve_with};

const SECRET: &str = "whsec-test-0123456789abcdef";

/// A service posting to `urls`. It publishes videos at the end, so that each video makes one
/// event (its final status) here; `video.playable` is `progressive.rs`'s.
async fn app_posting_to(urls: &[&str], max_attempts: i32) -> TestApp {
    let urls: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
    spawn_app_with(|c| {
        c.conversion.publish_at_end = true;
        c.webhooks.webhook_urls = urls.into_iter().map(Into::into).collect();
        c.webhooks.webhook_secret = Some(SECRET.into());
        c.webhooks.webhook_max_attempts = max_attempts;
        c.webhooks.webhook_retry_seconds = 0.3;
        c.webhooks.webhook_timeout_seconds = 3.0;
    })
    .await
}

/// The deliveries about one video, waiting until each is `status`.
async fn deliveries_of(app: &TestApp, video: &str, status: &str, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = app
            .get_json(&format!("/v1/webhook-deliveries?video_id={video}"))
            .await;
        let items = page["items"].as_array().unwrap().clone();
        if items.len() == count && items.iter().all(|d| d["status"] == status) {
            return items;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries not {status}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks for a delivery to be sent again.
async fn replay(app: &TestApp, delivery: &str) -> reqwest::Response {
    app.post(&format!("/v1/webhook-deliveries/{delivery}/replay"))
        .await
}

/// A sample's value on `/metrics` (0 while it has none), e.g. `name{label="value"}`.
async fn metric(app: &TestApp, sample: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Uploads a clip long enough to be canceled while it converts, and cancels it: the quickest
/// way to a `video.canceled` event. Returns the video's id.
async fn upload_and_cancel(app: &TestApp) -> String {
    let temp = tempfile::tempdir().unwrap();
    let id = app.upload_id(&long_clip(temp.path())).await;
    assert_eq!(
        app.post(&format!("/v1/videos/{id}/cancel")).await.status(),
        202
    );
    id
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Runs `code` (which ends by printing True or False) with Python, given the secret, the
/// three Standard Webhooks headers and the path of a file holding `body`.
fn python_verifies(
    python: &str,
    code: &str,
    secret: &str,
    request: &Received,
    body: &[u8],
) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body"), body).unwrap();
    let output = std::process::Command::new(python)
        .args(["-c", code, secret])
        .args(["webhook-id", "webhook-timestamp", "webhook-signature"].map(|h| request.header(h)))
        .arg(dir.path().join("body"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    match String::from_utf8_lossy(&output.stdout).trim() {
        "True" => true,
        "False" => false,
        other => panic!("the verifier printed {other}"),
    }
}

/// The verification snippet of docs/webhooks.md, run by Python on a request as received.
fn docs_snippet_verifies(request: &Received, body: &[u8]) -> bool {
    let code = crate::helpers::doc_block("docs/webhooks.md", "webhook-verify", "python");
    let code = code.as_str();
    let script = format!(
        "{code}\nimport sys\nbody = open(sys.argv[5], 'rb').read()\n\
         print(verify(sys.argv[1].encode(), sys.argv[2], sys.argv[3], sys.argv[4], body))\n"
    );
    python_verifies("python3", &script, SECRET, request, body)
}

/// The official Standard Webhooks library for Python (installed by `make test-deps` into
/// `.venv-test`), a verifier nobody here wrote, given the secret in its `whsec_` form.
fn standard_library_verifies(request: &Received, body: &[u8]) -> bool {
    use base64::Engine;
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv-test/bin/python");
    assert!(
        std::path::Path::new(python).exists(),
        "{python} is missing: run `make test-deps`"
    );
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(SECRET)
    );
    let script = "import sys\nfrom standardwebhooks import Webhook\n\
                  headers = dict(zip(['webhook-id', 'webhook-timestamp', 'webhook-signature'], sys.argv[2:5]))\n\
                  body = open(sys.argv[5], 'rb').read()\n\
                  try:\n    Webhook(sys.argv[1]).verify(body, headers)\n    print(True)\n\
                  except Exception:\n    print(False)\n";
    python_verifies(python, script, &secret, request, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_video_is_posted_signed_to_every_endpoint() {
    let first = Receiver::start(&[]).await;
    let second = Receiver::start(&[]).await;
    let app = app_posting_to(&[&first.url, &second.url], 12).await;
    // The counter is the process's: other tests in it may have counted before.
    let delivered_attempts = r#"hls_webhook_attempts_total{outcome="delivered"}"#;
    let attempts_before = metric(&app, delivered_attempts).await;
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "completed");

    for receiver in [&first, &second] {
        let received = receiver.wait_for(1, Duration::from_secs(30)).await;
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(request.header("webhook-event"), "video.completed");
        assert_eq!(request.header("webhook-attempt"), "1");
        let envelope = request.json();
        assert_eq!(envelope["type"], "video.completed");
        assert!(envelope["timestamp"].is_string(), "{envelope}");
        let body = request.video();
        assert_eq!(body["id"], id.as_str());
        assert_eq!(body["status"], "completed");
        assert_eq!(body["playback_url"], video["playback_url"]);
        assert_eq!(body["renditions"], video["renditions"]);
        // The signature covers the id, the time and this body (which names the type):
        // checked by our library, the docs' snippet and the official Standard Webhooks one.
        let (event, sent_at) = (
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
        );
        let header = request.header("webhook-signature");
        let key = signature::key_from_secret(SECRET);
        let ours = |key: &[u8], event: &str| {
            signature::verify(key, event, sent_at, header, &request.body, now(), 300)
        };
        assert_eq!(ours(&key, event), Ok(()));
        assert!(docs_snippet_verifies(request, &request.body));
        assert!(standard_library_verifies(request, &request.body));
        let mut altered = request.body.to_vec();
        altered[10] ^= 1;
        assert!(!docs_snippet_verifies(request, &altered));
        assert!(!standard_library_verifies(request, &altered));
        let retyped = String::from_utf8(request.body.to_vec()).unwrap().replacen(
            "video.completed",
            "video.canceled",
            1,
        );
        assert!(!standard_library_verifies(request, retyped.as_bytes()));
        let mismatch = Err(signature::SignatureError::Mismatch);
        assert_eq!(ours(b"another-secret", event), mismatch);
        assert_eq!(ours(&key, "0193a0f0-0000-7000-8000-00000000dead"), mismatch);
    }
    // One event, two deliveries with the same Webhook-Id.
    let a = &first.received()[0];
    let b = &second.received()[0];
    assert_eq!(a.header("webhook-id"), b.header("webhook-id"));
    assert_ne!(a.header("webhook-delivery"), b.header("webhook-delivery"));

    let deliveries = deliveries_of(&app, &id, "delivered", 2).await;
    for delivery in &deliveries {
        assert_eq!(delivery["event"], "video.completed");
        assert_eq!(delivery["event_id"], a.header("webhook-id"));
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["history"][0]["status_code"], 204);
        let one = app
            .get_json(&format!(
                "/v1/webhook-deliveries/{}",
                delivery["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(one["id"], delivery["id"]);
    }
    let endpoints: Vec<&str> = deliveries
        .iter()
        .map(|d| d["endpoint"].as_str().unwrap())
        .collect();
    // Shown without anything that could be a token, told apart by a fingerprint.
    let shown = |url: &str| endpoints.iter().any(|e| e.starts_with(&format!("{url} #")));
    assert!(shown(&first.url) && shown(&second.url), "{endpoints:?}");
    assert_ne!(endpoints[0], endpoints[1]);
    let missing = app
        .get(&format!("/v1/webhook-deliveries/{}", uuid::Uuid::new_v4()))
        .await;
    problem(missing, 404, "delivery-not-found").await;
    assert_eq!(
        metric(&app, r#"hls_webhook_deliveries{status="delivered"}"#).await,
        2.0
    );
    assert_eq!(
        metric(&app, delivered_attempts).await - attempts_before,
        2.0
    );
    problem(
        app.get("/v1/webhook-deliveries?status=lost").await,
        400,
        "bad-status",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_try() {
    let receiver = Receiver::start(&[Answer::Status(500), Answer::Status(503)]).await;
    let app = app_posting_to(&[&receiver.url], 12).await;
    let id = upload_and_cancel(&app).await;

    let received = receiver.wait_for(3, Duration::from_secs(60)).await;
    assert_eq!(received.len(), 3);
    let attempts: Vec<&str> = received
        .iter()
        .map(|r| r.header("webhook-attempt"))
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    assert!(
        received
            .iter()
            .all(|r| r.header("webhook-id") == received[0].header("webhook-id"))
    );
    assert!(
        received
            .iter()
            .all(|r| r.header("webhook-event") == "video.canceled")
    );
    assert_eq!(received[2].video()["status"], "canceled");
    // Exponential backoff: 0.3 s, then 0.6 s (each up to 10 % more).
    let first_wait = received[1].at - received[0].at;
    let second_wait = received[2].at - received[1].at;
    assert!(first_wait >= Duration::from_millis(300), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(600), "{second_wait:?}");

    let delivery = &deliveries_of(&app, &id, "delivered", 1).await[0];
    assert_eq!(delivery["attempts"], 3);
    let codes: Vec<&Value> = delivery["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [500, 503, 204]);
    assert_eq!(
        delivery["history"][0]["error"],
        "HTTP 500 Internal Server Error"
    );
    assert!(delivery["history"][2]["error"].is_null());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_ran_out_of_attempts_is_failed_and_can_be_replayed() {
    let receiver = Receiver::start(&[Answer::Status(500), Answer::Status(500)]).await;
    let app = app_posting_to(&[&receiver.url], 2).await;
    let id = app.upload_id(&fixture("truncated.mp4")).await;
    let video = app.convert(&id).await;
    assert_eq!(video["status"], "failed");

    let failed = &deliveries_of(&app, &id, "failed", 1).await[0];
    assert_eq!(failed["event"], "video.failed");
    assert_eq!(failed["attempts"], 2);
    assert_eq!(failed["last_status_code"], 500);
    let body = receiver.received()[0].video();
    assert_eq!(body["error"]["code"], "corrupt-input");

    let answer = replay(&app, failed["id"].as_str().unwrap()).await;
    assert_eq!(answer.status(), 202);
    let replayed = &deliveries_of(&app, &id, "delivered", 1).await[0];
    assert_eq!(replayed["attempts"], 3);
    assert_eq!(replayed["history"].as_array().unwrap().len(), 3);
    assert_eq!(receiver.received().len(), 3);
    let missing = replay(&app, &uuid::Uuid::new_v4().to_string()).await;
    problem(missing, 404, "delivery-not-found").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_during_the_last_attempt_is_not_undone_by_its_failure() {
    let receiver = Receiver::start(&[Answer::Late(Duration::from_secs(2), 500)]).await;
    let app = app_posting_to(&[&receiver.url], 1).await;
    let id = upload_and_cancel(&app).await;
    // The only allowed attempt is under way (the receiver answers 500 in 2 s): replay now.
    receiver.wait_for(1, Duration::from_secs(30)).await;
    let delivery = &app
        .get_json(&format!("/v1/webhook-deliveries?video_id={id}"))
        .await["items"][0];
    let answer = replay(&app, delivery["id"].as_str().unwrap()).await;
    assert_eq!(answer.status(), 202);
    let delivered = &deliveries_of(&app, &id, "delivered", 1).await[0];
    assert_eq!(delivered["attempts"], 2, "{delivered}");
    let codes: Vec<&Value> = delivered["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [500, 204]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_status_change_and_the_delivery_still_delivers() {
    // The API in this process; the worker, which sends webhooks, in a child process.
    let receiver = Receiver::start(&[Answer::Hang]).await;
    let app = spawn_app_with(|c| c.role = Role::Api).await;
    let env = [
        ("WEBHOOK_URLS", receiver.url.as_str()),
        ("WEBHOOK_SECRET", SECRET),
        ("WEBHOOK_TIMEOUT_SECONDS", "3"),
        ("WEBHOOK_RETRY_SECONDS", "0.3"),
        ("PUBLISH_AT_END", "true"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut worker = WorkerProcess::new(spawn_serve_with(&app, "worker", dir.path(), &env));
    let id = app.upload_id(&fixture("h264_aac.mp4")).await;

    // The receiver holds the first request; the worker dies while waiting for the answer.
    let first = receiver.wait_for(1, Duration::from_secs(120)).await;
    worker.kill();
    assert_eq!(app.get_video(&id).await["status"], "completed");
    let stuck = &app
        .get_json(&format!("/v1/webhook-deliveries?video_id={id}"))
        .await["items"][0];
    assert_eq!(stuck["status"], "pending", "{stuck}");

    // A new worker takes the delivery over once the dead one's hold runs out (3 s + 5 s).
    let dir = tempfile::tempdir().unwrap();
    let _restarted = WorkerProcess::new(spawn_serve_with(&app, "worker", dir.path(), &env));
    let received = receiver.wait_for(2, Duration::from_secs(60)).await;
    assert_eq!(
        received[1].header("webhook-id"),
        first[0].header("webhook-id")
    );
    assert_eq!(received[1].header("webhook-attempt"), "2");
    assert_eq!(received[1].video()["status"], "completed");
    let delivered = &deliveries_of(&app, &id, "delivered", 1).await[0];
    assert_eq!(delivered["attempts"], 2);
    // The first attempt died with its process: only the second one is on record.
    assert_eq!(
        delivered["history"].as_array().unwrap().len(),
        1,
        "{delivered}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_need_a_secret_http_urls_and_with_private_playback_the_apis_url_and_secret() {
    type Adjust = fn(&mut hls_ladder_server::config::ServeConfig);
    let cases: [(Adjust, &str); 3] = [
        (|c| c.webhooks.webhook_secret = None, "WEBHOOK_SECRET"),
        (
            |c| c.webhooks.webhook_urls = vec!["ftp://example.com/x".into()],
            "http or https",
        ),
        // Private playback: the body's playback_url must be a link the API accepts.
        (
            |c| {
                c.access.private_playback = true;
                c.access.api_keys = vec!["operator".into()];
                c.access.private_reads = true;
            },
            "PUBLIC_API_URL",
        ),
    ];
    for (adjust, complaint) in cases {
        let temp = tempfile::tempdir().unwrap();
        let mut config = crate::helpers::test_config(temp.path());
        config.webhooks.webhook_urls = vec!["http://127.0.0.1:9/hooks".into()];
        config.webhooks.webhook_secret = Some(SECRET.into());
        adjust(&mut config);
        let error = hls_ladder_server::server::Application::build(config)
            .await
            .err()
            .expect("refused at start");
        assert!(format!("{error:#}").contains(complaint), "{error:#}");
    }
}
