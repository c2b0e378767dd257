//! The bucket: uploads with retries, deletes, health and public URLs (its setup is in
//! `bucket_setup.rs`).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;

use crate::service::backoff::Backoff;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

/// How to reach the bucket.
#[derive(Clone)]
pub struct S3Settings {
    /// Custom endpoint (LocalStack, MinIO); AWS's own when `None`.
    pub endpoint: Option<String>,
    /// The bucket.
    pub bucket: String,
    /// Its region.
    pub region: String,
    /// Path-style addressing.
    pub path_style: bool,
    /// Base URL for playback; derived when `None`.
    pub public_url: Option<String>,
    /// Static credentials; the AWS default chain when `None`.
    pub credentials: Option<(String, String)>,
    /// How long an upload is retried before it fails (the job's attempt then ends).
    pub retry_for: Duration,
}

/// One bucket.
#[derive(Clone, Debug)]
pub struct ObjectStore {
    pub(super) client: Client,
    pub(super) bucket: String,
    public_base: String,
    retry_for: Duration,
}

impl ObjectStore {
    /// A client for the bucket (no request is made).
    pub async fn new(settings: &S3Settings) -> ObjectStore {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()));
        if let Some((key, secret)) = &settings.credentials {
            loader = loader.credentials_provider(Credentials::new(
                key,
                secret,
                None,
                None,
                "configuration",
            ));
        }
        let shared = loader.load().await;
        let mut config =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(settings.path_style);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let public_base = settings
            .public_url
            .clone()
            .unwrap_or_else(|| derive_public_base(settings))
            .trim_end_matches('/')
            .to_string();
        ObjectStore {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
            public_base,
            retry_for: settings.retry_for,
        }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The absolute URL a player fetches `key` from.
    pub fn public_url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base)
    }

    /// Whether the bucket answers.
    pub async fn check(&self) -> anyhow::Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .context("the bucket does not answer")?;
        Ok(())
    }

    /// Uploads one object, retrying with exponential backoff (up to 5 s apart) for as long as
    /// the settings' `retry_for`, so that a short outage only delays it.
    pub async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
        cache_control: &str,
    ) -> anyhow::Result<()> {
        self.retrying(key, || {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .cache_control(cache_control)
                .body(ByteStream::from(bytes.clone()))
                .send()
        })
        .await
        .map(|_| ())
    }

    /// Uploads a file, streamed from disk (never held in memory), retried as [`Self::put`].
    pub async fn put_file(&self, key: &str, path: &Path) -> anyhow::Result<()> {
        self.retrying(key, || async {
            let body = ByteStream::from_path(path).await?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type("application/octet-stream")
                .body(body)
                .send()
                .await
                .map_err(|e| PutFileError::S3(Box::new(e)))?;
            Ok::<(), PutFileError>(())
        })
        .await
    }

    /// Downloads an object into a file, streamed (never held in memory); retried as
    /// [`Self::put`] until the body starts arriving.
    pub async fn download(&self, key: &str, path: &Path) -> anyhow::Result<u64> {
        let object = self
            .retrying(key, || {
                self.client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
            })
            .await?;
        let mut body = object.body.into_async_read();
        let mut file = tokio::fs::File::create(path)
            .await
            .with_context(|| format!("Failed to create {}", path.display()))?;
        let bytes = tokio::io::copy(&mut body, &mut file)
            .await
            .with_context(|| format!("Failed to download {key}"))?;
        file.sync_all().await?;
        Ok(bytes)
    }

    /// An object's bytes, or `None` when it does not exist. For small objects (playlists).
    pub async fn get_bytes(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Some(object.body.collect().await?.into_bytes())),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(anyhow::anyhow!(
                "Failed to read {key}: {}",
                DisplayErrorContext(&error)
            )),
        }
    }

    /// A URL that lets anyone GET `key` for `lifetime` (SigV4 presigned; at most 7 days).
    pub async fn presign_get(&self, key: &str, lifetime: Duration) -> anyhow::Result<String> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(lifetime)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| anyhow::anyhow!("Failed to presign {key}: {}", DisplayErrorContext(&e)))?;
        Ok(request.uri().to_string())
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(error) => Err(anyhow::anyhow!(
                "Failed to look for {key}: {}",
                DisplayErrorContext(&error)
            )),
        }
    }

    /// Deletes one object (absent is fine).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("Failed to delete {key}: {}", DisplayErrorContext(&e)))?;
        Ok(())
    }

    /// Runs one S3 request again with exponential backoff (up to 5 s apart) while it fails,
    /// for as long as the settings' `retry_for`.
    async fn retrying<T, E, F, Fut>(&self, key: &str, request: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        E: std::error::Error + 'static,
    {
        let backoff = Backoff {
            patience: self.retry_for,
            first_delay: Duration::from_millis(200),
        };
        let on_retry = |error: &E, attempt| {
            tracing::warn!(key, attempt, error = %DisplayErrorContext(error), "S3 request failed; retrying");
        };
        let tried = backoff.run(|_| true, on_retry, request).await;
        tried.outcome.map_err(|error| {
            anyhow::anyhow!(
                "S3 request for {key} failed {} times in {:.0} s: {}",
                tried.attempts,
                tried.elapsed.as_secs_f64(),
                DisplayErrorContext(&error)
            )
        })
    }

    /// Deletes what the claims of video `id` before `claim` wrote (their prefixes, and objects
    /// of the layout before claims had prefixes); returns how many objects. Never touches
    /// `claim`'s own prefix or a later one's: those earlier claims lost their lease, so none of
    /// them can be the one that completes.
    pub async fn delete_claims_before(&self, id: uuid::Uuid, claim: i64) -> anyhow::Result<usize> {
        let earlier = |key: &str| super::claim_of_key(id, key).is_some_and(|n| n < claim);
        self.delete_under(&super::video_prefix(id), earlier).await
    }

    /// Every object under `prefix`, with how long ago it was last written.
    pub async fn list_with_age(&self, prefix: &str) -> anyhow::Result<Vec<(String, Duration)>> {
        let mut objects = Vec::new();
        let mut token = None;
        let now = std::time::SystemTime::now();
        loop {
            let listed = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .with_context(|| format!("Failed to list {prefix}"))?;
            for object in listed.contents() {
                let Some(key) = object.key() else { continue };
                let age = object
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                    .and_then(|t| now.duration_since(t).ok())
                    .unwrap_or_default();
                objects.push((key.to_string(), age));
            }
            token = listed.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(objects);
            }
        }
    }

    /// Deletes every object under `prefix`; returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> anyhow::Result<usize> {
        self.delete_under(prefix, |_| true).await
    }

    /// Deletes the objects under `prefix` whose key `doomed` accepts; returns how many.
    async fn delete_under(
        &self,
        prefix: &str,
        doomed: impl Fn(&str) -> bool,
    ) -> anyhow::Result<usize> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let keys: Vec<ObjectIdentifier> = self
            .list_with_age(prefix)
            .await?
            .into_iter()
            .filter(|(key, _)| doomed(key))
            .filter_map(|(key, _)| ObjectIdentifier::builder().key(key).build().ok())
            .collect();
        // DeleteObjects takes at most 1000 keys a request.
        for batch in keys.chunks(1000) {
            let delete = Delete::builder()
                .set_objects(Some(batch.to_vec()))
                .quiet(true)
                .build()?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .with_context(|| format!("Failed to delete objects under {prefix}"))?;
        }
        Ok(keys.len())
    }
}

