//! `GET /v1/videos/{id}/events`: live per-frame progress and status as Server-Sent Events,
//! across processes, resumable with Last-Event-ID.

use std::time::Duration;

use hls_ladder_server::config::Role;

use crate::helpers::{TestApp, long_clip, spawn_app, spawn_app_with_workers};
use crate::sse::{self, SseEvent, SseStream};
use crate::workers::{WorkerProcess, spawn_serve};

/// Checks a whole stream: a snapshot first, progress that only grows, ids that only grow, at
/// most about 10 progress events a second, and the final status last.
fn check_stream(events: &[SseEvent], final_status: &str) {
    assert!(!events.is_empty());
    assert_eq!(events[0].event, "status", "a snapshot comes first");
    let last = events.last().unwrap();
    assert_eq!(last.event, "status");
    assert_eq!(last.data["status"], final_status, "{:?}", last.data);
    let ids: Vec<i64> = events.iter().map(|e| e.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let progress: Vec<&SseEvent> = events.iter().filter(|e| e.event == "progress").collect();
    let frames: Vec<u64> = progress
        .iter()
        .map(|e| e.data["progress"]["frames_done"].as_u64().unwrap())
        .collect();
    assert!(frames.windows(2).all(|w| w[0] <= w[1]), "{frames:?}");
    for event in &progress {
        let p = &event.data["progress"];
        for field in ["frames_expected", "percent", "fps", "speed"] {
            assert!(!p[field].is_null(), "{field} missing: {p}");
        }
        // An estimate needs a rate: from the first frame on.
        if p["frames_done"].as_u64().unwrap() > 0 {
            assert!(p["eta"].as_f64().is_some(), "no eta: {p}");
        }
        assert!(!p["renditions"].as_array().unwrap().is_empty(), "{p}");
    }
    if let (Some(first), Some(last)) = (progress.first(), progress.last()) {
        let seconds = last.at.duration_since(first.at).as_secs_f64();
        assert!(
            progress.len() as f64 <= 10.0 * seconds + 3.0,
            "{} progress events in {seconds:.1} s",
            progress.len()
        );
    }
}

/// The event stream's URL for a video.
fn events_url(app: &TestApp, id: &str) -> String {
    app.url(&format!("/v1/videos/{id}/events"))
}

/// Uploads a 720p 20 s clip and follows its events from the start.
async fn upload_and_follow(app: &TestApp) -> (String, SseStream) {
    let temp = tempfile::tempdir().unwrap();
    let id = app.upload_id(&long_clip(temp.path())).await;
    let stream = sse::connect(&events_url(app, &id), None).await.unwrap();
    (id, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversion_streams_per_frame_progress_and_ends_with_its_final_status() {
    let app = spawn_app_with_workers(|_| {}).await;
    let (id, mut stream) = upload_and_follow(&app).await;
    let events = stream.collect(Duration::from_secs(240)).await;
    check_stream(&events, "completed");
    let progress: Vec<&SseEvent> = events.iter().filter(|e| e.event == "progress").collect();
    assert!(
        progress.len() >= 10,
        "only {} progress events",
        progress.len()
    );
    let expected = progress[0].data["progress"]["frames_expected"]
        .as_u64()
        .unwrap();
    assert_eq!(expected, 600, "20 s at 30 fps");
    let last = events.last().unwrap();
    assert_eq!(last.data["id"], id.as_str());
    assert!(
        last.data["playback_url"]
            .as_str()
            .unwrap()
            .ends_with("master.m3u8")
    );
    assert_eq!(last.data["progress"]["percent"], 100.0);
    // The stream agrees with the resource.
    assert_eq!(app.get_video(&id).await["status"], "completed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_resumes_and_never_loses_the_final_status() {
    let app = spawn_app_with_workers(|_| {}).await;
    // Read until the conversion is under way, then drop the connection.
    let (id, mut stream) = upload_and_follow(&app).await;
    let url = events_url(&app, &id);
    let last_seen = loop {
        let event = stream.next(Duration::from_secs(60)).await.unwrap();
        if event.event == "progress" {
            break event.id.unwrap();
        }
    };
    drop(stream);
    let done = app.wait_until_finished(&id, Duration::from_secs(240)).await;
    assert_eq!(done["status"], "completed");

    // Reconnecting after the end: what was missed is summed up by the final status.
    let mut resumed = sse::connect(&url, Some(last_seen)).await.unwrap();
    let events = resumed.collect(Duration::from_secs(10)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, "status");
    assert_eq!(events[0].data["status"], "completed");
    let final_id = events[0].id.unwrap();
    assert!(final_id > last_seen);

    // Having seen the final status, a client is told there is nothing more: 204.
    let after_end = sse::connect(&url, Some(final_id)).await.err().unwrap();
    assert_eq!(after_end.status(), 204);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_from_a_worker_in_another_process_reaches_the_api_processes_stream() {
    let app: TestApp = spawn_app_with_workers(|c| c.role = Role::Api).await;
    let worker_dir = tempfile::tempdir().unwrap();
    let mut worker = WorkerProcess::new(spawn_serve(&app, "worker", worker_dir.path()));
    let (_, mut stream) = upload_and_follow(&app).await;
    let events = stream.collect(Duration::from_secs(240)).await;
    check_stream(&events, "completed");
    let progress = events.iter().filter(|e| e.event == "progress").count();
    assert!(
        progress >= 10,
        "only {progress} progress events crossed processes"
    );
    let statuses: Vec<&str> = events
        .iter()
        .filter(|e| e.event == "status")
        .map(|e| e.data["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"processing"), "{statuses:?}");
    let log = worker.stop();
    assert!(log.contains("conversion completed"), "{log}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_video_ends_its_stream_with_that_status() {
    let app = spawn_app_with_workers(|_| {}).await;
    let (id, mut stream) = upload_and_follow(&app).await;
    assert_eq!(
        stream.next(Duration::from_secs(10)).await.unwrap().event,
        "status"
    );
    assert_eq!(
        app.post(&format!("/v1/videos/{id}/cancel")).await.status(),
        202
    );
    let events = stream.collect(Duration::from_secs(60)).await;
    let last = events.last().unwrap();
    assert_eq!(last.event, "status");
    assert_eq!(last.data["status"], "canceled", "{events:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_video_ends_its_stream_with_deleted_and_an_unknown_one_is_404() {
    // No worker: the video stays pending, so nothing but the delete happens to it.
    let app = spawn_app().await;
    let (id, mut stream) = upload_and_follow(&app).await;
    let first = stream.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        (first.event.as_str(), &first.data["status"]),
        ("status", &"pending".into())
    );
    // An id this stream never gave (beyond the video's version) gets a snapshot, not silence.
    let url = events_url(&app, &id);
    let mut unknown_id = sse::connect(&url, Some(1_000_000)).await.unwrap();
    let snapshot = unknown_id.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(snapshot.id, first.id);
    drop(unknown_id);
    assert_eq!(app.delete(&format!("/v1/videos/{id}")).await.status(), 204);
    let rest = stream.collect(Duration::from_secs(30)).await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0].event, "deleted");
    assert_eq!(rest[0].data["id"], id.as_str());

    let unknown = sse::connect(&events_url(&app, &uuid::Uuid::new_v4().to_string()), None)
        .await
        .err()
        .unwrap();
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_faster_than_ten_a_second_is_thinned_and_the_newest_value_wins() {
    // No worker: the test writes the progress itself, at about 100 updates a second.
    let app = spawn_app().await;
    let (id, mut stream) = upload_and_follow(&app).await;
    let uuid: uuid::Uuid = id.parse().unwrap();
    stream.next(Duration::from_secs(10)).await.unwrap();
    let db = sqlx::PgPool::connect(app.config.database_url.expose())
        .await
        .unwrap();
    let writes = 150;
    let started = std::time::Instant::now();
    for frames in 1..=writes {
        sqlx::query(
            "UPDATE videos SET progress = jsonb_build_object('frames_done', $2::int) WHERE id = $1",
        )
        .bind(uuid)
        .bind(frames)
        .execute(&db)
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let writing = started.elapsed().as_secs_f64();
    // The newest value comes once the thinning lets it through; only then end the video (a
    // final status makes a held progress value moot).
    let mut events = Vec::new();
    loop {
        let event = stream
            .next(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("the stream ended before the newest value: {events:?}"));
        let newest = event.event == "progress" && event.data["progress"]["frames_done"] == writes;
        events.push(event);
        if newest {
            break;
        }
    }
    sqlx::query("UPDATE videos SET status = 'canceled', finished_at = now() WHERE id = $1")
        .bind(uuid)
        .execute(&db)
        .await
        .unwrap();
    events.extend(stream.collect(Duration::from_secs(30)).await);
    let frames: Vec<u64> = events
        .iter()
        .filter(|e| e.event == "progress")
        .map(|e| e.data["progress"]["frames_done"].as_u64().unwrap())
        .collect();
    // One event at once, then one per 100 ms, over the writes and one more period; two more
    // for notifications that arrive later at the end than at the start.
    assert!(
        frames.len() as f64 <= writing * 10.0 + 4.0,
        "{} progress events for {writes} writes in {writing:.2} s: {frames:?}",
        frames.len()
    );
    assert!(frames.len() >= 3, "{frames:?}");
    assert!(frames.windows(2).all(|w| w[0] < w[1]), "{frames:?}");
    assert_eq!(
        *frames.last().unwrap(),
        writes as u64,
        "the newest value is sent last"
    );
    assert_eq!(events.last().unwrap().data["status"], "canceled");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_missed_while_the_listener_reconnects_still_reaches_the_stream() {
    let app = spawn_app().await;
    let (id, mut stream) = upload_and_follow(&app).await;
    stream.next(Duration::from_secs(10)).await.unwrap();
    // Cut the API's LISTEN connection and, in the same statement, end the video: its
    // notification goes out while nobody listens, so it is lost.
    let db = sqlx::PgPool::connect(app.config.database_url.expose())
        .await
        .unwrap();
    let cut: i64 = sqlx::query_scalar(
        "WITH cut AS (
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%hls_transcoder_video_events%')
         UPDATE videos SET status = 'canceled', finished_at = now()
         WHERE id = $1 AND (SELECT count(*) FROM cut) > 0
         RETURNING (SELECT count(*) FROM cut)",
    )
    .bind(id.parse::<uuid::Uuid>().unwrap())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(cut, 1, "one listener connection was cut");
    // Once listening again, the feed has the stream read its video: the final status arrives.
    let events = stream.collect(Duration::from_secs(30)).await;
    let last = events.last().expect("an event after the reconnection");
    assert_eq!(
        (last.event.as_str(), &last.data["status"]),
        ("status", &"canceled".into())
    );
    app.stop().await;
}
