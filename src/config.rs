//! The service's configuration: command-line flags with environment fallbacks.
//!
//! Parsed once at start; everything downstream receives plain values. The flags come in
//! groups, flattened into [`ServeConfig`]: [`StorageConfig`], [`JobsConfig`],
//! [`ConversionConfig`], [`AccessConfig`], [`WebhookConfig`] and [`EdgeLimits`]; a group that
//! can be wrong checks itself ([`AccessConfig::check`], [`WebhookConfig::settings`]), and
//! [`ServeConfig`] checks only what spans groups. [`ServeConfig::defaults`] is every default.
//! Secrets are `secrecy` types ([`SecretString`], and [`DatabaseUrl`] for the database's
//! password): `Debug` never prints them, and `--help` hides their environment values. Every
//! other setting shows in `Debug` (derived, so a new one cannot be forgotten).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::units::{ByteSize, Resolution, UploadRate};
use hls_ladder::{ConvertOptions, Preset, Rung, SourceLimits};

/// `hls-ladder serve` flags.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// What this process does: `all` (API and workers), `api` (takes uploads and stages them
    /// in S3 under `sources/`, converts nothing) or `worker` (converts; serves only /healthz,
    /// /readyz and /metrics).
    #[arg(long, env = "ROLE", default_value = "all")]
    pub role: Role,
    /// PostgreSQL URL; the database is created if missing and migrated at start.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/hls_ladder",
        hide_env_values = true
    )]
    pub database_url: DatabaseUrl,
    /// Most PostgreSQL connections the process opens (requests, workers, heartbeats share
    /// them). Few is fast: see BENCHMARKS.md. Default: one more than the cores.
    #[arg(long, env = "DB_CONNECTIONS", default_value_t = default_db_connections(), hide_default_value = true)]
    pub db_connections: u32,
    /// Where the HLS output is published: the S3 bucket and how to reach it.
    #[command(flatten)]
    pub storage: StorageConfig,
    /// The workers and their jobs: how many at once, attempts, leases and time limits.
    #[command(flatten)]
    pub jobs: JobsConfig,
    /// Largest accepted upload, e.g. 2GiB, 500MB or a number of bytes.
    #[arg(long, env = "UPLOAD_LIMIT", default_value = "2GiB")]
    pub upload_limit: ByteSize,
    /// Where uploads wait for their conversion; the system's temporary directory by default.
    #[arg(long, env = "TEMP_DIR")]
    pub temp_dir: Option<PathBuf>,
    /// What every job produces (segments, ladder, preset) and the largest input it accepts.
    #[command(flatten)]
    pub conversion: ConversionConfig,
    /// Uploads allowed per client (API key, else IP address), e.g. `10/min`; a client over it
    /// gets 429 with Retry-After. Unlimited when absent.
    #[arg(long, env = "UPLOAD_RATE")]
    pub upload_rate: Option<UploadRate>,
    /// Who may use the API and watch the videos: API keys, anonymous access, private playback.
    #[command(flatten)]
    pub access: AccessConfig,
    /// The program that probes uploads in a child process; this one by default.
    #[arg(long, env = "PROBE_BINARY", hide = true)]
    pub probe_binary: Option<PathBuf>,
    /// Webhook endpoints, their signing secret and their retries.
    #[command(flatten)]
    pub webhooks: WebhookConfig,
    /// Where `npm ci --prefix web` put the page's packages (hls.js); by default
    /// `web/node_modules` in the working directory, else in the source tree it was built from.
    #[arg(long, env = "WEB_VENDOR_DIR")]
    pub web_vendor_dir: Option<PathBuf>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Limits at the HTTP edge.
    #[command(flatten)]
    pub edge: EdgeLimits,
    /// Imports from a URL: what may be fetched, how many at once, how long they may take.
    #[command(flatten)]
    pub imports: ImportConfig,
}

/// An address (`10.0.5.20`, one host) or a network (`10.0.5.0/24`).
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is neither an IP address nor a network like 10.0.0.0/8"))
}