/// Why one try of [`ObjectStore::put_file`] failed.
#[derive(Debug, thiserror::Error)]
enum PutFileError {
    #[error("cannot read the file: {0}")]
    Read(#[from] aws_sdk_s3::primitives::ByteStreamError),
    #[error(transparent)]
    S3(Box<aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError>>),
}

fn derive_public_base(settings: &S3Settings) -> String {
    match &settings.endpoint {
        Some(endpoint) if settings.path_style => {
            format!("{}/{}", endpoint.trim_end_matches('/'), settings.bucket)
        }
        Some(endpoint) => {
            let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", endpoint));
            format!(
                "{scheme}://{}.{}",
                settings.bucket,
                host.trim_end_matches('/')
            )
        }
        None => format!(
            "https://{}.s3.{}.amazonaws.com",
            settings.bucket, settings.region
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endpoint: Option<&str>, path_style: bool) -> S3Settings {
        S3Settings {
            endpoint: endpoint.map(String::from),
            bucket: "media".into(),
            region: "eu-west-1".into(),
            path_style,
            public_url: None,
            credentials: None,
            retry_for: Duration::ZERO,
        }
    }

    #[test]
    fn public_urls_follow_the_addressing_style() {
        assert_eq!(
            derive_public_base(&settings(Some("http://127.0.0.1:4566/"), true)),
            "http://127.0.0.1:4566/media"
        );
        assert_eq!(
            derive_public_base(&settings(Some("https://s3.example.com"), false)),
            "https://media.s3.example.com"
        );
        assert_eq!(
            derive_public_base(&settings(None, false)),
            "https://media.s3.eu-west-1.amazonaws.com"
        );
    }
}
