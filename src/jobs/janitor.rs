//! Removes uploads that no job will convert any more, so the upload directory does not fill
//! up: those of completed and canceled videos, those of failed videos once their retention for
//! a retry ran out, and files with no video at all (a crash between storing an upload and
//! recording it).

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::Utc;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often the directory is swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// A file with no video row is left alone this long after its last write: it may be an
/// upload still arriving, whose row is inserted once it is whole.
const ORPHAN_AGE: Duration = Duration::from_secs(15 * 60);

/// Sweeps `dir` every minute until `stop`.
pub(super) async fn run(
    pool: PgPool,
    dir: std::path::PathBuf,
    keep_failed: Duration,
    stop: CancellationToken,
) {
    loop {
        match sweep(&pool, &dir, keep_failed, ORPHAN_AGE).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed uploads no job needs"),
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "upload sweep failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
    }
}

/// One sweep; returns how many files it removed. Only `{uuid}.upload` files are considered.
pub async fn sweep(
    pool: &PgPool,
    dir: &Path,
    keep_failed: Duration,
    orphan_age: Duration,
) -> anyhow::Result<usize> {
    let mut files = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".upload"))
            .and_then(|stem| Uuid::parse_str(stem).ok())
        else {
            continue;
        };
        let age = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        files.push((id, entry.path(), age));
    }
    if files.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = files.iter().map(|(id, _, _)| *id).collect();
    let rows = sqlx::query!(
        "SELECT id, status, finished_at FROM videos WHERE id = ANY($1)",
        &ids
    )
    .fetch_all(pool)
    .await?;
    let keep_failed = chrono::Duration::from_std(keep_failed).unwrap_or(chrono::Duration::MAX);
    let mut removed = 0;
    for (id, path, age) in files {
        let row = rows.iter().find(|r| r.id == id);
        let unneeded = match row {
            None => age > orphan_age,
            Some(r) => match r.status.as_str() {
                "completed" | "canceled" => true,
                "failed" => r
                    .finished_at
                    .is_none_or(|finished| Utc::now() - finished > keep_failed),
                _ => false,
            },
        };
        if unneeded && tokio::fs::remove_file(&path).await.is_ok() {
            tracing::debug!(video_id = %id, "upload removed");
            removed += 1;
        }
    }
    Ok(removed)
}
