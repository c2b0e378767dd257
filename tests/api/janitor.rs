//! The upload directory is swept of files no job will convert.

use std::time::{Duration, SystemTime};

use hls_transcoder::jobs::janitor::sweep;
use uuid::Uuid;

use crate::helpers::{drop_database, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_keeps_only_uploads_a_job_may_still_need() {
    let temp = tempfile::tempdir().unwrap();
    let config = test_config(temp.path());
    let pool = hls_transcoder::db::connect_and_migrate(&config.database_url, 2)
        .await
        .unwrap();
    let dir = temp.path();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);

    // (status, finished this long ago) of each video with a row.
    let rows = [
        ("pending", None),
        ("processing", None),
        ("completed", Some(1)),
        ("canceled", Some(1)),
        ("failed", Some(1)),
        ("failed", Some(48 * 3600)),
    ];
    let mut expected_kept = Vec::new();
    for (status, finished_seconds_ago) in rows {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO videos (id, status, source_bytes, source, finished_at)
             VALUES ($1, $2, 1, '{}', now() - make_interval(secs => $3))",
        )
        .bind(id)
        .bind(status)
        .bind(finished_seconds_ago.map(f64::from))
        .execute(&pool)
        .await
        .unwrap();
        std::fs::write(dir.join(format!("{id}.upload")), b"x").unwrap();
        if status == "pending"
            || status == "processing"
            || (status == "failed" && finished_seconds_ago == Some(1))
        {
            expected_kept.push(format!("{id}.upload"));
        }
    }
    // No row: an upload still arriving (recent) is kept, a crash's leftover (old) is not.
    let arriving = format!("{}.upload", Uuid::now_v7());
    std::fs::write(dir.join(&arriving), b"x").unwrap();
    expected_kept.push(arriving);
    let leftover = dir.join(format!("{}.upload", Uuid::now_v7()));
    std::fs::write(&leftover, b"x").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&leftover)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    // Not ours: never touched.
    std::fs::write(dir.join("notes.txt"), b"x").unwrap();
    expected_kept.push("notes.txt".into());

    let removed = sweep(
        &pool,
        dir,
        Duration::from_secs(24 * 3600),
        Duration::from_secs(600),
    )
    .await
    .unwrap();

    let mut left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    expected_kept.sort();
    assert_eq!(left, expected_kept);
    assert_eq!(removed, 4);
    pool.close().await;
    drop_database(&config.database_url).await;
}