/// Imports from a URL (`POST /v1/videos` with `{"url": ...}`): what may be fetched, how many
/// at once, how long they may take. The size limit is UPLOAD_LIMIT.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Imports from a URL")]
pub struct ImportConfig {
    /// Let imports fetch from loopback, private, link-local and other non-public addresses.
    /// Off by default: a URL import must not be a way into the server's own network. For
    /// tests, and deployments that import only from their own network.
    #[arg(long, env = "IMPORT_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub import_allow_private: bool,
    /// Non-public addresses or networks imports may fetch from all the same, comma-separated
    /// (e.g. `10.0.5.20/32,fd12::/64`): one internal media server without IMPORT_ALLOW_PRIVATE.
    #[arg(long, env = "IMPORT_ALLOW_ADDRESSES", value_delimiter = ',', value_parser = parse_network)]
    pub import_allow_addresses: Vec<ipnet::IpNet>,
    /// Downloads at once on each API node; more imports wait their turn.
    #[arg(long, env = "IMPORT_CONCURRENCY", default_value_t = 2)]
    pub import_concurrency: usize,
    /// Seconds a whole download may take.
    #[arg(long, env = "IMPORT_TIMEOUT_SECONDS", default_value_t = 3600)]
    pub import_timeout_seconds: u64,
    /// Seconds the remote server may send nothing (while connecting, or between two chunks).
    #[arg(long, env = "IMPORT_IDLE_SECONDS", default_value_t = 30.0)]
    pub import_idle_seconds: f64,
    /// Most redirects an import follows (each one checked like the URL itself).
    #[arg(long, env = "IMPORT_MAX_REDIRECTS", default_value_t = 5)]
    pub import_max_redirects: usize,
}

/// Where the HLS output is published: the S3 bucket and how to reach it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Storage (S3)")]
pub struct StorageConfig {
    /// S3 endpoint, e.g. http://127.0.0.1:4566 for LocalStack; AWS's own when absent.
    #[arg(long, env = "S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Bucket that receives the HLS output.
    #[arg(long, env = "S3_BUCKET", default_value = "videos")]
    pub s3_bucket: String,
    /// Base URL that object keys are appended to for playback (a CDN origin, or e.g.
    /// http://127.0.0.1:4566/videos); derived from the endpoint and bucket when absent.
    #[arg(long, env = "S3_PUBLIC_URL")]
    pub s3_public_url: Option<String>,
    /// Region of the bucket.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub aws_region: String,
    /// Access key id; the usual AWS credential chain is used when absent.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub aws_access_key_id: Option<String>,
    /// Secret access key, with --aws-access-key-id.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true, value_parser = secret)]
    pub aws_secret_access_key: Option<SecretString>,
    /// Address buckets by path (http://endpoint/bucket/key), as LocalStack and MinIO need.
    #[arg(long, env = "S3_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub s3_path_style: bool,
    /// Do not create the bucket (nor set its public-read policy and CORS) at start.
    #[arg(long, env = "NO_CREATE_BUCKET")]
    pub no_create_bucket: bool,
    /// Seconds an upload to S3 is retried (with backoff) before the job's attempt gives up;
    /// an S3 outage shorter than this only pauses the conversion.
    #[arg(long, env = "S3_RETRY_SECONDS", default_value_t = 120.0)]
    pub s3_retry_seconds: f64,
}

/// The workers and their jobs: how many at once, attempts, leases and time limits.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Jobs")]
pub struct JobsConfig {
    /// Conversions that run at once; each uses every core, so the default is one per two cores
    /// (at least one).
    #[arg(long, env = "WORKERS", default_value_t = default_workers(), hide_default_value = true)]
    pub workers: usize,
    /// Attempts a job gets before it fails for good (a worker crash or a storage outage).
    #[arg(long, env = "MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: i32,
    /// Seconds a worker's lease on a job lasts; a job whose worker died is taken over after it.
    #[arg(long, env = "LEASE_SECONDS", default_value_t = 30.0)]
    pub lease_seconds: f64,
    /// Seconds a running job may keep going after SIGTERM before it is handed back.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,
    /// A conversion still running after this many seconds is stopped and fails (`job-timeout`).
    #[arg(long, env = "JOB_TIMEOUT_SECONDS", default_value_t = 21600)]
    pub job_timeout_seconds: u64,
    /// Hours the upload of a video that failed through no fault of its own (storage outage,
    /// lost workers, time limit) is kept, so `POST /v1/videos/{id}/retry` can queue it again.
    #[arg(long, env = "KEEP_FAILED_UPLOADS_HOURS", default_value_t = 24.0)]
    pub keep_failed_uploads_hours: f64,
}

