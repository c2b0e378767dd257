//! The import pool: on every API node, up to `IMPORT_CONCURRENCY` downloads at once, each
//! claimed from the database under a lease (so that an import whose node died is started
//! again elsewhere, or by the same node once restarted), then probed and queued like any
//! upload.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::ImportError;
use crate::api::AppState;
use crate::api::upload_intake::sanitize_filename;
use crate::db::imports::{self, ClaimedImport, Imported, MAX_IMPORT_ATTEMPTS};
use crate::uploads::Upload;

/// How often a node looks for imports that other nodes recorded or gave up.
const POLL: Duration = Duration::from_secs(2);

/// Runs the pool until `stop`; downloads still running then are given back.
pub async fn run(state: AppState, stop: CancellationToken) {
    let imports = state.imports.clone();
    let slots = Arc::new(Semaphore::new(imports.settings.concurrency.max(1)));
    let owner = Uuid::new_v4();
    let lease = imports.settings.lease.as_secs_f64();
    let mut running = tokio::task::JoinSet::new();
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = stop.cancelled() => break,
        };
        while running.try_join_next().is_some() {}
        match imports::claim(&state.pool, owner, lease).await {
            Ok(Some(import)) => {
                let (state, stop) = (state.clone(), stop.clone());
                running.spawn(async move {
                    let _slot = slot;
                    run_one(&state, owner, import, stop).await;
                });
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not look for imports"),
        }
        drop(slot);
        tokio::select! {
            () = imports.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            () = stop.cancelled() => break,
        }
    }
    while running.join_next().await.is_some() {}
}

/// Downloads one import while keeping its lease; stops when the lease is lost (canceled,
/// deleted) or the node stops.
#[tracing::instrument(skip_all, fields(video_id = %import.id, attempt = import.attempt))]
async fn run_one(state: &AppState, owner: Uuid, import: ClaimedImport, stop: CancellationToken) {
    let id = import.id;
    if import.attempt > MAX_IMPORT_ATTEMPTS {
        // Its downloads died with their nodes again and again: not one more.
        state.uploads.discard_local(id).await;
        let message = format!(
            "the download was interrupted {} times (the server running it stopped); retry to try again",
            import.attempt - 1
        );
        if let Err(error) = imports::fail(&state.pool, id, owner, "import-failed", &message).await {
            tracing::warn!(%error, "could not record the import's failure");
        }
        return;
    }
    let lost = CancellationToken::new();
    let keeper = tokio::spawn(keep_lease(
        state.pool.clone(),
        id,
        owner,
        state.imports.settings.lease,
        lost.clone(),
    ));
    let outcome = tokio::select! {
        outcome = import_one(state, &import) => Some(outcome),
        () = lost.cancelled() => None,
        () = stop.cancelled() => None,
    };
    keeper.abort();
    let pool = &state.pool;
    let recorded = match outcome {
        None => {
            state.uploads.discard_local(id).await;
            if stop.is_cancelled() {
                tracing::info!("import interrupted by the shutdown; it starts again later");
                imports::release(pool, id, owner).await
            } else {
                tracing::info!("import abandoned: the video was canceled or deleted");
                Ok(())
            }
        }
        Some(Ok(imported)) => {
            let done = imports::complete(
                pool,
                id,
                owner,
                &Imported {
                    source_bytes: imported.bytes,
                    source: imported.source,
                    content_type: imported.content_type.as_deref(),
                    original_filename: imported.filename.as_deref(),
                    source_key: imported.upload.staged_key(),
                },
            )
            .await;
            if !matches!(done, Ok(true)) {
                state.uploads.discard(&imported.upload).await;
            } else {
                tracing::info!(bytes = imported.bytes, "import queued");
            }
            done.map(|_| ())
        }
        Some(Err(Failure::Retry(reason))) if import.attempt < MAX_IMPORT_ATTEMPTS => {
            tracing::warn!(%reason, "import given back, to be tried again");
            state.uploads.discard_local(id).await;
            tokio::time::sleep(POLL).await;
            imports::release(pool, id, owner).await
        }
        Some(Err(failure)) => {
            state.uploads.discard_local(id).await;
            let (code, message) = failure.code_and_message(import.attempt);
            tracing::info!(code, %message, "import failed");
            imports::fail(pool, id, owner, code, &message)
                .await
                .map(|_| ())
        }
    };
    if let Err(error) = recorded {
        // The lease runs out and the import starts again elsewhere.
        tracing::warn!(%error, "could not record the import's outcome");
    }
}

/// Renews the lease every third of it; cancels `lost` when it is lost.
async fn keep_lease(
    pool: sqlx::PgPool,
    id: Uuid,
    owner: Uuid,
    lease: Duration,
    lost: CancellationToken,
) {
    let mut every = tokio::time::interval(lease / 3);
    every.tick().await;
    loop {
        every.tick().await;
        match imports::renew(&pool, id, owner, lease.as_secs_f64()).await {
            Ok(true) => {}
            Ok(false) => return lost.cancel(),
            Err(error) => tracing::warn!(%error, "could not renew an import's lease"),
        }
    }
}

/// A downloaded, probed import, ready to queue.
struct ImportedFile {
    bytes: i64,
    source: serde_json::Value,
    content_type: Option<String>,
    filename: Option<String>,
    upload: Upload,
}

/// Why an import did not become a pending video.
enum Failure {
    /// The URL's fault (or the file's): the video fails with this code.
    Final { code: &'static str, message: String },
    /// This node's fault (disk, bucket, probe capacity): tried again.
    Retry(String),
}

impl Failure {
    fn code_and_message(self, attempt: i32) -> (&'static str, String) {
        match self {
            Failure::Final { code, message } => (code, message),
            Failure::Retry(reason) => (
                "import-failed",
                format!(
                    "the server could not take in the download after {attempt} tries ({reason}); retry later"
                ),
            ),
        }
    }
}

async fn import_one(state: &AppState, import: &ClaimedImport) -> Result<ImportedFile, Failure> {
    let id = import.id;
    let url = Url::parse(&import.url).map_err(|error| Failure::Final {
        code: "url-not-allowed",
        message: format!("the URL cannot be read: {error}"),
    })?;
    let partial = state.uploads.partial_path(id);
    let downloaded = match state.imports.downloader.download(&url, &partial).await {
        Ok(downloaded) => downloaded,
        Err(ImportError::Local(error)) => return Err(Failure::Retry(error.to_string())),
        Err(error) => {
            return Err(Failure::Final {
                code: error.code(),
                message: error.to_string(),
            });
        }
    };
    let path = state.uploads.path(id);
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|error| Failure::Retry(format!("cannot keep the download: {error}")))?;
    let source = match crate::api::create_video::examine_upload(state, &path).await {
        Ok(source) => source,
        Err(refused) if refused.status().is_server_error() => {
            return Err(Failure::Retry(refused.detail().to_string()));
        }
        Err(refused) => {
            return Err(Failure::Final {
                code: refused.code(),
                message: refused.detail().to_string(),
            });
        }
    };
    let upload = if state.stage_sources {
        state
            .uploads
            .stage(id)
            .await
            .map_err(|error| Failure::Retry(format!("cannot stage the download: {error}")))?
    } else {
        Upload::of(id, None)
    };
    let filename = downloaded
        .final_url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .filter(|name| !name.is_empty())
        .map(sanitize_filename);
    Ok(ImportedFile {
        bytes: i64::try_from(downloaded.bytes).unwrap_or(i64::MAX),
        source: serde_json::to_value(&source).unwrap_or_default(),
        content_type: downloaded.content_type,
        filename,
        upload,
    })
}
