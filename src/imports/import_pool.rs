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
use super::Imports;
use crate::db::imports::{self, ClaimedImport, Imported, MAX_IMPORT_ATTEMPTS};
use crate::intake::{Intake, IntakeError, sanitize_filename};
use crate::lease::{self, LeaseTerms};
use crate::uploads::{Upload, Uploads};

/// How often a node looks for imports that other nodes recorded or gave up.
const POLL: Duration = Duration::from_secs(2);

/// What the import pool works with: the service's parts it shares with the API, and nothing of
/// HTTP.
#[derive(Clone)]
pub struct ImportPool {
    /// The database: the imports are videos in `importing`.
    pub pool: sqlx::PgPool,
    /// Where downloads wait for their conversion.
    pub uploads: Uploads,
    /// Examines downloads as it does uploads.
    pub intake: Intake,
    /// The downloader and the pool's wake-up.
    pub imports: Imports,
    /// Stage downloads in the bucket (`sources/{id}`) for workers on other machines.
    pub stage_sources: bool,
}

/// Runs the pool until `stop`; downloads still running then are given back.
pub async fn run(state: ImportPool, stop: CancellationToken) {
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

/// Claims the next import and runs it to its end (downloaded, examined and queued, or failed,
/// or given back); its video id, or `None` when no import was waiting.
pub async fn run_next(state: &ImportPool) -> sqlx::Result<Option<Uuid>> {
    let owner = Uuid::new_v4();
    let lease = state.imports.settings.lease.as_secs_f64();
    let Some(import) = imports::claim(&state.pool, owner, lease).await? else {
        return Ok(None);
    };
    let id = import.id;
    run_one(state, owner, import, CancellationToken::new()).await;
    Ok(Some(id))
}

/// Downloads one import while keeping its lease; stops when the lease is lost (canceled,
/// deleted) or the node stops.
#[tracing::instrument(skip_all, fields(video_id = %import.id, attempt = import.attempt))]
async fn run_one(state: &ImportPool, owner: Uuid, import: ClaimedImport, stop: CancellationToken) {
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
        LeaseTerms::new(state.imports.settings.lease),
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

/// Keeps the import's lease (see [`crate::lease`]); cancels `lost` once it is lost or could
/// not be renewed in time.
async fn keep_lease(
    pool: sqlx::PgPool,
    id: Uuid,
    owner: Uuid,
    terms: LeaseTerms,
    lost: CancellationToken,
) {
    let claimed_at = tokio::time::Instant::now();
    lease::keep(terms, claimed_at, || async {
        let renewed = imports::renew(&pool, id, owner, terms.seconds()).await?;
        Ok::<_, sqlx::Error>(renewed.then_some(()))
    })
    .await;
    lost.cancel();
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

async fn import_one(state: &ImportPool, import: &ClaimedImport) -> Result<ImportedFile, Failure> {
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
    let source = match state.intake.examine(&path).await {
        Ok(source) => source,
        Err(IntakeError::Refused { code, message }) => {
            return Err(Failure::Final {
                code: code.as_str(),
                message,
            });
        }
        Err(IntakeError::Unavailable(reason) | IntakeError::Failed(reason)) => {
            return Err(Failure::Retry(reason));
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
