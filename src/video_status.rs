//! Where a video is in its life: one definition for the database (`videos.status`, a `text`
//! column with a CHECK constraint), the JSON of the API and webhooks, and the OpenAPI document.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};
use utoipa::ToSchema;

/// A video's status. `pending` → `processing` → `completed`, `failed` or `canceled`; a failed
/// video can go back to `pending` by a retry. Before `pending`, an upload still arriving
/// through tus is `uploading` (shown by `GET /v1/videos/{id}` only: it is not a stored video
/// yet), and a URL import is `importing` until downloaded and probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VideoStatus {
    /// A resumable upload whose bytes are still arriving.
    Uploading,
    /// Being downloaded from its URL.
    Importing,
    /// Uploaded and waiting for a worker.
    Pending,
    /// A worker is converting it.
    Processing,
    /// Converted and published: it has a playback URL.
    Completed,
    /// It could not be converted; the error says why.
    Failed,
    /// Canceled before it completed.
    Canceled,
}

impl VideoStatus {
    /// Every status, in the order of a video's life.
    pub const ALL: [VideoStatus; 7] = [
        VideoStatus::Uploading,
        VideoStatus::Importing,
        VideoStatus::Pending,
        VideoStatus::Processing,
        VideoStatus::Completed,
        VideoStatus::Failed,
        VideoStatus::Canceled,
    ];

    /// The status as stored and sent, e.g. `"processing"`.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoStatus::Uploading => "uploading",
            VideoStatus::Importing => "importing",
            VideoStatus::Pending => "pending",
            VideoStatus::Processing => "processing",
            VideoStatus::Completed => "completed",
            VideoStatus::Failed => "failed",
            VideoStatus::Canceled => "canceled",
        }
    }

    /// Whether nothing changes it any more but a retry.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            VideoStatus::Completed | VideoStatus::Failed | VideoStatus::Canceled
        )
    }
}

impl fmt::Display for VideoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a [`VideoStatus`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a video status (uploading, importing, pending, processing, completed, failed, canceled)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for VideoStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<VideoStatus, UnknownStatus> {
        VideoStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_string()))
    }
}

/// Stored as the column's `text`.
impl sqlx::Type<Postgres> for VideoStatus {
    fn type_info() -> PgTypeInfo {
        <&str as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Postgres> for VideoStatus {
    fn decode(value: PgValueRef<'r>) -> Result<VideoStatus, BoxDynError> {
        Ok(<&str as sqlx::Decode<Postgres>>::decode(value)?.parse()?)
    }
}

impl sqlx::Encode<'_, Postgres> for VideoStatus {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as sqlx::Encode<Postgres>>::encode_by_ref(&self.as_str(), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_text_and_its_json() {
        for status in VideoStatus::ALL {
            assert_eq!(status.as_str().parse::<VideoStatus>(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
            assert_eq!(serde_json::from_str::<VideoStatus>(&json).unwrap(), status);
        }
        assert!("Completed".parse::<VideoStatus>().is_err());
    }

    #[test]
    fn only_the_ends_of_a_videos_life_are_final() {
        let finals: Vec<_> = VideoStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                VideoStatus::Completed,
                VideoStatus::Failed,
                VideoStatus::Canceled
            ]
        );
    }

    /// The database's CHECK constraint lists the same statuses, in the same order, but
    /// `uploading` (an upload still arriving is not a stored video).
    #[test]
    fn the_migration_allows_exactly_these_statuses() {
        let migration = include_str!("../migrations/20261203000004_url_imports.sql");
        let listed = VideoStatus::ALL
            .into_iter()
            .filter(|s| *s != VideoStatus::Uploading)
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(
            migration.contains(&format!("CHECK (status IN ({listed}))")),
            "{listed}"
        );
    }
}
