//! API keys and per-input limits.

use hls_ladder_server::config::ServeConfig;

use crate::helpers::{fixture, problem, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_api_keys_changes_need_a_valid_key_and_reads_stay_public() {
    let app =
        spawn_app_with(|c| c.access.api_keys = vec!["first-key".into(), "second-key".into()]).await;
    let video = fixture("h264_aac.mp4");
    let post = |key: Option<&'static str>| app.upload_with_key(&video, "video/mp4", key);

    let missing = post(None).await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    problem(missing, 401, "missing-api-key").await;
    problem(post(Some("wrong-key")).await, 403, "invalid-api-key").await;
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());

    let created = post(Some("second-key")).await;
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Reads are public unless PRIVATE_READS; cancel and delete need the key.
    assert_eq!(app.get(&format!("/v1/videos/{id}")).await.status(), 200);
    assert_eq!(app.get("/v1/videos").await.status(), 200);
    let cancel = app.post(&format!("/v1/videos/{id}/cancel")).await;
    problem(cancel, 401, "missing-api-key").await;
    let delete = app
        .client
        .delete(app.url(&format!("/v1/videos/{id}")))
        .bearer_auth("first-key")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    // Webhook deliveries name the endpoints: reading them always needs a key.
    problem(
        app.get("/v1/webhook-deliveries").await,
        401,
        "missing-api-key",
    )
    .await;
    let deliveries = app
        .get_with_key("/v1/webhook-deliveries", "first-key")
        .await;
    assert_eq!(deliveries.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_reads_need_a_key_but_health_and_docs_do_not() {
    let app = spawn_app_with(|c| {
        c.access.api_keys = vec!["k1".into()];
        c.access.private_reads = true;
    })
    .await;
    problem(app.get("/v1/videos").await, 401, "missing-api-key").await;
    let listed = app.get_with_key("/v1/videos", "k1").await;
    assert_eq!(listed.status(), 200);
    for open in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(app.get(open).await.status(), 200, "{open}");
    }
    let document = app.get_json("/openapi.json").await;
    assert_eq!(
        document["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    app.stop().await;
}

/// A change to a test server's configuration.
type Adjust = fn(&mut ServeConfig);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_beyond_the_limits_are_refused_at_upload_and_leave_nothing() {
    // h264_aac.mp4 is 854x480, 4 s, 120 frames.
    let cases: [(&str, Adjust); 3] = [
        ("input-too-long", |c| {
            c.conversion.max_duration_seconds = 3.0
        }),
        ("resolution-too-high", |c| {
            c.conversion.max_resolution = "640x480".parse().unwrap()
        }),
        ("too-many-frames", |c| c.conversion.max_frames = 100),
    ];
    for (code, limit) in cases {
        let app = spawn_app_with(limit).await;
        let response = app.upload_raw(&fixture("h264_aac.mp4"), "video/mp4").await;
        let body = problem(response, 422, code).await;
        assert!(body["detail"].as_str().unwrap().contains("limit"), "{body}");
        assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
        let listed = app.get_json("/v1/videos").await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_upload_rate_gets_429_with_retry_after() {
    let app = spawn_app_with(|c| c.upload_rate = Some("2/min".parse().unwrap())).await;
    let clip = fixture("no_audio.mp4");
    let upload = || app.upload_raw(&clip, "video/mp4");
    assert_eq!(upload().await.status(), 201);
    assert_eq!(upload().await.status(), 201);
    let refused = upload().await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "Retry-After {retry_after}");
    problem(refused, 429, "too-many-uploads").await;
    // Reads are not limited.
    assert_eq!(app.get("/v1/videos").await.status(), 200);
    app.stop().await;
}
