//! Downloading an import: one streaming GET to a file, under a size limit, a total and an
//! idle timeout, a bounded number of redirects, and the [`AddressPolicy`] at every step (the
//! URL, each redirect's URL, every address the host resolves to, and the address connected to).

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Url;
use tokio::io::AsyncWriteExt;

use super::address_policy::{AddressPolicy, NotAllowed};
use super::guarded_resolver::GuardedResolver;

/// How an import may download.
#[derive(Debug, Clone, Copy)]
pub struct DownloadLimits {
    /// Largest file, in bytes (the upload limit).
    pub max_bytes: u64,
    /// Longest the whole download may take.
    pub total: Duration,
    /// Longest the server may send nothing (connecting, or between two chunks).
    pub idle: Duration,
    /// Most redirects followed.
    pub max_redirects: usize,
}

/// What arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub bytes: u64,
    /// The server's Content-Type, if any.
    pub content_type: Option<String>,
    /// The URL the file came from, after redirects.
    pub final_url: Url,
}

/// Why an import failed, with its stable code.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The URL, a redirect or an address is not allowed (`url-not-allowed`).
    #[error("{0}")]
    NotAllowed(String),
    /// Larger than the limit (`import-too-large`).
    #[error("the file is larger than the upload limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Too slow, or stalled (`import-timeout`).
    #[error("{0}")]
    Timeout(String),
    /// Anything else the remote server or the network did (`import-failed`).
    #[error("{0}")]
    Failed(String),
    /// This server could not write the file: not the URL's fault, so it is tried again.
    #[error("cannot write the download: {0}")]
    Local(#[source] std::io::Error),
}

impl ImportError {
    /// The stable code a failed video shows.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::NotAllowed(_) => "url-not-allowed",
            ImportError::TooLarge { .. } => "import-too-large",
            ImportError::Timeout(_) => "import-timeout",
            ImportError::Failed(_) => "import-failed",
            ImportError::Local(_) => "import-failed",
        }
    }
}

/// A URL as messages show it: without its query (which may hold a token) or credentials.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    let had_query = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    if had_query {
        format!("{shown}?…")
    } else {
        shown.to_string()
    }
}

/// A redirect chain longer than `IMPORT_MAX_REDIRECTS`.
#[derive(Debug, thiserror::Error)]
#[error("the URL redirects more than {0} times (IMPORT_MAX_REDIRECTS)")]
struct TooManyRedirects(usize);

/// Downloads with one client per policy: connections only to allowed addresses, no proxy
/// from the environment (it would connect for us), redirects checked one by one.
#[derive(Debug, Clone)]
pub struct Downloader {
    client: reqwest::Client,
    policy: AddressPolicy,
    limits: DownloadLimits,
}

impl Downloader {
    /// A downloader that fetches what `policy` allows, within `limits`.
    pub fn new(policy: AddressPolicy, limits: DownloadLimits) -> anyhow::Result<Downloader> {
        let max_redirects = limits.max_redirects;
        let redirect_policy = policy.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(TooManyRedirects(max_redirects));
            }
            match redirect_policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refused) => {
                    let refused = NotAllowed(format!(
                        "a redirect to {}: {}",
                        shown(attempt.url()),
                        refused.0
                    ));
                    attempt.error(refused)
                }
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .redirect(redirects)
            .connect_timeout(limits.idle)
            .read_timeout(limits.idle)
            .user_agent(concat!(
                "hls-ladder/",
                env!("CARGO_PKG_VERSION"),
                " (URL import)"
            ))
            .build()?;
        Ok(Downloader {
            client,
            policy,
            limits,
        })
    }

    /// Checks a URL before it is accepted: what can be known without the network.
    pub fn check_url(&self, url: &Url) -> Result<(), NotAllowed> {
        self.policy.check_url(url)
    }

    /// Downloads `url` to `path` (created or truncated); on failure the file is removed.
    pub async fn download(&self, url: &Url, path: &Path) -> Result<Downloaded, ImportError> {
        let result =
            match tokio::time::timeout(self.limits.total, self.download_within(url, path)).await {
                Ok(result) => result,
                Err(_) => Err(ImportError::Timeout(format!(
                    "the download took longer than {} s (IMPORT_TIMEOUT_SECONDS)",
                    self.limits.total.as_secs()
                ))),
            };
        if result.is_err() {
            let _ = tokio::fs::remove_file(path).await;
        }
        result
    }

    async fn download_within(&self, url: &Url, path: &Path) -> Result<Downloaded, ImportError> {
        self.policy
            .check_url(url)
            .map_err(|refused| ImportError::NotAllowed(refused.0))?;
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|error| self.classify(error))?;
        if let Some(peer) = response.remote_addr() {
            self.policy
                .check_address(peer.ip())
                .map_err(|refused| ImportError::NotAllowed(refused.0))?;
        }
        let status = response.status();
        if status.is_redirection() {
            // A redirect the client did not follow: one to another scheme (file:, ftp:, ...).
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|location| response.url().join(location).ok());
            if let Some(target) = location {
                if let Err(refused) = self.policy.check_url(&target) {
                    return Err(ImportError::NotAllowed(format!(
                        "a redirect to {}: {}",
                        shown(&target),
                        refused.0
                    )));
                }
            }
        }
        if !status.is_success() {
            return Err(ImportError::Failed(format!(
                "the server answered {status} for {}",
                shown(response.url())
            )));
        }
        let limit = self.limits.max_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(ImportError::TooLarge { limit });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let final_url = response.url().clone();
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(ImportError::Local)?;
        let mut bytes = 0u64;
        let mut body = response.bytes_stream();
        loop {
            let chunk = match tokio::time::timeout(self.limits.idle, body.next()).await {
                Err(_) => return Err(self.stalled()),
                Ok(None) => break,
                Ok(Some(chunk)) => chunk.map_err(|error| self.classify(error))?,
            };
            bytes += chunk.len() as u64;
            if bytes > limit {
                return Err(ImportError::TooLarge { limit });
            }
            file.write_all(&chunk).await.map_err(ImportError::Local)?;
        }
        file.flush().await.map_err(ImportError::Local)?;
        file.sync_all().await.map_err(ImportError::Local)?;
        if bytes == 0 {
            return Err(ImportError::Failed(format!(
                "{} is empty",
                shown(&final_url)
            )));
        }
        Ok(Downloaded {
            bytes,
            content_type,
            final_url,
        })
    }

    fn stalled(&self) -> ImportError {
        ImportError::Timeout(format!(
            "the server sent nothing for {} s (IMPORT_IDLE_SECONDS)",
            self.limits.idle.as_secs()
        ))
    }

    /// What a client error means: a refused address or redirect, a timeout, or a failure.
    fn classify(&self, error: reqwest::Error) -> ImportError {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(current) = cause {
            if let Some(refused) = current.downcast_ref::<NotAllowed>() {
                return ImportError::NotAllowed(refused.0.clone());
            }
            if let Some(too_many) = current.downcast_ref::<TooManyRedirects>() {
                return ImportError::Failed(too_many.to_string());
            }
            cause = current.source();
        }
        if error.is_timeout() {
            return self.stalled();
        }
        // Without the URL: its query may hold a token, and the message is logged.
        let error = error.without_url();
        let mut message = error.to_string();
        let mut cause = std::error::Error::source(&error);
        while let Some(current) = cause {
            message = format!("{message}: {current}");
            cause = current.source();
        }
        ImportError::Failed(message)
    }
}
