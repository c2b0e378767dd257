//! What every worker needs: the database, the bucket, where uploads wait, the conversion
//! options and the job's limits.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use crate::lease::LeaseTerms;
use crate::storage::ObjectStore;
use crate::uploads::Uploads;
use hls_ladder::ConvertOptions;

/// What every worker needs.
#[derive(Clone)]
pub struct WorkerSettings {
    /// The database.
    pub pool: PgPool,
    /// The bucket.
    pub store: Arc<dyn ObjectStore>,
    /// Where uploads wait.
    pub uploads: Uploads,
    /// Conversion options.
    pub options: ConvertOptions,
    /// Concurrent uploads per job.
    pub upload_concurrency: usize,
    /// Lease of a claimed job; a heartbeat renews it every third of it, and a job whose
    /// worker died is taken over once it runs out.
    pub lease: LeaseTerms,
    /// A conversion running longer is stopped and fails.
    pub job_timeout: Duration,
    /// How long the upload of a video that failed through no fault of its own is kept for a
    /// retry.
    pub keep_failed_uploads: Duration,
}
