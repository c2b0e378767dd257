//! Imports from a URL: `POST /v1/videos` with `{"url": ...}` records an `importing` video
//! (`api/import_video.rs`); the import pool on each API node downloads it
//! ([`downloader`], guarded by [`address_policy`] and [`guarded_resolver`]), probes it as any
//! upload, and queues it ([`import_pool`]).

pub mod address_policy;
pub mod downloader;
pub mod guarded_resolver;
pub mod import_pool;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use address_policy::{AddressPolicy, NotAllowed};
pub use downloader::{DownloadLimits, Downloader, ImportError};

/// How imports run on this node.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// What may be fetched.
    pub policy: AddressPolicy,
    /// Limits on each download.
    pub limits: DownloadLimits,
    /// Downloads at once on this node.
    pub concurrency: usize,
    /// How long a node's claim on an import lasts unless renewed (renewed every third of it).
    pub lease: Duration,
}

/// The handle the API holds: checks a URL before accepting it, and wakes the pool.
#[derive(Debug, Clone)]
pub struct Imports {
    /// The settings the pool runs with.
    pub settings: ImportSettings,
    /// The client, shared by every download.
    pub downloader: Downloader,
    wake: Arc<Notify>,
}

impl Imports {
    /// The handle for `settings`; fails only when the HTTP client cannot be built.
    pub fn new(settings: ImportSettings) -> anyhow::Result<Imports> {
        Ok(Imports {
            downloader: Downloader::new(settings.policy.clone(), settings.limits)?,
            settings,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Tells this node's pool that an import was recorded (other nodes find it by polling).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}
