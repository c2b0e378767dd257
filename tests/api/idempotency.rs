//! `POST /v1/videos` with an `Idempotency-Key`: a client retrying after a dropped connection
//! gets the video its first request made, not a second conversion.

use crate::helpers::{TestApp, fixture, problem, spawn_app_with};

async fn upload(app: &TestApp, api_key: &str, idempotency_key: &str) -> reqwest::Response {
    let bytes = tokio::fs::read(fixture("no_audio.mp4")).await.unwrap();
    reqwest::Client::new()
        .post(app.url("/v1/videos"))
        .bearer_auth(api_key)
        .header("Content-Type", "video/mp4")
        .header("Idempotency-Key", idempotency_key)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn id_of(response: reqwest::Response) -> (String, bool) {
    assert_eq!(response.status(), 201);
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let body: serde_json::Value = response.json().await.unwrap();
    (body["id"].as_str().unwrap().to_string(), replayed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_upload_with_the_same_key_gets_the_same_video() {
    let app = spawn_app_with(|c| {
        c.jobs.workers = 0;
        c.access.api_keys = vec!["alice".into(), "bob".into()];
    })
    .await;
    let (first, replayed) = id_of(upload(&app, "alice", "retry-me-1").await).await;
    assert!(!replayed);
    let (again, replayed) = id_of(upload(&app, "alice", "retry-me-1").await).await;
    assert_eq!(again, first);
    assert!(replayed, "the second answer says it is a replay");

    // Two at once with a new key: one video, both told its id.
    let (a, b) = tokio::join!(
        upload(&app, "alice", "racing-2"),
        upload(&app, "alice", "racing-2")
    );
    let ((a, _), (b, _)) = (id_of(a).await, id_of(b).await);
    assert_eq!(a, b);

    // Keys are the client's own: another client's same key is another video.
    let (other, _) = id_of(upload(&app, "bob", "retry-me-1").await).await;
    assert_ne!(other, first);

    let listed = app.get_json("/v1/videos").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");
    assert_eq!(app.uploads_left().len(), 3, "{:?}", app.uploads_left());

    // A deleted video's key makes a new one.
    let deleted = reqwest::Client::new()
        .delete(app.url(&format!("/v1/videos/{first}")))
        .bearer_auth("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (fresh, replayed) = id_of(upload(&app, "alice", "retry-me-1").await).await;
    assert_ne!(fresh, first);
    assert!(!replayed);

    for bad in ["", &"k".repeat(256), "with space"] {
        problem(upload(&app, "alice", bad).await, 400, "bad-idempotency-key").await;
    }
    app.stop().await;
}
