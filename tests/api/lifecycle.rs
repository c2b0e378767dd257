//! Listing, canceling, deleting, health, metrics and the OpenAPI document.

use crate::helpers::{fixture, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_video_removes_its_objects_and_its_record() {
    let app = spawn_app().await;
    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    let video = app.convert(&id).await;
    let url = video["playback_url"].as_str().unwrap().to_string();
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);

    let deleted = app.delete(&format!("/v1/videos/{id}")).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get(&format!("/v1/videos/{id}")).await.status(), 404);
    assert!(
        !reqwest::get(&url).await.unwrap().status().is_success(),
        "the playlist is gone"
    );
    let segment = url.replace("master.m3u8", "240p/segment_00001.ts");
    assert!(
        !reqwest::get(&segment).await.unwrap().status().is_success(),
        "the segments are gone"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_video_is_canceled_at_once() {
    // Nothing runs the job: it stays pending.
    let app = crate::helpers::spawn_app().await;
    let id = app.upload_id(&fixture("no_audio.mp4")).await;
    let cancel = app.post(&format!("/v1/videos/{id}/cancel")).await;
    assert_eq!(cancel.status(), 202);
    assert_eq!(app.get_video(&id).await["status"], "canceled");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_newest_first_with_a_cursor_and_a_status_filter() {
    let app = crate::helpers::spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.upload_id(&fixture("no_audio.mp4")).await);
    }
    let page = app.get_json("/v1/videos?limit=2").await;
    let first: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(first, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = app
        .get_json(&format!("/v1/videos?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(page["items"][0]["id"], ids[0].as_str());
    assert!(page["next_cursor"].is_null());

    app.client
        .post(app.url(&format!("/v1/videos/{}/cancel", ids[1])))
        .send()
        .await
        .unwrap();
    let canceled = app.get_json("/v1/videos?status=canceled").await;
    assert_eq!(canceled["items"].as_array().unwrap().len(), 1);
    let bad = app.get("/v1/videos?status=lost").await;
    assert_eq!(bad.status(), 400);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_openapi_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.text().await.unwrap(), "ok");
    assert_eq!(app.get("/readyz").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("hls_queue_depth"), "{metrics}");
    let openapi = app.get_json("/openapi.json").await;
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    let paths = openapi["paths"].as_object().unwrap();
    for path in [
        "/",
        "/v1/videos",
        "/v1/videos/{id}",
        "/v1/videos/{id}/events",
        "/v1/videos/{id}/cancel",
        "/v1/videos/{id}/retry",
        "/v1/videos/{id}/play/{path}",
        "/v1/uploads",
        "/v1/uploads/{id}",
        "/v1/direct-uploads",
        "/v1/direct-uploads/{id}/complete",
        "/v1/webhook-deliveries",
        "/v1/webhook-deliveries/{id}",
        "/v1/webhook-deliveries/{id}/replay",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    // Every answer with a body shows an example: its own, or its schema's.
    let schemas = &openapi["components"]["schemas"];
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(content) = response["content"].as_object() else {
                    continue;
                };
                for (media, body) in content {
                    let schema_example = body["schema"]["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .is_some_and(|name| !schemas[name]["example"].is_null());
                    assert!(
                        !body["example"].is_null() || schema_example,
                        "{method} {path} {status} {media} has no example: {body}"
                    );
                }
            }
        }
    }
    app.stop().await;
}

/// A test's app removes its database and bucket when it is dropped, also when the test
/// panics on the way: a failing test leaves nothing behind for the next run to trip over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_app_removes_its_database_and_bucket_even_when_its_test_panics() {
    let (names_tx, names_rx) = tokio::sync::oneshot::channel();
    let failing_test = tokio::spawn(async move {
        let app = spawn_app().await;
        let id = app.upload_id(&fixture("no_audio.mp4")).await;
        app.convert(&id).await;
        let _ = names_tx.send((
            app.config.database_url.expose().to_string(),
            app.config.storage.s3_bucket.clone(),
        ));
        panic!("a test that fails with its app alive");
    });
    assert!(failing_test.await.unwrap_err().is_panic());
    let (database_url, bucket) = names_rx.await.unwrap();

    let name = database_url.rsplit('/').next().unwrap().to_string();
    let admin = format!("{}/postgres", crate::helpers::database_base_url());
    let admin = sqlx::PgPool::connect(&admin).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "the database {name} is still there");
    let s3 = reqwest::Client::new()
        .head(format!("{}/{bucket}", crate::helpers::s3_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(s3.status(), 404, "the bucket {bucket} is still there");
}
