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

/// A key names one request: sent again with another one (another kind of upload, another
/// length, another query, another URL to import), it is refused, not answered with the first
/// request's video; the first request's retry still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sent_again_with_another_request_is_refused() {
    let app = spawn_app_with(|c| {
        c.imports.import_allow_private = true;
    })
    .await;
    let bytes = tokio::fs::read(fixture("no_audio.mp4")).await.unwrap();
    // A connection of its own each: a refused upload's body is not read.
    let post = |query: &str| {
        reqwest::Client::new()
            .post(app.url(&format!("/v1/videos{query}")))
            .header("Idempotency-Key", "one-request")
    };
    let raw = |query: &str, body: &[u8]| {
        post(query)
            .header("Content-Type", "video/mp4")
            .body(body.to_vec())
    };
    let (first, _) = id_of(raw("", &bytes).send().await.unwrap()).await;
    let others = [
        // Another length.
        raw("", &bytes[..bytes.len() - 1]),
        // Another query.
        raw("?mp4_download=true", &bytes),
        // Another kind: an import.
        post("").json(&serde_json::json!({"url": "http://127.0.0.1:9/clip.mp4"})),
        // Another kind: a multipart form.
        post("").multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("clip.mp4"),
        )),
    ];
    for request in others {
        problem(request.send().await.unwrap(), 422, "idempotency-key-reused").await;
    }
    // The same request again is the retry it always was.
    let again = raw("", &bytes).send().await.unwrap();
    assert_eq!(id_of(again).await, (first, true));

    // An import's key names its URL.
    let import = |url: &str| {
        app.client
            .post(app.url("/v1/videos"))
            .header("Idempotency-Key", "one-import")
            .json(&serde_json::json!({ "url": url }))
            .send()
    };
    let imported = import("http://127.0.0.1:9/a.mp4").await.unwrap();
    assert_eq!(imported.status(), 202);
    let again = import("http://127.0.0.1:9/a.mp4").await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    problem(
        import("http://127.0.0.1:9/b.mp4").await.unwrap(),
        422,
        "idempotency-key-reused",
    )
    .await;
    let listed = app.get_json("/v1/videos").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    app.stop().await;
}
