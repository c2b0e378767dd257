//! Uploads straight to the bucket: `POST /v1/direct-uploads` starts a multipart upload of
//! `sources/{id}` and hands the client a presigned URL per part; the client PUTs the parts to
//! the bucket (the bytes never cross an API node), then `POST /v1/direct-uploads/{id}/complete`
//! joins them, probes the file like any upload, and makes the video with the upload's id.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::bucket_arrival::{self, Arrival};
use super::created_video::location_of;
use super::extract::ApiPath;
use super::json_body;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use super::upload_intake::too_large;
use crate::db::direct_uploads::{self, DirectUpload, Taken};
use crate::db::videos;
use crate::intake::{MAX_FILENAME_CHARS, sanitize_filename};
use crate::storage::{MIN_PART_BYTES, StorageError, UploadedPart, source_key};
use crate::video_resource::VideoResource;

/// How long the part URLs work; an upload not completed by then is removed.
pub const EXPIRES_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// The smallest part handed out (S3's least is 5 MiB); larger files get larger parts.
pub const PART_BYTES: u64 = 8 * 1024 * 1024;
/// The most parts S3 joins.
const MAX_PARTS: u64 = 10_000;
const _: () = assert!(PART_BYTES >= MIN_PART_BYTES, "S3 refuses smaller parts");

/// What to upload straight to the bucket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"size": 734_003_200_u64, "filename": "holiday.mp4"}))]
pub struct DirectUploadRequest {
    /// The file's exact size in bytes (at most the server's upload limit).
    #[schema(minimum = 1)]
    pub size: u64,
    /// The file name to show, as metadata only.
    #[schema(max_length = 255)]
    pub filename: Option<String>,
}

/// One part to PUT.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartUpload {
    /// Its number, from 1.
    pub number: u32,
    /// The presigned URL to PUT its bytes to (no other header needed).
    pub url: String,
    /// Where its bytes start in the file.
    pub offset: u64,
    /// How many bytes it has.
    pub bytes: u64,
}

/// Where to PUT the file's parts, and how to finish.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
    "part_bytes": 8_388_608,
    "parts": [
        {"number": 1, "url": "http://127.0.0.1:4566/videos/sources/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b?partNumber=1&uploadId=…&X-Amz-Signature=…", "offset": 0, "bytes": 8_388_608},
        {"number": 2, "url": "http://127.0.0.1:4566/videos/sources/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b?partNumber=2&uploadId=…&X-Amz-Signature=…", "offset": 8_388_608, "bytes": 1_611_392}
    ],
    "complete_url": "/v1/direct-uploads/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b/complete",
    "expires_at": "2026-11-29T12:00:00Z"
}))]
pub struct DirectUploadPlan {
    /// The upload's id, the video's to be.
    pub id: Uuid,
    /// The size of every part but the last.
    pub part_bytes: u64,
    /// Every part, in order: PUT bytes `offset..offset+bytes` of the file to `url`, in any
    /// order or at once.
    pub parts: Vec<PartUpload>,
    /// POST here once every part is stored.
    pub complete_url: String,
    /// When the URLs stop working and the upload is removed.
    pub expires_at: DateTime<Utc>,
}

/// The size of every part but the last: at least [`PART_BYTES`], more for a file that would
/// need more than 10,000 parts, in whole MiB.
pub fn part_bytes_for(size: u64) -> u64 {
    const MIB: u64 = 1024 * 1024;
    PART_BYTES.max(size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB)
}

/// Each part's number, offset and size.
pub fn parts_of(size: u64, part_bytes: u64) -> Vec<(u32, u64, u64)> {
    (0..size.div_ceil(part_bytes))
        .map(|index| {
            let offset = index * part_bytes;
            (index as u32 + 1, offset, part_bytes.min(size - offset))
        })
        .collect()
}

