//! The service: database, bucket, workers and HTTP API wired together, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::background::{BackgroundJobs, FreeRunning};
use crate::config::{Role, ServeConfig};
use crate::imports::import_pool::ImportPool;
use crate::intake::{Intake, ProbeRunner};
use crate::jobs::{WorkerPool, WorkerSettings};
use crate::lease::LeaseTerms;
use crate::storage::{BucketAccess, ObjectStore, S3Settings, S3Store, ensure_bucket};
use crate::uploads::Uploads;

/// Uploads of one job's segments in flight at once.
const UPLOAD_CONCURRENCY: usize = 8;
/// How long the HTTP server may take to finish its open connections at shutdown.
const HTTP_DRAIN: Duration = Duration::from_secs(10);

/// A service ready to run: listening, migrated, bucket checked.
pub struct Application {
    listener: TcpListener,
    free_running: FreeRunning,
    state: AppState,
    workers: WorkerSettings,
    webhooks: Option<crate::webhooks::WebhookSettings>,
    /// Ends the event streams at shutdown, so the HTTP server can stop.
    streams_closing: CancellationToken,
    config: ServeConfig,
}

impl Application {
    /// Binds the listener, connects and migrates the database, prepares the S3 bucket.
    pub async fn build(config: ServeConfig) -> anyhow::Result<Application> {
        // A mistake in the flags is told before the bucket is asked anything.
        check(&config)?;
        let settings = S3Settings {
            endpoint: config.storage.s3_endpoint.clone(),
            bucket: config.storage.s3_bucket.clone(),
            region: config.storage.aws_region.clone(),
            path_style: config.storage.s3_path_style,
            public_url: config.storage.s3_public_url.clone(),
            credentials: config
                .storage
                .aws_access_key_id
                .clone()
                .zip(config.storage.aws_secret_access_key.as_ref())
                .map(|(id, secret)| (id, secret.expose_secret().to_string())),
            retry_for: Duration::from_secs_f64(config.storage.s3_retry_seconds.max(0.0)),
        };
        let store = S3Store::new(&settings).await;
        if !config.storage.no_create_bucket {
            let access = if config.access.private_playback {
                BucketAccess::Private
            } else {
                BucketAccess::PublicRead
            };
            ensure_bucket(&store, access)
                .await
                .context("Failed to prepare the bucket")?;
        }
        Application::build_with_store(config, Arc::new(store)).await
    }

