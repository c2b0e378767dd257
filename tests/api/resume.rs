//! A worker killed mid-conversion (SIGKILL): the next attempt continues after the segments
//! every rendition had published, keeps them where they are, and the output cannot be told
//! from an uninterrupted one.

use std::time::{Duration, Instant};

use hls_ladder_server::storage::ObjectStore;
use serde_json::Value;

use crate::fencing::keys_under;
use crate::helpers::{another_process, decode_url, long_clip, spawn_app, test_store};
use crate::workers::{WorkerProcess, spawn_serve};

/// The resume point saved for `id`: (segments, frames), if any.
async fn saved_point(db: &sqlx::PgPool, id: &str) -> Option<(u64, u64)> {
    let point: Option<Value> =
        sqlx::query_scalar("SELECT point FROM resume_points WHERE video_id = $1::uuid")
            .bind(id)
            .fetch_optional(db)
            .await
            .unwrap();
    point.map(|p| {
        (
            p["segments"].as_u64().unwrap(),
            p["frames"].as_u64().unwrap(),
        )
    })
}

/// Presentation times of one stream's packets in a playlist, as ffprobe reads them.
fn packet_times(url: &str, stream: &str) -> Vec<f64> {
    let output = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", stream])
        .args(["-show_entries", "packet=pts_time", "-of", "csv=p=0", url])
        .output()
        .expect("ffprobe runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_conversion_resumes_after_its_published_segments() {
    let app = spawn_app().await;
    let temp_dir = app.config.temp_dir.clone().unwrap();
    let clip = long_clip(&temp_dir);
    let db = sqlx::PgPool::connect(app.config.database_url.expose())
        .await
        .unwrap();
    let mut doomed = WorkerProcess::new(spawn_serve(&app, "all", &temp_dir));
    let id = app.upload_id(&clip).await;

    // Killed once at least three segments of every rendition are stored and recorded.
    let deadline = Instant::now() + Duration::from_secs(90);
    while saved_point(&db, &id)
        .await
        .is_none_or(|(segments, _)| segments < 3)
    {
        assert!(Instant::now() < deadline, "no resume point was saved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    doomed.kill();
    let (segments, frames) = saved_point(&db, &id).await.unwrap();
    assert!(frames < 600, "killed before the end: {frames} frames");

    // Another worker takes the job once the lease has run out.
    let rescuer = another_process(&app, 1).await;
    // Its progress starts where the killed attempt's published segments end.
    let mut lowest_seen = u64::MAX;
    let video = loop {
        let video = app.get_video(&id).await;
        if video["status"] != "processing" && video["status"] != "pending" {
            break video;
        }
        if video["attempts"] == 2 && video["status"] == "processing" {
            if let Some(done) = video["progress"]["frames_done"].as_u64() {
                lowest_seen = lowest_seen.min(done);
            }
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(120),
            "{video}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(video["status"], "completed", "{video}");
    assert_eq!(video["attempts"], 2, "{video}");
    assert_eq!(video["resumed_from_segment"], segments, "{video}");
    assert_eq!(video["resume_refused"], Value::Null, "{video}");
    if lowest_seen != u64::MAX {
        assert!(lowest_seen >= frames, "progress went back to {lowest_seen}");
    }

    // The playlists name the first attempt's segments where it stored them, and the rest
    // under the second claim's prefix; the first claim keeps exactly those segments.
    let store = test_store(&app.config).await;
    let mut referenced = Vec::new();
    for rendition in video["renditions"].as_array().unwrap() {
        let name = rendition["name"].as_str().unwrap();
        let playlist = format!("videos/{id}/2/{}", rendition["playlist"].as_str().unwrap());
        let text = store.get_bytes(&playlist).await.unwrap().unwrap();
        let text = String::from_utf8(text.to_vec()).unwrap();
        let uris: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(uris.len() as u64, rendition["segments"].as_u64().unwrap());
        for (index, uri) in uris.iter().enumerate() {
            let number = index + 1;
            if (number as u64) <= segments {
                assert_eq!(
                    *uri,
                    format!("../../1/{name}/segment_{number:05}.ts"),
                    "{text}"
                );
                referenced.push(format!("videos/{id}/1/{name}/segment_{number:05}.ts"));
            } else {
                assert_eq!(*uri, format!("segment_{number:05}.ts"), "{text}");
            }
        }
    }
    referenced.sort();
    let mut left = keys_under(&app, &format!("videos/{id}/1/")).await;
    left.sort();
    assert_eq!(left, referenced, "what is left of the killed attempt");

    // Decodes whole with no warning (TS continuity across the join included), every frame
    // once, and the sound without a gap or an overlap at the join.
    let url = video["playback_url"].as_str().unwrap();
    let (errors, duration) = decode_url(url);
    assert!(errors.is_empty(), "{errors}");
    assert!((duration - 20.0).abs() < 0.1, "{duration}");
    let media = url.replace(
        "master.m3u8",
        video["renditions"][0]["playlist"].as_str().unwrap(),
    );
    assert_eq!(packet_times(&media, "v:0").len(), 600);
    let audio = packet_times(&media, "a:0");
    let step = 1024.0 / 48_000.0;
    for pair in audio.windows(2) {
        assert!(
            (pair[1] - pair[0] - step).abs() < 1e-3,
            "audio jumps from {} to {}",
            pair[0],
            pair[1]
        );
    }
    rescuer.stop().await;
    app.stop().await;
}
