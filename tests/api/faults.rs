//! Faults the service must ride out: S3 and PostgreSQL outages (through a proxy the test cuts),
//! a conversion past its time limit, and retrying what failed.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{
    TestApp, decode_url, fixture, long_clip, problem, s3_endpoint, spawn_app_with_workers,
};
use crate::tcp_proxy::TcpProxy;

fn localstack_address() -> std::net::SocketAddr {
    let endpoint = s3_endpoint();
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("TEST_S3_ENDPOINT is http://IP:PORT")
}

/// A service whose S3 traffic goes through `proxy`; playback URLs still point at LocalStack.
async fn app_behind_s3_proxy(
    proxy: &TcpProxy,
    adjust: impl FnOnce(&mut hls_ladder_server::config::ServeConfig),
) -> TestApp {
    let endpoint = proxy.url();
    spawn_app_with_workers(|c| {
        c.storage.s3_endpoint = Some(endpoint);
        c.storage.s3_public_url = Some(format!("{}/{}", s3_endpoint(), c.storage.s3_bucket));
        adjust(c);
    })
    .await
}

async fn post_retry(app: &TestApp, id: &str) -> reqwest::Response {
    app.post(&format!("/v1/videos/{id}/retry")).await
}

/// Waits until the video is processing and has encoded at least `frames` frames.
async fn wait_for_progress(app: &TestApp, id: &str, frames: u64) {
    let enough = |video: &Value| {
        assert_ne!(
            video["status"], "completed",
            "finished before the fault: {video}"
        );
        let done = video["progress"]["frames_done"].as_u64().unwrap_or(0);
        video["status"] == "processing" && done >= frames
    };
    let what = format!("processing past frame {frames}");
    app.wait_for(id, Duration::from_secs(60), &what, enough)
        .await;
}

fn assert_plays(video: &Value) {
    let url = video["playback_url"].as_str().expect("a playback URL");
    let (errors, duration) = decode_url(url);
    assert!(errors.trim().is_empty(), "{errors}");
    assert!((duration - 20.0).abs() < 0.5, "duration {duration}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_outage_during_the_uploads_only_pauses_the_job() {
    let proxy = TcpProxy::start(localstack_address()).await;
    let app = app_behind_s3_proxy(&proxy, |c| c.storage.s3_retry_seconds = 60.0).await;
    let clip = long_clip(app.upload_dir.parent().unwrap());
    let id = app.upload_id(&clip).await;
    wait_for_progress(&app, &id, 90).await;

    // Thirty seconds without S3, as if it were restarted.
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(30)).await;
    proxy.restore();
    assert!(proxy.refused() > 0, "the outage turned no upload away");

    let video = app.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(video["status"], "completed", "{video}");
    assert_eq!(video["attempts"], 1, "{video}");
    assert_plays(&video);
    app.wait_until_uploads_removed().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longer_s3_outage_fails_the_job_clearly_and_retry_completes_it() {
    let proxy = TcpProxy::start(localstack_address()).await;
    let app = app_behind_s3_proxy(&proxy, |c| {
        c.storage.s3_retry_seconds = 1.0;
        c.jobs.max_attempts = 2;
    })
    .await;
    let clip = long_clip(app.upload_dir.parent().unwrap());
    proxy.cut();
    let id = app.upload_id(&clip).await;

    let failed = app.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "storage-unavailable", "{failed}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("gave up after 2 attempts") && message.contains("/retry"),
        "{message}"
    );
    assert_eq!(failed["attempts"], 2, "{failed}");
    // Not the video's fault: its upload stays for a retry.
    assert_eq!(app.uploads_left().len(), 1, "{:?}", app.uploads_left());

    proxy.restore();
    let queued = post_retry(&app, &id).await;
    assert_eq!(queued.status(), 202);
    let queued: Value = queued.json().await.unwrap();
    assert!(
        ["pending", "processing"].contains(&queued["status"].as_str().unwrap()),
        "{queued}"
    );
    let video = app.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(video["status"], "completed", "{video}");
    assert_plays(&video);
    app.wait_until_uploads_removed().await;

    problem(post_retry(&app, &id).await, 409, "not-retryable").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_that_cannot_be_converted_is_not_retryable() {
    let app = spawn_app_with_workers(|_| {}).await;
    let id = app.upload_id(&fixture("truncated.mp4")).await;
    let failed = app.wait_until_finished(&id, Duration::from_secs(60)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    problem(post_retry(&app, &id).await, 409, "source-gone").await;
    problem(
        post_retry(&app, "0190a4b0-0000-7000-8000-000000000000").await,
        404,
        "video-not-found",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_database_outage_requests_get_503_and_the_running_job_completes_once() {
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let through_proxy = format!("postgres://postgres@{}", proxy.address);
    let app = spawn_app_with_workers(|c| {
        let name = crate::helpers::database_name(c);
        c.database_url = format!("{through_proxy}/{name}").into();
        // An outage shorter than the lease only pauses the bookkeeping; a longer one stops
        // the conversion (see fencing.rs).
        c.jobs.lease_seconds = 60.0;
    })
    .await;
    let clip = long_clip(app.upload_dir.parent().unwrap());
    let id = app.upload_id(&clip).await;
    wait_for_progress(&app, &id, 60).await;

    proxy.cut();
    let asked = Instant::now();
    let during = app.get(&format!("/v1/videos/{id}")).await;
    let waited = asked.elapsed();
    problem(during, 503, "database-unavailable").await;
    assert!(
        waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
    let upload = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
    problem(upload, 503, "database-unavailable").await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.restore();

    let video = app.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(video["status"], "completed", "{video}");
    assert_eq!(video["attempts"], 1, "converted more than once: {video}");
    assert_plays(&video);
    // The upload refused during the outage left no file; the completed one is removed.
    app.wait_until_uploads_removed().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_past_the_time_limit_fails_with_job_timeout() {
    let app = spawn_app_with_workers(|c| c.jobs.job_timeout_seconds = 1).await;
    let clip = long_clip(app.upload_dir.parent().unwrap());
    let id = app.upload_id(&clip).await;
    let video = app.wait_until_finished(&id, Duration::from_secs(60)).await;
    // The time limit stopped it (its own code says so; how soon is the load's to decide).
    assert_eq!(video["status"], "failed", "{video}");
    assert_eq!(video["error"]["code"], "job-timeout", "{video}");
    assert!(video["playback_url"].is_null());
    app.stop().await;
}