/// Whether the stored parts are exactly the file's: each number once, each of its size.
pub fn check_parts(stored: &[UploadedPart], size: u64, part_bytes: u64) -> Result<(), String> {
    let expected = parts_of(size, part_bytes);
    let missing: Vec<String> = expected
        .iter()
        .filter(|(number, _, _)| !stored.iter().any(|p| p.number == *number as i32))
        .map(|(number, _, _)| number.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} of {} parts are not in the bucket yet: {}",
            missing.len(),
            expected.len(),
            shorten(&missing)
        ));
    }
    for part in stored {
        match expected.iter().find(|(n, _, _)| *n as i32 == part.number) {
            None => {
                return Err(format!(
                    "part {} is not one of the upload's {} parts",
                    part.number,
                    expected.len()
                ));
            }
            Some((number, _, bytes)) if part.bytes != *bytes => {
                return Err(format!(
                    "part {number} has {} bytes, not {bytes}: PUT it again with bytes {}..{} of the file",
                    part.bytes,
                    (*number as u64 - 1) * part_bytes,
                    (*number as u64 - 1) * part_bytes + bytes
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn shorten(numbers: &[String]) -> String {
    if numbers.len() <= 10 {
        numbers.join(", ")
    } else {
        format!("{}, ...", numbers[..10].join(", "))
    }
}

/// Starts an upload straight to the bucket: presigned part URLs for a file of `size` bytes.
/// The URLs point at the bucket's endpoint (`S3_ENDPOINT`), which clients must reach.
#[utoipa::path(
    post,
    path = "/v1/direct-uploads",
    operation_id = "create_direct_upload",
    tag = "direct uploads",
    request_body(content = DirectUploadRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "PUT the parts, then POST complete_url", body = DirectUploadPlan,
         headers(("Location" = String, description = "The completion URL"))),
        (status = 400, description = "The body is not `{\"size\": N}` with N > 0"),
        (status = 401, description = "API keys are configured and none was sent"),
        (status = 403, description = "The API key is not valid"),
        (status = 413, description = "Larger than the upload limit"),
        (status = 429, description = "Over the client's upload allowance (UPLOAD_RATE)"),
        (status = 503, description = "Database or bucket unavailable"),
    )
)]
#[tracing::instrument(skip_all, fields(video_id))]
pub async fn create(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, HeaderMap, Json<DirectUploadPlan>), ApiError> {
    let request: DirectUploadRequest =
        json_body::parse(&body, r#"{"size": 1048576, "filename": "clip.mp4"}"#)?;
    json_body::check_length("filename", request.filename.as_deref(), MAX_FILENAME_CHARS)?;
    if request.size == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ApiCode::EmptyUpload,
            "`size` must be the file's size, more than 0 bytes",
        ));
    }
    if request.size > state.upload_limit {
        return Err(too_large(state.upload_limit));
    }
    let id = Uuid::now_v7();
    tracing::Span::current().record("video_id", tracing::field::display(id));
    let key = source_key(id);
    let store = state.store.as_ref();
    let multipart_id = store.start_multipart(&key).await?;
    let part_bytes = part_bytes_for(request.size);
    let upload = DirectUpload {
        id,
        key,
        multipart_id,
        length: request.size,
        part_bytes,
        filename: request.filename.as_deref().map(sanitize_filename),
        expires_at: Utc::now() + EXPIRES_AFTER,
    };
    let plan = async {
        let mut parts = Vec::new();
        for (number, offset, bytes) in parts_of(upload.length, part_bytes) {
            let url = store
                .presign_part(
                    &upload.key,
                    &upload.multipart_id,
                    number as i32,
                    EXPIRES_AFTER,
                )
                .await?;
            parts.push(PartUpload {
                number,
                url,
                offset,
                bytes,
            });
        }
        direct_uploads::insert(&state.pool, &upload).await?;
        Ok::<_, ApiError>(parts)
    }
    .await;
    let parts = match plan {
        Ok(parts) => parts,
        Err(error) => {
            let _ = store
                .abort_multipart(&upload.key, &upload.multipart_id)
                .await;
            return Err(error);
        }
    };
    let complete_url = format!("/v1/direct-uploads/{id}/complete");
    tracing::info!(
        bytes = upload.length,
        parts = parts.len(),
        "direct upload started"
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::LOCATION,
        complete_url.parse().expect("a path is a header value"),
    );
    let plan = DirectUploadPlan {
        id,
        part_bytes,
        parts,
        complete_url,
        expires_at: upload.expires_at,
    };
    Ok((StatusCode::CREATED, headers, Json(plan)))
}

/// Finishes an upload straight to the bucket: joins its parts, probes the file like any
/// upload, and makes it the video with the upload's id. Sent again after a lost answer, it
/// answers with that video.
#[utoipa::path(
    post,
    path = "/v1/direct-uploads/{id}/complete",
    operation_id = "complete_direct_upload",
    tag = "direct uploads",
    params(("id" = Uuid, Path, description = "The upload's id")),
    responses(
        (status = 201, description = "The video, queued", body = VideoResource,
         headers(("Location" = String, description = "The video's status URL"))),
        (status = 200, description = "Completed already: the video", body = VideoResource),
        (status = 400, description = "The id is not a UUID"),
        (status = 404, description = "No such upload, or it expired"),
        (status = 409, description = "Parts are missing or of the wrong size (`upload-incomplete`, saying which), or another request is completing it (`upload-busy`)"),
        (status = 422, description = "Not a video, or beyond a limit (as `POST /v1/videos`); the upload is removed"),
        (status = 503, description = "Database or bucket unavailable, or the server could not probe it now: try again"),
    )
)]
#[tracing::instrument(skip(state, headers))]
pub async fn complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, HeaderMap, Json<VideoResource>), ApiError> {
    if let Some(row) = videos::get(&state.pool, id).await? {
        return Ok((
            StatusCode::OK,
            HeaderMap::new(),
            Json(state.present(row, &headers)),
        ));
    }
    let upload = match direct_uploads::take(&state.pool, id).await? {
        Taken::Taken(upload) => upload,
        Taken::Busy => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ApiCode::UploadBusy,
                "another request is completing this upload; GET /v1/videos/{id} shortly",
            ));
        }
        Taken::Missing => return Err(not_found(id)),
    };
    match finish(&state, &upload).await {
        Ok(()) => {}
        Err(Finish::Retry(error)) => {
            let _ = direct_uploads::release(&state.pool, id).await;
            return Err(error);
        }
        Err(Finish::Gone(error)) => {
            let _ = state
                .store
                .abort_multipart(&upload.key, &upload.multipart_id)
                .await;
            let _ = state.store.delete(&upload.key).await;
            let _ = direct_uploads::delete(&state.pool, id).await;
            return Err(error);
        }
    }
    let _ = direct_uploads::delete(&state.pool, id).await;
    tracing::info!(bytes = upload.length, "direct upload complete");
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    let resource = state.present(row, &headers);
    Ok((StatusCode::CREATED, location_of(&resource), Json(resource)))
}