/// What every job produces (segments, ladder, preset) and the largest input it accepts.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Conversion")]
pub struct ConversionConfig {
    /// Target segment duration in seconds.
    #[arg(long, env = "SEGMENT_SECONDS", default_value_t = 6.0)]
    pub segment_seconds: f64,
    /// The first segment's duration in seconds, shorter so that a video is playable, and
    /// starts playing, sooner (SEGMENT_SECONDS or more for none).
    #[arg(long, env = "FIRST_SEGMENT_SECONDS", default_value_t = 2.0)]
    pub first_segment_seconds: f64,
    /// The ladder: short-side heights, optionally with kb/s (`1080,720:2500,480`); rungs
    /// above a source are dropped.
    #[arg(
        long,
        env = "LADDER",
        value_delimiter = ',',
        default_value = "2160,1440,1080,720,480,360"
    )]
    pub ladder: Vec<Rung>,
    /// The largest rendition's short side, e.g. 1080 for a deployment that wants no 1440p or
    /// 4K output (4K costs about four times the CPU of 1080p). No cap when absent.
    #[arg(long, env = "MAX_OUTPUT_HEIGHT")]
    pub max_output_height: Option<u32>,
    /// x264 preset.
    #[arg(long, env = "PRESET", default_value = "veryfast")]
    pub preset: Preset,
    /// Longest input accepted, in seconds; a longer upload is refused (422 `input-too-long`).
    #[arg(long, env = "MAX_DURATION_SECONDS", default_value_t = 14400.0)]
    pub max_duration_seconds: f64,
    /// Largest picture accepted, WIDTHxHEIGHT, in either orientation (422 `resolution-too-high`).
    #[arg(long, env = "MAX_RESOLUTION", default_value = "7680x4320")]
    pub max_resolution: Resolution,
    /// Most video frames accepted (422 `too-many-frames`).
    #[arg(long, env = "MAX_FRAMES", default_value_t = 1_000_000)]
    pub max_frames: u64,
    /// Publish a video only once it is converted, instead of as soon as every rendition has
    /// its first segment (growing EVENT playlists, `playable` before `completed`).
    #[arg(long, env = "PUBLISH_AT_END")]
    pub publish_at_end: bool,
    /// Make a poster and a storyboard (seek-bar thumbnails) of every video, in the same pass
    /// as its renditions.
    #[arg(long, env = "STILLS", default_value_t = true, action = clap::ArgAction::Set)]
    pub stills: bool,
    /// Also publish a progressive MP4 (faststart) of every video's rendition up to 1080p,
    /// muxed from the same encoded packets (`downloads` in the status); an upload may ask
    /// otherwise with `?mp4_download=true|false`. A conversion with a download is not resumed
    /// after a crash: it starts over.
    #[arg(long, env = "MP4_DOWNLOAD", default_value_t = false, action = clap::ArgAction::Set)]
    pub mp4_download: bool,
}

/// Who may use the API and watch the videos: API keys, anonymous access, private playback.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Access")]
pub struct AccessConfig {
    /// API keys, comma-separated. When set, requests that change something need
    /// `Authorization: Bearer KEY`; kept in memory only as SHA-256 digests.
    #[arg(long, env = "API_KEYS", value_delimiter = ',', hide_env_values = true, value_parser = secret)]
    pub api_keys: Vec<SecretString>,
    /// With API keys set, require a key for reading videos too (not for /healthz, /readyz,
    /// /metrics and /openapi.json).
    #[arg(long, env = "PRIVATE_READS")]
    pub private_reads: bool,
    /// Serve the API without API keys on an address other than loopback: anyone who reaches
    /// it may upload, list, cancel and delete. Without this, such a start is refused.
    #[arg(long, env = "ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,
    /// Keep the bucket private: a completed video's `playback_url` is a link to this API,
    /// signed and valid for --playback-link-seconds, that serves its playlists with presigned
    /// segment URLs.
    #[arg(long, env = "PRIVATE_PLAYBACK")]
    pub private_playback: bool,
    /// How long a private playback link (and its presigned segment URLs) stays valid; at most
    /// 7 days.
    #[arg(long, env = "PLAYBACK_LINK_SECONDS", default_value_t = 21600)]
    pub playback_link_seconds: u64,
    /// Secret that signs private playback links; every API node needs the same one. A random
    /// secret per process when absent (links then work only on the node that made them).
    #[arg(long, env = "PLAYBACK_SECRET", hide_env_values = true, value_parser = secret)]
    pub playback_secret: Option<SecretString>,
    /// This API's public base URL (e.g. https://video.example.com) for playback links; taken
    /// from each request's Host header when absent.
    #[arg(long, env = "PUBLIC_API_URL")]
    pub public_api_url: Option<String>,
}

