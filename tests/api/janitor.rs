//! The upload directory and the staged uploads are swept of files no job will convert. The
//! bucket here is in memory: the sweep's rules need the database, not S3.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hls_ladder_server::jobs::janitor::sweep;
use hls_ladder_server::storage::{MemoryStore, ObjectHeaders, ObjectStore};
use hls_ladder_server::uploads::Uploads;
use uuid::Uuid;

use crate::helpers::{drop_database, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_keeps_only_uploads_a_job_may_still_need() {
    let temp = tempfile::tempdir().unwrap();
    let config = test_config(temp.path());
    let pool = hls_ladder_server::db::connect_and_migrate(config.database_url.expose(), 2)
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

    let uploads = Uploads::new(dir.to_path_buf(), Arc::new(MemoryStore::new("memory://b")));
    let removed = sweep(
        &pool,
        &uploads,
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
    drop_database(config.database_url.expose()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_uploads_in_the_bucket_are_swept_by_the_same_rules() {
    use hls_ladder_server::jobs::janitor::sweep_staged;
    use hls_ladder_server::storage::source_key;
    let temp = tempfile::tempdir().unwrap();
    let config = test_config(temp.path());
    let pool = hls_ladder_server::db::connect_and_migrate(config.database_url.expose(), 2)
        .await
        .unwrap();
    let store = Arc::new(MemoryStore::new("memory://bucket"));
    let uploads = Uploads::new(temp.path().to_path_buf(), store.clone());
    let stage = |id: Uuid| {
        let store = store.clone();
        async move {
            let body = bytes::Bytes::from_static(b"x");
            let headers = ObjectHeaders {
                content_type: "video/mp4",
                cache_control: "no-cache",
            };
            store.put(&source_key(id), body, headers).await.unwrap();
        }
    };
    let mut kept = Vec::new();
    for (status, finished_seconds_ago) in [
        ("pending", None),
        ("processing", None),
        ("canceled", Some(1)),
        ("completed", Some(1)),
        ("failed", Some(1)),
        ("failed", Some(48 * 3600)),
    ] {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO videos (id, status, source_bytes, source, finished_at, source_key)
             VALUES ($1, $2, 1, '{}', now() - make_interval(secs => $3), $4)",
        )
        .bind(id)
        .bind(status)
        .bind(finished_seconds_ago.map(f64::from))
        .bind(source_key(id))
        .execute(&pool)
        .await
        .unwrap();
        stage(id).await;
        if ["pending", "processing"].contains(&status)
            || finished_seconds_ago == Some(1) && status == "failed"
        {
            kept.push(source_key(id));
        }
    }
    // Staged, then the row was never written (a crash) or was deleted: removed once old.
    stage(Uuid::now_v7()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let arriving = Uuid::now_v7();
    stage(arriving).await;
    kept.push(source_key(arriving));

    let removed = sweep_staged(
        &pool,
        &uploads,
        Duration::from_secs(24 * 3600),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    let mut left = store.keys();
    left.sort();
    kept.sort();
    assert_eq!(left, kept);
    assert_eq!(removed, 4);
    pool.close().await;
    drop_database(config.database_url.expose()).await;
}
