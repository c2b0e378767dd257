//! Provisioning the bucket at start: created if missing, readable by players (CORS), and
//! public or private according to the playback mode.

use anyhow::Context;

use super::S3Store;

/// The statement of the bucket policy that makes `videos/*` readable by anyone.
const PUBLIC_READ_SID: &str = "PublicReadOfPublishedVideos";

/// Who may read the published videos straight from the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketAccess {
    /// Anyone: `videos/*` is public, and playback URLs point at the bucket.
    PublicRead,
    /// Nobody without a presigned URL (private playback).
    Private,
}

/// Creates the bucket if missing and allows GET from any origin (CORS), so players such as
/// hls.js in a browser can fetch the output; makes `videos/*` readable by anyone, or takes
/// that back for private playback (players then get presigned URLs).
pub async fn ensure_bucket(store: &S3Store, access: BucketAccess) -> anyhow::Result<()> {
    if store
        .client
        .head_bucket()
        .bucket(&store.bucket)
        .send()
        .await
        .is_err()
    {
        store
            .client
            .create_bucket()
            .bucket(&store.bucket)
            .send()
            .await
            .with_context(|| format!("Failed to create the bucket {}", store.bucket))?;
    }
    if access == BucketAccess::PublicRead {
        make_videos_public(store).await?;
    } else {
        remove_public_read(store).await?;
    }
    allow_cross_origin_reads_and_part_uploads(store).await
}

/// Takes back the public-read statement [`make_videos_public`] set, for a bucket
/// switched to private playback; other statements of the policy stay.
async fn remove_public_read(store: &S3Store) -> anyhow::Result<()> {
    let Ok(current) = store
        .client
        .get_bucket_policy()
        .bucket(&store.bucket)
        .send()
        .await
    else {
        return Ok(()); // no policy at all
    };
    let text = current.policy().unwrap_or_default();
    let mut policy: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let Some(statements) = policy["Statement"].as_array_mut() else {
        return Ok(());
    };
    let before = statements.len();
    statements.retain(|s| s["Sid"] != PUBLIC_READ_SID);
    if statements.len() == before {
        return Ok(());
    }
    tracing::warn!(bucket = %store.bucket, "removing the public-read policy: playback is private now");
    if statements.is_empty() {
        store
            .client
            .delete_bucket_policy()
            .bucket(&store.bucket)
            .send()
            .await
            .context("Failed to remove the public-read bucket policy")?;
    } else {
        put_policy(store, &policy)
            .await
            .context("Failed to remove the public-read statement of the bucket policy")?;
    }
    Ok(())
}

/// Replaces the bucket policy with `policy`.
async fn put_policy(store: &S3Store, policy: &serde_json::Value) -> anyhow::Result<()> {
    store
        .client
        .put_bucket_policy()
        .bucket(&store.bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(anyhow::Error::from)?;
    Ok(())
}

async fn make_videos_public(store: &S3Store) -> anyhow::Result<()> {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": PUBLIC_READ_SID,
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{}/videos/*", store.bucket),
        }]
    });
    put_policy(store, &policy)
        .await
        .context("Failed to set the public-read bucket policy")
}

async fn allow_cross_origin_reads_and_part_uploads(store: &S3Store) -> anyhow::Result<()> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let rule = CorsRule::builder()
        .allowed_methods("GET")
        .allowed_methods("HEAD")
        .allowed_origins("*")
        .allowed_headers("*")
        .max_age_seconds(3600)
        .build()
        .context("Failed to build the CORS rule")?;
    // Direct uploads from a browser PUT their parts to presigned URLs: only a valid
    // signature lets one through, whatever the origin.
    let direct_uploads = CorsRule::builder()
        .allowed_methods("PUT")
        .allowed_origins("*")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(3600)
        .build()
        .context("Failed to build the CORS rule for direct uploads")?;
    let cors = CorsConfiguration::builder()
        .cors_rules(rule)
        .cors_rules(direct_uploads)
        .build()
        .context("Failed to build CORS")?;
    store
        .client
        .put_bucket_cors()
        .bucket(&store.bucket)
        .cors_configuration(cors)
        .send()
        .await
        .context("Failed to set the bucket's CORS configuration")?;
    Ok(())
}