/// Webhook endpoints, their signing secret and their retries.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookConfig {
    /// Webhook endpoints, comma-separated URLs: each receives `video.playable`,
    /// `video.completed`, `video.failed` and `video.canceled`. Set the same on every process.
    #[arg(
        long,
        env = "WEBHOOK_URLS",
        value_delimiter = ',',
        hide_env_values = true,
        value_parser = secret
    )]
    pub webhook_urls: Vec<SecretString>,
    /// The key of the `Webhook-Signature` HMAC-SHA256; required with WEBHOOK_URLS.
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true, value_parser = secret)]
    pub webhook_secret: Option<SecretString>,
    /// Attempts per webhook delivery before it counts as failed (a replay allows as many again).
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 12)]
    pub webhook_max_attempts: i32,
    /// Seconds before the first retry of a failed delivery; the wait doubles each time, up to
    /// an hour (12 attempts span about 3.4 hours).
    #[arg(long, env = "WEBHOOK_RETRY_SECONDS", default_value_t = 10.0)]
    pub webhook_retry_seconds: f64,
    /// Seconds a webhook receiver has to answer.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10.0)]
    pub webhook_timeout_seconds: f64,
}

/// Limits at the HTTP edge: open connections, slow clients, probes of uploads, event streams.
/// The defaults suit a public service on a small machine; see the README's table.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Limits at the HTTP edge")]
pub struct EdgeLimits {
    /// HTTP connections open at once; further ones wait in the kernel's queue.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = EdgeLimits::DEFAULT.max_connections)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; an idle keep-alive connection is
    /// closed after as long.
    #[arg(long, env = "HEADER_TIMEOUT_SECONDS", default_value_t = EdgeLimits::DEFAULT.header_timeout_seconds)]
    pub header_timeout_seconds: f64,
    /// An upload must bring UPLOAD_MIN_RATE bytes a second over every span of this many
    /// seconds; a stalled or trickling one gets 408 and its partial file is removed.
    #[arg(long, env = "UPLOAD_STALL_SECONDS", default_value_t = EdgeLimits::DEFAULT.upload_stall_seconds)]
    pub upload_stall_seconds: f64,
    /// The least average rate of an upload, in bytes per second (see UPLOAD_STALL_SECONDS).
    #[arg(long, env = "UPLOAD_MIN_RATE", default_value_t = EdgeLimits::DEFAULT.upload_min_rate)]
    pub upload_min_rate: u64,
    /// Uploads probed at once, each in a child process; more wait for a slot. Default: one per
    /// core.
    #[arg(long, env = "PROBE_CONCURRENCY", default_value_t = default_probe_concurrency(), hide_default_value = true)]
    pub probe_concurrency: usize,
    /// Seconds a probe may take before it is killed and the upload refused (422).
    #[arg(long, env = "PROBE_TIMEOUT_SECONDS", default_value_t = EdgeLimits::DEFAULT.probe_timeout_seconds)]
    pub probe_timeout_seconds: u64,
    /// Memory (address space) a probe may use, e.g. 2GiB; an upload that needs more to be
    /// read is refused (422 `input-too-demanding`).
    #[arg(long, env = "PROBE_MEMORY_LIMIT", default_value = "2GiB")]
    pub probe_memory_limit: ByteSize,
    /// Event streams (`GET /v1/videos/{id}/events`) open at once, in all; one more gets 503.
    #[arg(long, env = "MAX_EVENT_STREAMS", default_value_t = EdgeLimits::DEFAULT.max_event_streams)]
    pub max_event_streams: usize,
    /// Event streams open at once per client (its API key, else its IP address, IPv6 by
    /// /64); one more gets 429.
    #[arg(long, env = "MAX_EVENT_STREAMS_PER_CLIENT", default_value_t = EdgeLimits::DEFAULT.max_event_streams_per_client)]
    pub max_event_streams_per_client: usize,
}

