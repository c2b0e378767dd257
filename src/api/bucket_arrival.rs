//! An upload whose bytes were joined in the bucket (a tus upload's parts, or a direct
//! upload's): probed here exactly like `POST /v1/videos`, then recorded as the video.

use uuid::Uuid;

use super::AppState;
use super::problem::ApiError;
use super::upload_intake::{remove, storage_error};
use crate::db::videos::{self, Inserted, NewVideo};
use crate::intake::IntakeError;

/// An upload whole in the bucket.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arrival<'a> {
    /// The video's id to be.
    pub id: Uuid,
    /// Where it is (`sources/{id}`).
    pub key: &'a str,
    /// The client's file name.
    pub filename: Option<&'a str>,
    /// Its size.
    pub bytes: u64,
}

/// Probes the upload and records the video. With workers elsewhere (`--role api`) the
/// object stays where it is for them; else it is fetched here and removed from the bucket.
/// Refused (a 4xx: the file's fault), the object is removed; the server's fault (5xx: not
/// probed now, disk, database or bucket), the object stays for the caller to try again.
pub(super) async fn accept(state: &AppState, arrival: Arrival<'_>) -> Result<(), ApiError> {
    let Arrival {
        id,
        key,
        filename,
        bytes,
    } = arrival;
    let store = state.store.as_ref();
    tokio::fs::create_dir_all(state.uploads.dir())
        .await
        .map_err(|e| storage_error("cannot create the upload directory", e))?;
    let path = state.uploads.path(id);
    store.download(key, &path).await?;
    let source = match state.intake.examine(&path).await {
        Ok(source) => source,
        // Not now (the server is short of resources): the object stays, to try again.
        Err(error @ IntakeError::Unavailable(_)) => return Err(error.into()),
        Err(error) => {
            let _ = store.delete(key).await;
            return Err(error.into());
        }
    };
    // Workers elsewhere fetch it from the bucket, where it is already; else it waits here.
    let source_key = state.stage_sources.then(|| key.to_string());
    if state.stage_sources {
        remove(&path).await;
    }
    let new_video = NewVideo {
        id,
        source_key: source_key.as_deref(),
        original_filename: filename,
        content_type: None,
        source_bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        source: Some(serde_json::to_value(&source).unwrap_or_default()),
        max_attempts: state.max_attempts,
        import_url: None,
        mp4_download: None,
    };
    match videos::insert(&state.pool, &new_video, None).await {
        Ok(Inserted::New) => {
            if !state.stage_sources {
                let _ = store.delete(key).await;
            }
            Ok(())
        }
        // Only an idempotency key finds an earlier video, and none is given here.
        Ok(Inserted::Existing(_)) => {
            state.uploads.discard_local(id).await;
            Ok(())
        }
        // Not recorded: the object stays in the bucket for the caller to try again.
        Err(error) => {
            state.uploads.discard_local(id).await;
            Err(error.into())
        }
    }
}