/// Why a completion did not make the video.
enum Finish {
    /// The client may try again (parts missing, the server short of something).
    Retry(ApiError),
    /// The upload is refused for good; nothing of it is kept.
    Gone(ApiError),
}

async fn finish(state: &AppState, upload: &DirectUpload) -> Result<(), Finish> {
    let store = state.store.as_ref();
    match store.list_parts(&upload.key, &upload.multipart_id).await {
        Ok(parts) => {
            check_parts(&parts, upload.length, upload.part_bytes).map_err(|problem| {
                Finish::Retry(ApiError::new(
                    StatusCode::CONFLICT,
                    ApiCode::UploadIncomplete,
                    problem,
                ))
            })?;
            store
                .complete_multipart(&upload.key, &upload.multipart_id, &parts)
                .await
                .map_err(|e| Finish::Retry(e.into()))?;
        }
        // Joined already by an earlier request that did not get to make the video.
        Err(StorageError::NotFound { .. })
            if store
                .exists(&upload.key)
                .await
                .map_err(|e| Finish::Retry(e.into()))? => {}
        Err(StorageError::NotFound { .. }) => {
            return Err(Finish::Gone(not_found(upload.id)));
        }
        Err(error) => return Err(Finish::Retry(error.into())),
    }
    let arrival = Arrival {
        id: upload.id,
        key: &upload.key,
        filename: upload.filename.as_deref(),
        bytes: upload.length,
    };
    bucket_arrival::accept(state, arrival)
        .await
        .map_err(|error| {
            if error.status().is_client_error() {
                Finish::Gone(error)
            } else {
                Finish::Retry(error)
            }
        })
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ApiCode::UploadNotFound,
        format!("there is no upload {id} in progress (it expired, or was never started)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn stored(parts: &[(i32, u64)]) -> Vec<UploadedPart> {
        parts
            .iter()
            .map(|(number, bytes)| UploadedPart {
                number: *number,
                etag: format!("\"{number}\""),
                bytes: *bytes,
            })
            .collect()
    }

    #[test]
    fn parts_cover_the_file_exactly_within_s3s_limits() {
        for size in [
            1,
            MIB,
            8 * MIB,
            8 * MIB + 1,
            700 * MIB + 3,
            2 << 30,
            100 << 30,
            5 << 40,
        ] {
            let part_bytes = part_bytes_for(size);
            let parts = parts_of(size, part_bytes);
            assert!(
                parts.len() as u64 <= MAX_PARTS,
                "{size}: {} parts",
                parts.len()
            );
            assert!(part_bytes >= MIN_PART_BYTES);
            assert_eq!(parts.iter().map(|p| p.2).sum::<u64>(), size);
            let mut offset = 0;
            for (index, (number, at, bytes)) in parts.iter().enumerate() {
                assert_eq!(*number as usize, index + 1);
                assert_eq!(*at, offset);
                assert!(*bytes > 0);
                if index + 1 < parts.len() {
                    assert_eq!(*bytes, part_bytes);
                }
                offset += bytes;
            }
        }
    }

    #[test]
    fn a_completion_needs_every_part_at_its_size() {
        let size = 20 * MIB;
        let part_bytes = 8 * MIB;
        assert!(
            check_parts(
                &stored(&[(1, 8 * MIB), (2, 8 * MIB), (3, 4 * MIB)]),
                size,
                part_bytes
            )
            .is_ok()
        );
        let missing =
            check_parts(&stored(&[(1, 8 * MIB), (3, 4 * MIB)]), size, part_bytes).unwrap_err();
        assert!(
            missing.contains("1 of 3 parts") && missing.contains(": 2"),
            "{missing}"
        );
        let short = check_parts(
            &stored(&[(1, 8 * MIB), (2, MIB), (3, 4 * MIB)]),
            size,
            part_bytes,
        )
        .unwrap_err();
        assert!(short.contains("part 2 has 1048576 bytes"), "{short}");
        let extra = check_parts(
            &stored(&[(1, 8 * MIB), (2, 8 * MIB), (3, 4 * MIB), (4, 1)]),
            size,
            part_bytes,
        )
        .unwrap_err();
        assert!(extra.contains("part 4 is not one"), "{extra}");
    }
}