impl EdgeLimits {
    /// The defaults of every flag.
    pub const DEFAULT: EdgeLimits = EdgeLimits {
        max_connections: 1024,
        header_timeout_seconds: 30.0,
        upload_stall_seconds: 60.0,
        upload_min_rate: 1024,
        probe_concurrency: 2,
        probe_timeout_seconds: 60,
        probe_memory_limit: ByteSize(2 << 30),
        max_event_streams: 1000,
        max_event_streams_per_client: 20,
    };
}

impl Default for EdgeLimits {
    fn default() -> Self {
        EdgeLimits {
            probe_concurrency: default_probe_concurrency(),
            ..EdgeLimits::DEFAULT
        }
    }
}

fn default_probe_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A secret as given on the command line or in the environment (`value_parser` of every
/// secret flag).
fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

/// The PostgreSQL URL, a secret for the password it may hold: `Debug` shows it with the
/// password masked (the host and database are worth seeing in a log).
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// The URL itself, password and all: for connecting, never for a log.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(self.expose()))
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<DatabaseUrl, Self::Err> {
        Ok(DatabaseUrl(url.into()))
    }
}

/// The shortest PLAYBACK_SECRET accepted.
pub const MIN_PLAYBACK_SECRET: usize = 32;

fn default_db_connections() -> u32 {
    std::thread::available_parallelism().map_or(3, |n| n.get() as u32 + 1)
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// A database URL with its password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl ServeConfig {
    /// What `hls-ladder serve` runs with when given no flag, whatever the environment holds:
    /// every default, from the flags' own declarations. For embedding the service, and for
    /// its tests, which change only what they need.
    pub fn defaults() -> ServeConfig {
        use clap::FromArgMatches;
        let command = ServeConfig::augment_args(clap::Command::new("serve").no_binary_name(true))
            .mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(std::iter::empty::<String>())
            .expect("every flag of `serve` has a default");
        ServeConfig::from_arg_matches(&matches).expect("the defaults are valid")
    }

    /// The conversion options every job uses (see [`ConversionConfig::convert_options`]);
    /// MP4 downloads are muxed in the upload folder.
    pub fn convert_options(&self) -> ConvertOptions {
        ConvertOptions {
            scratch_dir: Some(self.upload_dir()),
            ..self.conversion.convert_options()
        }
    }

    /// The largest input accepted (see [`ConversionConfig::source_limits`]).
    pub fn source_limits(&self) -> SourceLimits {
        self.conversion.source_limits()
    }

    /// The longest a conversion may run.
    pub fn job_timeout(&self) -> Duration {
        Duration::from_secs(self.jobs.job_timeout_seconds)
    }

    /// How imports run (see [`ImportConfig`]); the lease is a job's.
    pub fn import_settings(&self) -> crate::imports::ImportSettings {
        use crate::imports::{AddressPolicy, DownloadLimits, ImportSettings};
        ImportSettings {
            policy: AddressPolicy {
                allow_private: self.imports.import_allow_private,
                allowed: std::sync::Arc::new(self.imports.import_allow_addresses.clone()),
            },
            limits: DownloadLimits {
                max_bytes: self.upload_limit.0,
                total: Duration::from_secs(self.imports.import_timeout_seconds.max(1)),
                idle: Duration::from_secs_f64(self.imports.import_idle_seconds.max(0.1)),
                max_redirects: self.imports.import_max_redirects,
            },
            concurrency: self.imports.import_concurrency.max(1),
            lease: Duration::from_secs_f64(self.jobs.lease_seconds.max(1.0)),
        }
    }

    /// Where uploads are kept until converted.
    pub fn upload_dir(&self) -> PathBuf {
        self.temp_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
            .join("hls-ladder-uploads")
    }

    /// The webhook settings, checked ([`WebhookConfig::settings`]); `None` without
    /// WEBHOOK_URLS. With private playback, a webhook's `playback_url` is a signed link to the
    /// API, so the API's secret and public URL must be known where webhooks are sent from.
    pub fn webhook_settings(&self) -> anyhow::Result<Option<crate::webhooks::WebhookSettings>> {
        let settings = self.webhooks.settings()?;
        anyhow::ensure!(
            settings.is_none()
                || !self.access.private_playback
                || (self.access.playback_secret.is_some() && self.access.public_api_url.is_some()),
            "with PRIVATE_PLAYBACK, a webhook's playback_url is a signed link to the API: set PLAYBACK_SECRET (the API's) and PUBLIC_API_URL where webhooks are sent from"
        );
        Ok(settings)
    }

    /// Refuses what would leave the service open to anyone by mistake (see
    /// [`AccessConfig::check`]).
    pub fn check_access(&self) -> anyhow::Result<()> {
        self.access.check(self.role, self.listen)
    }

    /// The grace period after SIGTERM.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.jobs.shutdown_grace_seconds)
    }
}

