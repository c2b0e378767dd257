//! The S3 backend of [`ObjectStore`]: AWS S3 or anything that speaks its API (LocalStack,
//! MinIO). Its setup at start is in `bucket_setup.rs`.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::object_store::{ListedObject, ObjectHeaders, ObjectStore, StorageError, UploadedPart};
use crate::backoff::Backoff;

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
    /// How long an upload is tried again while S3 is unavailable before it fails (the job's
    /// attempt then ends).
    pub retry_for: Duration,
}

/// One S3 bucket.
#[derive(Clone, Debug)]
pub struct S3Store {
    pub(super) client: Client,
    pub(super) bucket: String,
    public_base: String,
    retry_for: Duration,
}

impl S3Store {
    /// A client for the bucket (no request is made).
    pub async fn new(settings: &S3Settings) -> S3Store {
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
        S3Store {
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

    /// Runs one S3 request again with exponential backoff (up to 5 s apart) while S3 is
    /// unavailable, for as long as the settings' `retry_for`; any other error ends it at once.
    async fn retrying<T, F, Fut>(&self, key: &str, request: F) -> Result<T, StorageError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StorageError>>,
    {
        let backoff = Backoff {
            patience: self.retry_for,
            first_delay: Duration::from_millis(200),
        };
        let on_retry = |error: &StorageError, attempt| {
            tracing::warn!(key, attempt, %error, "S3 request failed; retrying");
        };
        let tried = backoff
            .run(StorageError::is_transient, on_retry, request)
            .await;
        tried.outcome.map_err(|error| match error {
            StorageError::Unavailable { key, detail } if tried.attempts > 1 => {
                StorageError::Unavailable {
                    key,
                    detail: format!(
                        "{detail} ({} tries in {:.0} s)",
                        tried.attempts,
                        tried.elapsed.as_secs_f64()
                    ),
                }
            }
            other => other,
        })
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    fn public_url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base)
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| classify(&self.bucket, e))?;
        Ok(())
    }

    async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        headers: ObjectHeaders<'_>,
    ) -> Result<(), StorageError> {
        self.retrying(key, || async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(headers.content_type)
                .cache_control(headers.cache_control)
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await
                .map_err(|e| classify(key, e))
        })
        .await
        .map(|_| ())
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        headers: ObjectHeaders<'_>,
    ) -> Result<(), StorageError> {
        self.retrying(key, || async {
            let body = ByteStream::from_path(path).await.map_err(|e| {
                StorageError::local_file(path, std::io::Error::other(e.to_string()))
            })?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(headers.content_type)
                .cache_control(headers.cache_control)
                .body(body)
                .send()
                .await
                .map_err(|e| classify(key, e))
        })
        .await
        .map(|_| ())
    }

    async fn download(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let object = self
            .retrying(key, || async {
                self.client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| classify(key, e))
            })
            .await?;
        let copied = async {
            let mut body = object.body.into_async_read();
            let mut file = tokio::fs::File::create(path)
                .await
                .map_err(|e| StorageError::local_file(path, e))?;
            let bytes = tokio::io::copy(&mut body, &mut file).await.map_err(|e| {
                StorageError::Unavailable {
                    key: key.to_string(),
                    detail: format!("the download broke off: {e}"),
                }
            })?;
            file.sync_all()
                .await
                .map_err(|e| StorageError::local_file(path, e))?;
            Ok(bytes)
        }
        .await;
        if copied.is_err() {
            let _ = tokio::fs::remove_file(path).await;
        }
        copied
    }

    async fn get_bytes(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        let asked = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(key, e));
        let Some(object) = unless_missing(asked)? else {
            return Ok(None);
        };
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Unavailable {
                key: key.to_string(),
                detail: format!("the download broke off: {e}"),
            })?;
        Ok(Some(body.into_bytes()))
    }

    async fn presign_get(&self, key: &str, lifetime: Duration) -> Result<String, StorageError> {
        let config = presigning(key, lifetime)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| classify(key, e))?;
        Ok(request.uri().to_string())
    }

    async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        let asked = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(key, e));
        Ok(unless_missing(asked)?.is_some())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(key, e))?;
        Ok(())
    }

    async fn delete_keys(&self, keys: &[String]) -> Result<(), StorageError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        // DeleteObjects takes at most 1000 keys a request.
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .filter_map(|key| ObjectIdentifier::builder().key(key).build().ok())
                .collect();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StorageError::Rejected {
                    key: batch[0].clone(),
                    detail: e.to_string(),
                })?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| classify(&batch[0], e))?;
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
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
                .map_err(|e| classify(prefix, e))?;
            for object in listed.contents() {
                let Some(key) = object.key() else { continue };
                let age = object
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                    .and_then(|t| now.duration_since(t).ok())
                    .unwrap_or_default();
                objects.push(ListedObject {
                    key: key.to_string(),
                    age,
                });
            }
            token = listed.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(objects);
            }
        }
    }

    async fn start_multipart(&self, key: &str) -> Result<String, StorageError> {
        let started = self
            .retrying(key, || async {
                self.client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .content_type("application/octet-stream")
                    .send()
                    .await
                    .map_err(|e| classify(key, e))
            })
            .await?;
        started.upload_id.ok_or_else(|| StorageError::Rejected {
            key: key.to_string(),
            detail: "the store started a multipart upload without an id".into(),
        })
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        bytes: Bytes,
    ) -> Result<UploadedPart, StorageError> {
        let size = bytes.len() as u64;
        let stored = self
            .retrying(key, || async {
                self.client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .body(ByteStream::from(bytes.clone()))
                    .send()
                    .await
                    .map_err(|e| classify(key, e))
            })
            .await?;
        let etag = stored.e_tag.ok_or_else(|| StorageError::Rejected {
            key: key.to_string(),
            detail: format!("the store kept part {number} without an ETag"),
        })?;
        Ok(UploadedPart {
            number,
            etag,
            bytes: size,
        })
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StorageError> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|part| {
                        CompletedPart::builder()
                            .part_number(part.number)
                            .e_tag(&part.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.retrying(key, || async {
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(completed.clone())
                .send()
                .await
                .map_err(|e| classify(key, e))
        })
        .await
        .map(|_| ())
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        lifetime: Duration,
    ) -> Result<String, StorageError> {
        let config = presigning(key, lifetime)?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .presigned(config)
            .await
            .map_err(|e| classify(key, e))?;
        Ok(request.uri().to_string())
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<UploadedPart>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .retrying(key, || async {
                    self.client
                        .list_parts()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .set_part_number_marker(marker.clone())
                        .send()
                        .await
                        .map_err(|e| classify(key, e))
                })
                .await?;
            for part in page.parts() {
                parts.push(UploadedPart {
                    number: part.part_number.unwrap_or(0),
                    etag: part.e_tag.clone().unwrap_or_default(),
                    bytes: part.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                });
            }
            marker = page.next_part_number_marker.clone();
            if !page.is_truncated.unwrap_or(false) || marker.is_none() {
                break;
            }
        }
        parts.sort_by_key(|part| part.number);
        Ok(parts)
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        let aborted = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| classify(key, e));
        unless_missing(aborted).map(|_| ())
    }
}

