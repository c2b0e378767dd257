//! Progressive publishing through the service: a video is playable while it converts, a player
//! that starts then plays it to the end, clients hear of it (event stream, webhook), and a
//! canceled playable video disappears for viewers.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{TestApp, long_clip, spawn_app_with_workers};
use crate::sse;
use crate::webhook_receiver::Receiver;

/// Waits until the video is playable while still converting; returns it.
async fn playable(app: &TestApp, id: &str) -> Value {
    let video = app
        .wait_for(id, Duration::from_secs(60), "playable", |v| {
            !v["playback_url"].is_null() || v["status"] != "processing" && v["status"] != "pending"
        })
        .await;
    assert_eq!(video["status"], "processing", "{video}");
    assert!(video["playable_at"].is_string(), "{video}");
    video
}

/// Runs ffmpeg on `url` as a player that starts at the beginning of a growing playlist and
/// follows it until the end: how long it decoded, and what it complained about.
fn play_from_start(url: &str) -> (f64, String) {
    let output = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "warning",
            "-live_start_index",
            "0",
            "-i",
            url,
        ])
        .args(["-map", "0:v:0", "-f", "null", "-"])
        .args(["-progress", "pipe:1", "-nostats"])
        .output()
        .expect("ffmpeg runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "ffmpeg failed on {url}: {stderr}");
    let seconds = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("out_time_us="))
        .filter_map(|us| us.trim().parse::<f64>().ok())
        .fold(0.0, f64::max)
        / 1e6;
    (seconds, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_is_playable_while_converting_and_a_player_started_then_plays_to_the_end() {
    let receiver = Receiver::start(&[]).await;
    let url = receiver.url.clone();
    let app = spawn_app_with_workers(|c| {
        c.webhooks.webhook_urls = vec![url.into()];
        c.webhooks.webhook_secret = Some("whsec-progressive-test".into());
    })
    .await;
    let temp = tempfile::tempdir().unwrap();
    let id = app.upload_id(&long_clip(temp.path())).await;
    let mut events = sse::connect(&app.url(&format!("/v1/videos/{id}/events")), None)
        .await
        .unwrap_or_else(|_| panic!("no event stream"));

    let video = playable(&app, &id).await;
    let playback_url = video["playback_url"].as_str().unwrap().to_string();
    // What a player reads now: a master naming growing EVENT playlists that start at the
    // beginning, every segment they name already there.
    let client = reqwest::Client::new();
    let master = client.get(&playback_url).send().await.unwrap();
    assert_eq!(master.status(), 200);
    let master = master.text().await.unwrap();
    let variant = master.lines().find(|l| l.ends_with(".m3u8")).unwrap();
    let base = playback_url.trim_end_matches("master.m3u8");
    let media = client.get(format!("{base}{variant}")).send().await.unwrap();
    assert_eq!(media.headers()["cache-control"], "public, max-age=1");
    let media = media.text().await.unwrap();
    assert!(media.contains("#EXT-X-PLAYLIST-TYPE:EVENT"), "{media}");
    assert!(media.contains("#EXT-X-START:TIME-OFFSET=0"), "{media}");
    let rendition = variant.trim_end_matches("index.m3u8");
    for segment in media.lines().filter(|l| l.ends_with(".ts")) {
        let url = format!("{base}{rendition}{segment}");
        let answer = client.head(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{url} is listed but not there");
    }

    // A player that starts now plays the whole video, following the playlist to its end.
    let player_url = playback_url.clone();
    let (played, complaints) = tokio::task::spawn_blocking(move || play_from_start(&player_url))
        .await
        .unwrap();
    let done = app.wait_until_finished(&id, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        (played - 20.0).abs() < 0.5,
        "the player stopped at {played:.2} s of 20: {complaints}"
    );
    assert!(!complaints.contains("error"), "{complaints}");
    // Completed: the same URL, the first playable moment kept, final playlists.
    assert_eq!(done["playback_url"], playback_url.as_str());
    assert_eq!(done["playable_at"], video["playable_at"]);
    let media = client.get(format!("{base}{variant}")).send().await.unwrap();
    assert_eq!(media.headers()["cache-control"], "public, max-age=86400");
    assert!(media.text().await.unwrap().contains("#EXT-X-ENDLIST"));

    // The event stream said `playable` (with the URL) before `completed`.
    let events = events.collect(Duration::from_secs(30)).await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    let playable_at = names
        .iter()
        .position(|n| *n == "playable")
        .expect("no playable event");
    let completed_at = events
        .iter()
        .position(|e| e.event == "status" && e.data["status"] == "completed")
        .unwrap();
    assert!(playable_at < completed_at, "{names:?}");
    assert_eq!(
        events[playable_at].data["playback_url"],
        playback_url.as_str()
    );
    // And so did the webhooks: video.playable, then video.completed.
    let received = receiver.wait_for(2, Duration::from_secs(30)).await;
    let types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["video.playable", "video.completed"]);
    assert_eq!(received[0].video()["playback_url"], playback_url.as_str());
    app.stop().await;
}

/// A player holds a growing playlist and revalidates it as browsers do (`If-None-Match` and
/// `If-Modified-Since` from the copy it has). Once the video is complete, it must get the
/// final playlist, not `304 Not Modified`: `Last-Modified` has whole seconds, and LocalStack
/// answers from `If-Modified-Since` alone, so a final version stored within the second of
/// the growing one would leave the player on the growing one for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_revalidating_a_growing_playlist_gets_the_final_one() {
    let app = spawn_app_with_workers(|_| {}).await;
    let temp = tempfile::tempdir().unwrap();
    let id = app.upload_id(&long_clip(temp.path())).await;
    let video = playable(&app, &id).await;
    let playback_url = video["playback_url"].as_str().unwrap().to_string();
    let base = playback_url.trim_end_matches("master.m3u8").to_string();
    let client = reqwest::Client::new();
    let master = client
        .get(&playback_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let playlists: Vec<String> = master
        .lines()
        .filter(|l| l.ends_with(".m3u8"))
        .map(|l| format!("{base}{l}"))
        .collect();
    assert!(!playlists.is_empty(), "{master}");

    // The validators of the newest growing version of each playlist, read every 50 ms.
    let mut held: Vec<Option<(String, String, usize)>> = vec![None; playlists.len()];
    loop {
        for (url, held) in playlists.iter().zip(held.iter_mut()) {
            let answer = client.get(url).send().await.unwrap();
            let header = |name: &str| answer.headers()[name].to_str().unwrap().to_string();
            let (etag, modified) = (header("etag"), header("last-modified"));
            let text = answer.text().await.unwrap();
            if text.contains("#EXT-X-PLAYLIST-TYPE:EVENT") {
                let segments = text.lines().filter(|l| l.ends_with(".ts")).count();
                *held = Some((etag, modified, segments));
            }
        }
        let status = app.get_json(&format!("/v1/videos/{id}")).await["status"].clone();
        if status != "processing" {
            assert_eq!(status, "completed");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for (url, held) in playlists.iter().zip(held) {
        let (etag, modified, segments) = held.expect("a growing version was seen");
        let answer = client
            .get(url)
            .header("if-none-match", &etag)
            .header("if-modified-since", &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            200,
            "{url}: the final playlist is not served to a player holding the growing one \
             with {segments} segments ({etag}, {modified})"
        );
        let text = answer.text().await.unwrap();
        assert!(text.contains("#EXT-X-ENDLIST"), "{url}: {text}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_playable_video_takes_it_away_from_viewers() {
    let app = spawn_app_with_workers(|_| {}).await;
    let temp = tempfile::tempdir().unwrap();
    let id = app.upload_id(&long_clip(temp.path())).await;
    let video = playable(&app, &id).await;
    let playback_url = video["playback_url"].as_str().unwrap().to_string();
    assert_eq!(
        app.post(&format!("/v1/videos/{id}/cancel")).await.status(),
        202
    );
    let canceled = app.wait_until_finished(&id, Duration::from_secs(60)).await;
    assert_eq!(canceled["status"], "canceled", "{canceled}");
    assert!(canceled["playback_url"].is_null(), "{canceled}");
    assert!(canceled["playable_at"].is_null(), "{canceled}");
    let gone = reqwest::get(&playback_url).await.unwrap();
    assert!(
        gone.status() == 404 || gone.status() == 403,
        "{playback_url}: {}",
        gone.status()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_at_the_end_makes_a_video_playable_only_when_completed() {
    let app = spawn_app_with_workers(|c| c.conversion.publish_at_end = true).await;
    let temp = tempfile::tempdir().unwrap();
    let id = app.upload_id(&long_clip(temp.path())).await;
    let seen_processing = std::cell::Cell::new(false);
    let done = app
        .wait_for(&id, Duration::from_secs(120), "completed", |v| {
            if v["status"] == "processing" {
                seen_processing.set(true);
                assert!(v["playback_url"].is_null(), "{v}");
            }
            v["status"] == "completed"
        })
        .await;
    assert!(seen_processing.get());
    assert!(done["playable_at"].is_string(), "{done}");
    assert!(done["playback_url"].is_string(), "{done}");
    app.stop().await;
}
