//! Where a job can be resumed: loading the point an earlier claim saved (checked against the
//! bucket), and saving the points this claim's conversion offers as its segments are stored.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::job_queue;
use crate::storage::{ObjectStore, claim_of_key, claim_prefix, resolve_key};
use hls_ladder::ResumePoint;

/// How often a running job's resume point is saved at most: a crash costs at most this much
/// more work than the segment in progress.
pub(super) const SAVE_INTERVAL: Duration = Duration::from_millis(500);
/// A long video's point lists every segment: it is saved less often as it grows, so that
/// the database is written at most about this many bytes a second.
const SAVE_BYTES_PER_SECOND: f64 = 100_000.0;

/// A point an earlier claim saved, made usable by this one.
pub(super) struct Resumable {
    pub(super) point: ResumePoint,
    /// The keys of the segments it names, all present in the bucket: kept by every cleanup.
    pub(super) keys: BTreeSet<String>,
}

/// What the job starts from: a point to resume, or why there is none to use (`None` for a
/// job no earlier claim got far with).
pub(super) enum Start {
    Resume(Box<Resumable>),
    FromTheBeginning(Option<String>),
}

/// The point an earlier claim of video `id` saved, rebased for `claim` and checked: every
/// segment it names must be in the bucket under a claim before this one.
pub(super) async fn load(pool: &PgPool, store: &dyn ObjectStore, id: Uuid, claim: i64) -> Start {
    let (saved_by, json) = match job_queue::resume_point(pool, id).await {
        Ok(Some(saved)) => saved,
        Ok(None) => return Start::FromTheBeginning(None),
        Err(error) => {
            tracing::warn!(%error, "could not read the resume point; converting from the beginning");
            return Start::FromTheBeginning(Some(format!(
                "the resume point could not be read: {error}"
            )));
        }
    };
    let refuse = |reason: String| {
        tracing::warn!(reason, "not resuming; converting from the beginning");
        Start::FromTheBeginning(Some(reason))
    };
    let mut point: ResumePoint = match serde_json::from_value(json) {
        Ok(point) => point,
        Err(error) => return refuse(format!("the saved resume point is not readable: {error}")),
    };
    if saved_by >= claim {
        return refuse(format!(
            "the resume point was saved by claim {saved_by}, not an earlier one"
        ));
    }
    point.rebase(&format!("../{saved_by}/"));
    let Some(keys) = segment_keys(&point, id, claim) else {
        return refuse("the resume point names segments outside the video's earlier claims".into());
    };
    // Every segment named must still be there: listed per claim, not asked one by one.
    let claims: BTreeSet<i64> = keys.iter().filter_map(|k| claim_of_key(id, k)).collect();
    let mut present = BTreeSet::new();
    for earlier in claims {
        match store.list(&claim_prefix(id, earlier)).await {
            Ok(objects) => present.extend(objects.into_iter().map(|o| o.key)),
            Err(error) => {
                return refuse(format!("the earlier segments could not be listed: {error}"));
            }
        }
    }
    if let Some(missing) = keys.iter().find(|k| !present.contains(*k)) {
        return refuse(format!("a published segment is missing ({missing})"));
    }
    tracing::info!(
        segments = point.segments(),
        seconds = point.seconds(),
        from_claim = saved_by,
        "resuming after the published segments"
    );
    Start::Resume(Box::new(Resumable { point, keys }))
}

/// The keys of the segments `point` names, from claim `claim`'s playlists; `None` when one
/// is not under an earlier claim of video `id`.
pub(super) fn segment_keys(point: &ResumePoint, id: Uuid, claim: i64) -> Option<BTreeSet<String>> {
    let prefix = claim_prefix(id, claim);
    point
        .segment_paths()
        .map(|path| {
            let (dir, uri) = path.split_once('/')?;
            let key = resolve_key(&prefix, dir, uri)?;
            claim_of_key(id, &key)
                .is_some_and(|n| n > 0 && n <= claim)
                .then_some(key)
        })
        .collect()
}

/// Saves the newest point offered at most every [`SAVE_INTERVAL`] (less often for a long
/// video's big point), and the newest one once
/// more when the conversion ends (so a job handed back at shutdown resumes from its last
/// stored segment).
pub(super) async fn save(
    pool: PgPool,
    id: Uuid,
    lease_token: Uuid,
    claim: i64,
    mut offered: watch::Receiver<Option<Arc<ResumePoint>>>,
    done: CancellationToken,
) {
    // Returns the pause before the next write.
    let write = |point: Arc<ResumePoint>| {
        let pool = pool.clone();
        async move {
            let Ok(json) = serde_json::to_value(&*point) else {
                return SAVE_INTERVAL;
            };
            match job_queue::save_resume_point(&pool, id, lease_token, claim, &json).await {
                Ok(true) => tracing::debug!(segments = point.segments(), "resume point saved"),
                Ok(false) => tracing::debug!("resume point not saved: the job is not ours"),
                Err(error) => tracing::debug!(%error, "resume point not saved"),
            }
            let bytes = json.to_string().len() as f64;
            SAVE_INTERVAL.max(Duration::from_secs_f64(bytes / SAVE_BYTES_PER_SECOND))
        }
    };
    let mut saved: Option<Arc<ResumePoint>> = None;
    loop {
        tokio::select! {
            () = done.cancelled() => break,
            changed = offered.changed() => if changed.is_err() { break },
        }
        let newest = offered.borrow_and_update().clone();
        let mut pause = SAVE_INTERVAL;
        if let Some(point) = newest {
            pause = write(Arc::clone(&point)).await;
            saved = Some(point);
        }
        tokio::select! {
            () = done.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    let newest = offered.borrow().clone();
    if let Some(point) = newest {
        if saved.as_ref().is_none_or(|s| !Arc::ptr_eq(s, &point)) {
            write(point).await;
        }
    }
}
