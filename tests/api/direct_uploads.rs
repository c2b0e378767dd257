//! Uploads straight to the bucket: presigned part URLs from `POST /v1/direct-uploads`, real
//! PUTs to LocalStack (never through the API), then `complete`: the video converts on a
//! worker that fetches the staged object; incomplete, refused and repeated completions.

use hls_ladder_server::config::Role;
use hls_ladder_server::storage::ObjectStore;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture, long_clip, problem, spawn_app_with};

async fn start(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/direct-uploads"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Starts a direct upload of `file`; returns the plan.
async fn plan(app: &TestApp, file: &[u8], filename: &str) -> Value {
    let answer = start(app, json!({"size": file.len(), "filename": filename})).await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    let plan: Value = answer.json().await.unwrap();
    let id = plan["id"].as_str().unwrap();
    assert_eq!(
        plan["complete_url"],
        format!("/v1/direct-uploads/{id}/complete")
    );
    plan
}

/// PUTs part `index` of `plan` (its bytes of `file`) to its presigned URL, as a client does.
async fn put_part(plan: &Value, index: usize, file: &[u8]) {
    let part = &plan["parts"][index];
    let offset = part["offset"].as_u64().unwrap() as usize;
    let bytes = part["bytes"].as_u64().unwrap() as usize;
    let url = part["url"].as_str().unwrap();
    assert!(url.starts_with(&crate::helpers::s3_endpoint()), "{url}");
    let answer = Client::new()
        .put(url)
        .body(file[offset..offset + bytes].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "{:?}", answer.text().await);
}

async fn complete(app: &TestApp, plan: &Value) -> reqwest::Response {
    let url = app.url(plan["complete_url"].as_str().unwrap());
    app.client.post(url).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_put_straight_into_the_bucket_becomes_a_video_the_workers_convert() {
    // The API node converts nothing and never sees the bytes; a worker elsewhere does.
    let app = spawn_app_with(|c| c.role = Role::Api).await;
    let temp = tempfile::tempdir().unwrap();
    let file = std::fs::read(long_clip(temp.path())).unwrap();
    let plan = plan(&app, &file, "long clip.mp4").await;
    let parts = plan["parts"].as_array().unwrap().len();
    assert!(parts >= 3, "the clip spans several parts: {plan}");
    assert_eq!(plan["part_bytes"], 8 * 1024 * 1024);
    // In any order.
    for index in (0..parts).rev() {
        put_part(&plan, index, &file).await;
    }
    let id = plan["id"].as_str().unwrap().to_string();
    let done = complete(&app, &plan).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    assert_eq!(
        done.headers()["location"],
        format!("/v1/videos/{id}").as_str()
    );
    let video: Value = done.json().await.unwrap();
    assert_eq!(video["id"], id.as_str());
    assert_eq!(video["status"], "pending", "{video}");
    assert_eq!(video["source_bytes"], file.len());
    assert_eq!(video["original_filename"], "long clip.mp4");
    // Staged whole for the workers; nothing kept on the API node.
    let store = crate::helpers::test_store(&app.config).await;
    let staged = store.get_bytes(&format!("sources/{id}")).await.unwrap();
    assert!(
        staged.as_deref() == Some(&file[..]),
        "the parts joined in order"
    );
    assert!(app.uploads_left().is_empty(), "{:?}", app.uploads_left());
    // Its answer lost, the client completes again: the same video.
    let again = complete(&app, &plan).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], id.as_str());

    // Converted as a worker on another machine would: from the staged upload in the bucket.
    let finished = app.convert(&id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_with_parts_missing_says_which_and_can_be_sent_again() {
    let app = spawn_app_with(|_| {}).await;
    let temp = tempfile::tempdir().unwrap();
    let file = std::fs::read(long_clip(temp.path())).unwrap();
    let plan = plan(&app, &file, "clip.mp4").await;
    put_part(&plan, 0, &file).await;
    let early = problem(complete(&app, &plan).await, 409, "upload-incomplete").await;
    assert!(early["detail"].as_str().unwrap().contains(": 2"), "{early}");
    // A part of the wrong size is named too.
    let part = &plan["parts"][1];
    let short = Client::new()
        .put(part["url"].as_str().unwrap())
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::OK);
    for index in 2..plan["parts"].as_array().unwrap().len() {
        put_part(&plan, index, &file).await;
    }
    let wrong = problem(complete(&app, &plan).await, 409, "upload-incomplete").await;
    assert!(
        wrong["detail"]
            .as_str()
            .unwrap()
            .contains("part 2 has 10 bytes"),
        "{wrong}"
    );
    put_part(&plan, 1, &file).await;
    let done = complete(&app, &plan).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    let id = plan["id"].as_str().unwrap();
    let finished = app.convert(id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    app.assert_uploads_removed();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_uploads_are_refused_as_uploads_are_and_leave_nothing() {
    let app = spawn_app_with(|_| {}).await;
    // Larger than the limit, empty, not JSON.
    let limit = app.config.upload_limit.0;
    problem(
        start(&app, json!({"size": limit + 1})).await,
        413,
        "upload-too-large",
    )
    .await;
    problem(start(&app, json!({"size": 0})).await, 400, "empty-upload").await;
    problem(start(&app, json!({"bytes": 10})).await, 400, "bad-json").await;
    problem(start(&app, json!({"size": -5})).await, 400, "bad-json").await;
    // Completing what does not exist.
    let unknown = app.url(&format!(
        "/v1/direct-uploads/{}/complete",
        uuid::Uuid::now_v7()
    ));
    problem(
        app.client.post(unknown).send().await.unwrap(),
        404,
        "upload-not-found",
    )
    .await;
    let bad = app.url("/v1/direct-uploads/not-an-id/complete");
    problem(app.client.post(bad).send().await.unwrap(), 400, "bad-path").await;

    // Not a video: refused on completion like an upload, and nothing of it is kept.
    let text = b"this is not a video at all".repeat(1000);
    let plan = plan(&app, &text, "notes.txt").await;
    put_part(&plan, 0, &text).await;
    problem(complete(&app, &plan).await, 422, "not-a-video").await;
    problem(complete(&app, &plan).await, 404, "upload-not-found").await;
    let store = crate::helpers::test_store(&app.config).await;
    assert!(store.list("sources/").await.unwrap().is_empty());
    app.assert_uploads_removed();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_direct_upload_is_removed_by_the_janitor() {
    let app = spawn_app_with(|_| {}).await;
    let file = std::fs::read(fixture("h264_aac.mp4")).unwrap();
    let plan = plan(&app, &file, "clip.mp4").await;
    put_part(&plan, 0, &file).await;
    let id: uuid::Uuid = plan["id"].as_str().unwrap().parse().unwrap();
    let pool = sqlx::PgPool::connect(app.config.database_url.expose())
        .await
        .unwrap();
    sqlx::query("UPDATE direct_uploads SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    problem(complete(&app, &plan).await, 404, "upload-not-found").await;
    let uploads = hls_ladder_server::uploads::Uploads::new(
        app.upload_dir.clone(),
        std::sync::Arc::new(crate::helpers::test_store(&app.config).await),
    );
    let removed = hls_ladder_server::jobs::janitor::sweep_expired_uploads(&pool, &uploads)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM direct_uploads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // Its part URLs no longer lead anywhere: the multipart upload is gone.
    let part = &plan["parts"][0];
    let late = Client::new()
        .put(part["url"].as_str().unwrap())
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::NOT_FOUND);
    pool.close().await;
    app.stop().await;
}

/// The README's direct-upload session, run as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_direct_upload_session_makes_a_video() {
    let app = spawn_app_with(|_| {}).await;
    // More than one part.
    let temp = tempfile::tempdir().unwrap();
    let file = long_clip(temp.path());
    let video: Value =
        crate::helpers::run_doc_session(&app, "docs/uploads.md", "direct-upload-session", &file)
            .await;
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