impl ConversionConfig {
    /// The conversion options every job uses.
    pub fn convert_options(&self) -> ConvertOptions {
        ConvertOptions {
            segment_seconds: self.segment_seconds,
            first_segment_seconds: self.first_segment_seconds,
            ladder: self.ladder.clone(),
            max_output_height: self.max_output_height,
            preset: self.preset,
            limits: self.source_limits(),
            progressive: !self.publish_at_end,
            stills: self.stills,
            mp4_download: self.mp4_download,
            ..ConvertOptions::default()
        }
    }

    /// The largest input accepted.
    pub fn source_limits(&self) -> SourceLimits {
        SourceLimits {
            max_duration_seconds: self.max_duration_seconds,
            max_width: self.max_resolution.width,
            max_height: self.max_resolution.height,
            max_frames: self.max_frames,
        }
    }
}

impl WebhookConfig {
    /// The webhook settings, checked; `None` without WEBHOOK_URLS.
    pub fn settings(&self) -> anyhow::Result<Option<crate::webhooks::WebhookSettings>> {
        let endpoints: Vec<String> = self
            .webhook_urls
            .iter()
            .map(|url| url.expose_secret().trim().to_string())
            .filter(|url| !url.is_empty())
            .collect();
        if endpoints.is_empty() {
            return Ok(None);
        }
        for endpoint in &endpoints {
            let parsed = reqwest::Url::parse(endpoint).map_err(|e| {
                anyhow::anyhow!("WEBHOOK_URLS: `{}` is not a URL: {e}", redact_url(endpoint))
            })?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https"),
                "WEBHOOK_URLS: `{}` is not an http or https URL",
                redact_url(endpoint)
            );
        }
        let secret = self
            .webhook_secret
            .as_ref()
            .map_or("", |secret| secret.expose_secret());
        anyhow::ensure!(
            secret.len() >= 16,
            "WEBHOOK_SECRET must be set, at least 16 characters, with WEBHOOK_URLS: receivers check each request's signature with it"
        );
        anyhow::ensure!(
            (1..=100).contains(&self.webhook_max_attempts),
            "WEBHOOK_MAX_ATTEMPTS must be between 1 and 100"
        );
        anyhow::ensure!(
            self.webhook_retry_seconds > 0.0 && self.webhook_timeout_seconds > 0.0,
            "WEBHOOK_RETRY_SECONDS and WEBHOOK_TIMEOUT_SECONDS must be positive"
        );
        Ok(Some(crate::webhooks::WebhookSettings {
            endpoints,
            secret: crate::webhooks::signature::key_from_secret(secret),
            max_attempts: self.webhook_max_attempts,
            first_retry: Duration::from_secs_f64(self.webhook_retry_seconds),
            timeout: Duration::from_secs_f64(self.webhook_timeout_seconds),
        }))
    }
}