/// How long a presigned URL for `key` works; S3 refuses more than 7 days.
fn presigning(
    key: &str,
    lifetime: Duration,
) -> Result<aws_sdk_s3::presigning::PresigningConfig, StorageError> {
    aws_sdk_s3::presigning::PresigningConfig::expires_in(lifetime).map_err(|e| {
        StorageError::Rejected {
            key: key.to_string(),
            detail: e.to_string(),
        }
    })
}

/// What an S3 error means for the caller: not found (404), denied (403, or a credential
/// S3 refused), unavailable (no answer, a timeout, a 5xx, throttling), or rejected (no such
/// bucket, a malformed request).
fn classify<E>(key: &str, error: SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = DisplayErrorContext(&error).to_string();
    let key = key.to_string();
    let (status, code) = match &error {
        SdkError::ServiceError(service) => (service.raw().status().as_u16(), service.err().code()),
        SdkError::ResponseError(response) => (response.raw().status().as_u16(), None),
        SdkError::ConstructionFailure(_) => return StorageError::Rejected { key, detail },
        // No answer: refused, reset, timed out.
        _ => return StorageError::Unavailable { key, detail },
    };
    match (status, code.unwrap_or("")) {
        (_, "NoSuchBucket") => StorageError::Rejected { key, detail },
        (404, _) | (_, "NoSuchKey" | "NotFound" | "NoSuchUpload") => StorageError::NotFound { key },
        (403, _)
        | (_, "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken") => {
            StorageError::Denied { key, detail }
        }
        (408 | 429 | 500.., _) | (_, "SlowDown" | "RequestTimeout" | "ServiceUnavailable") => {
            StorageError::Unavailable { key, detail }
        }
        _ => StorageError::Rejected { key, detail },
    }
}

/// An answer about an object, `None` when the object does not exist.
fn unless_missing<T>(asked: Result<T, StorageError>) -> Result<Option<T>, StorageError> {
    match asked {
        Ok(answer) => Ok(Some(answer)),
        Err(StorageError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
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
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectError;

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

    /// A service error S3 could answer: this status and error code.
    fn answered(status: u16, code: Option<&str>) -> StorageError {
        let mut metadata = ErrorMetadata::builder().message("said S3");
        if let Some(code) = code {
            metadata = metadata.code(code);
        }
        let raw = HttpResponse::new(
            status.try_into().unwrap(),
            aws_sdk_s3::primitives::SdkBody::empty(),
        );
        classify(
            "videos/x",
            SdkError::service_error(GetObjectError::generic(metadata.build()), raw),
        )
    }

    #[test]
    fn s3_answers_are_classified_by_what_the_caller_can_do() {
        use StorageError::*;
        assert!(matches!(answered(404, Some("NoSuchKey")), NotFound { .. }));
        // HEAD answers carry no body, hence no code.
        assert!(matches!(answered(404, None), NotFound { .. }));
        assert!(matches!(
            answered(404, Some("NoSuchBucket")),
            Rejected { .. }
        ));
        assert!(matches!(answered(403, Some("AccessDenied")), Denied { .. }));
        assert!(matches!(
            answered(403, Some("InvalidAccessKeyId")),
            Denied { .. }
        ));
        assert!(matches!(answered(400, Some("ExpiredToken")), Denied { .. }));
        for status in [500, 502, 503, 429, 408] {
            let error = answered(status, None);
            assert!(error.is_transient(), "{status}: {error:?}");
        }
        assert!(answered(503, Some("SlowDown")).is_transient());
        assert!(matches!(
            answered(400, Some("InvalidArgument")),
            Rejected { .. }
        ));
        // Only an unavailable store is worth waiting for.
        for error in [
            answered(404, None),
            answered(403, None),
            answered(400, Some("InvalidArgument")),
        ] {
            assert!(!error.is_transient(), "{error:?}");
        }
    }

    #[test]
    fn no_answer_is_unavailable() {
        let error: SdkError<GetObjectError, HttpResponse> =
            SdkError::timeout_error("no answer in 5 s");
        assert!(classify("k", error).is_transient());
        let error: SdkError<GetObjectError, HttpResponse> =
            SdkError::construction_failure("bad key");
        assert!(matches!(
            classify("k", error),
            StorageError::Rejected { .. }
        ));
    }
}