    /// Binds the listener, connects and migrates the database, and publishes to `store`
    /// (prepared already) instead of the configured S3 bucket: for instance a
    /// [`MemoryStore`](crate::storage::MemoryStore) in tests.
    pub async fn build_with_store(
        config: ServeConfig,
        store: Arc<dyn ObjectStore>,
    ) -> anyhow::Result<Application> {
        let webhooks = check(&config)?;
        let options = config.convert_options();
        check_file_limit(config.edge.max_connections);
        let pool =
            crate::db::connect_and_migrate(config.database_url.expose(), config.db_connections)
                .await?;
        let upload_dir = config.upload_dir();
        tokio::fs::create_dir_all(&upload_dir)
            .await
            .with_context(|| {
                format!(
                    "Failed to create the upload directory {}",
                    upload_dir.display()
                )
            })?;
        let streams_closing = CancellationToken::new();
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", config.listen))?;
        let state = AppState {
            pool: pool.clone(),
            store: Arc::clone(&store),
            uploads: Uploads::new(upload_dir.clone(), Arc::clone(&store)),
            upload_limit: config.upload_limit.0,
            max_attempts: config.jobs.max_attempts,
            metrics: api::metrics::prometheus(),
            keys: api::auth::ApiKeys::new(&config.access.api_keys, config.access.private_reads),
            stage_sources: config.role == Role::Api,
            upload_limiter: api::rate_limit::UploadLimiter::new(config.upload_rate),
            presenter: crate::video_resource::Presenter {
                playback: config
                    .access
                    .private_playback
                    .then(|| playback_links(&config)),
                public_api_url: config.access.public_api_url.clone(),
            },
            webhook_max_attempts: config.webhooks.webhook_max_attempts,
            web_vendor_dir: api::web_page::vendor_dir(config.web_vendor_dir.as_deref()),
            change_feed: if config.role.serves_api() {
                api::change_feed::ChangeFeed::start(pool.clone(), streams_closing.clone())
            } else {
                api::change_feed::ChangeFeed::idle(streams_closing.clone())
            },
            intake: Intake::new(ProbeRunner::new(
                match &config.probe_binary {
                    Some(binary) => binary.clone(),
                    None => std::env::current_exe()
                        .context("Failed to find this program to probe uploads with")?,
                },
                config.source_limits(),
                config.edge.probe_concurrency,
                Duration::from_secs(config.edge.probe_timeout_seconds.max(1)),
                config.edge.probe_memory_limit.0,
            )),
            upload_pace: api::upload_intake::UploadPace {
                window: Duration::from_secs_f64(config.edge.upload_stall_seconds.max(0.1)),
                min_bytes_per_second: config.edge.upload_min_rate,
            },
            event_streams: api::stream_slots::StreamSlots::new(
                config.edge.max_event_streams,
                config.edge.max_event_streams_per_client,
            ),
            imports: crate::imports::Imports::new(config.import_settings())
                .context("Failed to build the HTTP client for imports")?,
        };
        let workers = WorkerSettings {
            pool,
            uploads: Uploads::new(upload_dir, Arc::clone(&store)),
            store,
            options,
            upload_concurrency: UPLOAD_CONCURRENCY,
            lease: LeaseTerms::from_secs_f64(config.jobs.lease_seconds),
            job_timeout: config.job_timeout(),
            keep_failed_uploads: Duration::from_secs_f64(
                config.jobs.keep_failed_uploads_hours.max(0.0) * 3600.0,
            ),
        };
        Ok(Application {
            listener,
            free_running: FreeRunning::all(),
            state,
            workers,
            webhooks,
            streams_closing,
            config,
        })
    }

    /// Runs only the background work `free_running` names by itself; the rest runs when
    /// [`Application::background_jobs`]' holder says so.
    pub fn with_free_running(mut self, free_running: FreeRunning) -> Application {
        self.free_running = free_running;
        self
    }

    /// A handle that runs the background work on demand (see [`crate::background`]).
    pub fn background_jobs(&self) -> BackgroundJobs {
        BackgroundJobs {
            workers: self.workers.clone(),
            imports: self.import_pool(),
        }
    }