impl AccessConfig {
    /// Refuses what would leave the service open to anyone by mistake: the API without keys
    /// on an address other than loopback (unless ALLOW_ANONYMOUS), and private playback with
    /// reads that anyone may make (each read hands out a fresh signed link).
    pub fn check(&self, role: Role, listen: SocketAddr) -> anyhow::Result<()> {
        let keys = self
            .api_keys
            .iter()
            .any(|k| !k.expose_secret().trim().is_empty());
        if role.serves_api() && !keys && !listen.ip().is_loopback() && !self.allow_anonymous {
            anyhow::bail!(
                "refusing to serve the API on {} without API_KEYS: anyone reaching it could upload, cancel and delete videos. Set API_KEYS, listen on 127.0.0.1, or set ALLOW_ANONYMOUS=true to serve it open on purpose",
                listen
            );
        }
        if self.private_playback && role.serves_api() && !(keys && self.private_reads) {
            anyhow::bail!(
                "PRIVATE_PLAYBACK needs API_KEYS and PRIVATE_READS: with reads open to anyone, every reader of a video gets a fresh signed playback link, and the video is not private"
            );
        }
        if let Some(secret) = &self.playback_secret {
            anyhow::ensure!(
                secret.expose_secret().len() >= MIN_PLAYBACK_SECRET,
                "PLAYBACK_SECRET must be at least {MIN_PLAYBACK_SECRET} characters: it signs every playback link"
            );
        }
        Ok(())
    }
}

/// What a `serve` process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The API and the workers, sharing the upload directory.
    All,
    /// The API only: uploads are staged in the bucket for workers anywhere.
    Api,
    /// Workers only.
    Worker,
}

impl Role {
    /// Whether this process answers the `/v1` API.
    pub fn serves_api(self) -> bool {
        matches!(self, Role::All | Role::Api)
    }

    /// Whether this process converts.
    pub fn converts(self) -> bool {
        matches!(self, Role::All | Role::Worker)
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_flags_defaults() {
        let defaults = ServeConfig::defaults();
        assert_eq!(defaults.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(defaults.storage.s3_bucket, "videos");
        assert_eq!(defaults.upload_limit, ByteSize(2 << 30));
        assert_eq!(defaults.conversion.segment_seconds, 6.0);
        assert_eq!(defaults.jobs.lease_seconds, 30.0);
        assert!(defaults.access.api_keys.is_empty() && defaults.webhooks.webhook_urls.is_empty());
        assert_eq!(defaults.role, Role::All);
        assert_eq!(defaults.log_format, LogFormat::Text);
    }

    /// Every setting shows in `Debug` by its name, and no secret's value does.
    #[test]
    fn debug_shows_every_setting_but_no_secret() {
        use clap::FromArgMatches;
        let secrets = [
            ("--database-url", "postgres://app:db-password-1@db:5432/x"),
            ("--aws-secret-access-key", "aws-secret-2"),
            ("--api-keys", "api-key-3,api-key-4"),
            ("--playback-secret", "playback-secret-5-of-32-characters"),
            (
                "--webhook-urls",
                "https://hooks.example.com/in?token=hook-token-6",
            ),
            ("--webhook-secret", "webhook-secret-7"),
        ];
        let command = ServeConfig::augment_args(clap::Command::new("serve").no_binary_name(true))
            .mut_args(|arg| arg.env(None));
        let names: Vec<String> = command
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .collect();
        let args = secrets.iter().flat_map(|(flag, value)| [*flag, *value]);
        let matches = command.try_get_matches_from(args).unwrap();
        let config = ServeConfig::from_arg_matches(&matches).unwrap();
        let shown = format!("{config:?}");
        for name in &names {
            assert!(
                shown.contains(&format!("{name}:")),
                "{name} is not shown: {shown}"
            );
        }
        for secret in ["db-password-1", "aws-secret-2", "api-key-3", "api-key-4"]
            .into_iter()
            .chain(["playback-secret-5", "hook-token-6", "webhook-secret-7"])
        {
            assert!(!shown.contains(secret), "{secret} is shown: {shown}");
        }
        // The database is named, without its password.
        assert!(shown.contains("postgres://app:***@db:5432/x"), "{shown}");
        assert!(
            names.len() > 50,
            "{} settings: the list is broken",
            names.len()
        );
    }

    #[test]
    fn passwords_in_database_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