    fn import_pool(&self) -> ImportPool {
        ImportPool {
            pool: self.state.pool.clone(),
            uploads: self.state.uploads.clone(),
            intake: self.state.intake.clone(),
            imports: self.state.imports.clone(),
            stage_sources: self.state.stage_sources,
        }
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes: then stops taking jobs, lets running ones finish
    /// within the grace period, hands the rest back to the queue, and stops.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = self.local_addr();
        let role = self.config.role;
        let free = self.free_running;
        let worker_count = if role.converts() && free.conversions {
            self.config.jobs.workers
        } else {
            0
        };
        let import_pool = self.import_pool();
        let workers = WorkerPool::start(self.workers, worker_count, free.janitor);
        // Converting processes send the webhooks of the videos they finish (and any other's).
        if !role.converts() && self.webhooks.is_some() {
            tracing::info!(
                "WEBHOOK_URLS is set on an API-only process: the worker processes send webhooks, so set it there"
            );
        }
        let stop_webhooks = CancellationToken::new();
        let webhooks = (role.converts() && free.webhooks).then(|| {
            let settings = (self.webhooks.clone())
                .unwrap_or_else(crate::webhooks::WebhookSettings::no_endpoints);
            tokio::spawn(crate::webhooks::dispatcher::run(
                self.state.pool.clone(),
                settings,
                self.state.presenter.clone(),
                stop_webhooks.clone(),
            ))
        });
        // API nodes download the imports they (and others) record.
        let stop_imports = CancellationToken::new();
        let imports = (role.serves_api() && free.imports).then(|| {
            tokio::spawn(crate::imports::import_pool::run(
                import_pool,
                stop_imports.clone(),
            ))
        });
        tracing::info!(%address, ?role, workers = worker_count, "serving");
        let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
        let routes = if role.serves_api() {
            api::router(self.state)
        } else {
            api::operations_router(self.state)
        };
        let limits = crate::http_server::ConnectionLimits {
            max_connections: self.config.edge.max_connections,
            header_timeout: Duration::from_secs_f64(
                self.config.edge.header_timeout_seconds.max(0.1),
            ),
        };
        let server = crate::http_server::serve(self.listener, routes, limits, async {
            let _ = http_stopped.await;
        });
        let server = tokio::spawn(server);
        shutdown.await;
        tracing::info!("shutting down");
        stop_imports.cancel();
        workers.shut_down(self.config.shutdown_grace()).await;
        if let Some(imports) = imports {
            // Each download gives its import back at once when stopped.
            let _ = tokio::time::timeout(Duration::from_secs(5), imports).await;
        }
        if let Some(mut dispatcher) = webhooks {
            // An attempt cut short here is sent again after a restart: at least once.
            stop_webhooks.cancel();
            let wait = self.webhooks.as_ref().map_or(Duration::ZERO, |w| w.timeout);
            if tokio::time::timeout(wait + Duration::from_secs(1), &mut dispatcher)
                .await
                .is_err()
            {
                dispatcher.abort();
            }
        }
        self.streams_closing.cancel();
        let _ = stop_http.send(());
        // Connections finish their answers; one whose client stopped reading (a stalled event
        // stream) cannot hold the process up for longer than this.
        match tokio::time::timeout(HTTP_DRAIN, server).await {
            Ok(served) => served.context("the HTTP server task failed")?,
            Err(_) => tracing::warn!(
                seconds = HTTP_DRAIN.as_secs(),
                "open connections did not finish in time; stopping anyway"
            ),
        }
        Ok(())
    }
}

/// Checks what the flags say beyond their own types; returns the webhook settings they make.
fn check(config: &ServeConfig) -> anyhow::Result<Option<crate::webhooks::WebhookSettings>> {
    config
        .convert_options()
        .validate()
        .context("Invalid encoding settings")?;
    anyhow::ensure!(
        (1..=604_800).contains(&config.access.playback_link_seconds),
        "--playback-link-seconds must be between 1 and 604800 (7 days, the longest a presigned URL lives)"
    );
    config.check_access()?;
    config.webhook_settings()
}

/// Raises this process's limit on open files to the most it may have, and warns when
/// `max_connections` would not leave room for the files, the database connections and the
/// uploads in progress.
fn check_file_limit(max_connections: usize) {
    const SPARE: u64 = 256;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < max_connections as u64 + SPARE => tracing::warn!(
            limit,
            max_connections,
            "the open-file limit is too low for MAX_CONNECTIONS; lower it, or raise the limit (ulimit -n)"
        ),
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not read the open-file limit"),
    }
}

/// The signer of private playback links: the configured secret, else a random one.
fn playback_links(config: &ServeConfig) -> crate::playback_links::PlaybackLinks {
    let secret = match &config.access.playback_secret {
        Some(secret) => secret.expose_secret().as_bytes().to_vec(),
        None => {
            tracing::warn!(
                "no PLAYBACK_SECRET: playback links are signed with a random secret and work only on this node until it restarts"
            );
            [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
                .iter()
                .flat_map(|u| u.into_bytes())
                .collect()
        }
    };
    crate::playback_links::PlaybackLinks::new(
        &secret,
        Duration::from_secs(config.access.playback_link_seconds),
    )
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
}
