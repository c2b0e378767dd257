//! `PUT` and `DELETE /v1/videos/{id}/captions/{language}`: sidecar captions on a completed
//! video. The file (WebVTT or SRT) is cut at the video's segment boundaries into a WebVTT
//! subtitle rendition, `subs/{language}/`, and the master playlist is published again with
//! its `#EXT-X-MEDIA` entry; a track of the same language, the source's or an earlier
//! upload's, is replaced.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::AppState;
use super::extract::ApiPath;
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::db::videos::{self, CaptionTarget};
use crate::storage::{CHANGEABLE_CACHE, ObjectHeaders, video_prefix};
use crate::video_resource::VideoResource;
use crate::video_status::VideoStatus;
use hls_ladder::captions::{SubtitleReport, parse_captions, subtitle_rendition};
use hls_ladder::hls::{SubtitleMedia, with_subtitle_media};

/// A language tag as [`track_dir`] takes it (the pattern the document gives `language`).
pub(super) const LANGUAGE_PATTERN: &str = "^[A-Za-z0-9-]{1,16}$";

/// The largest caption file accepted.
pub const MAX_CAPTION_BYTES: usize = 2 << 20;

/// Adds or replaces the captions of one language on a completed video.
#[utoipa::path(
    put,
    path = "/v1/videos/{id}/captions/{language}",
    params(
        ("id" = Uuid, Path, description = "Video id"),
        ("language" = String, Path, description = "Language tag, e.g. `en` or `pt-BR` (letters, digits and `-`, at most 16)"),
    ),
    request_body(content = String, content_type = "text/vtt", description = "A WebVTT or SRT file, UTF-8, at most 2 MiB"),
    responses(
        (status = 200, description = "Published: the video, its `subtitles` listing the track", body = VideoResource),
        (status = 404, description = "No such video"),
        (status = 409, description = "The video is not completed"),
        (status = 413, description = "The file is larger than 2 MiB"),
        (status = 422, description = "Not a caption file, or a bad language tag: the problem names the line that is wrong"),
    )
)]
#[tracing::instrument(skip(state, body), fields(bytes = body.len()))]
pub async fn put_captions(
    State(state): State<AppState>,
    ApiPath((id, language)): ApiPath<(Uuid, String)>,
    body: Bytes,
) -> Result<Json<VideoResource>, ApiError> {
    let dir = track_dir(&language)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| bad_captions("the file is not UTF-8 text".to_string()))?;
    let cues = parse_captions(text).map_err(|error| bad_captions(error.to_string()))?;
    let mut tx = state.pool.begin().await?;
    let target = completed(&mut tx, id).await?;
    let prefix = target
        .output_prefix
        .clone()
        .unwrap_or_else(|| video_prefix(id));
    let durations = segment_durations(&state, &prefix, &target).await?;
    let headers = |content_type| ObjectHeaders {
        content_type,
        cache_control: CHANGEABLE_CACHE,
    };
    let (segments, playlist) = subtitle_rendition(&cues, &durations, 1);
    for (uri, text) in segments {
        let key = format!("{prefix}subs/{dir}/{uri}");
        state
            .store
            .put(&key, Bytes::from(text), headers("text/vtt"))
            .await?;
    }
    let uri = format!("subs/{dir}/index.m3u8");
    let mpegurl = "application/vnd.apple.mpegurl";
    let key = format!("{prefix}{uri}");
    state
        .store
        .put(&key, Bytes::from(playlist.render()), headers(mpegurl))
        .await?;
    let media = SubtitleMedia {
        name: language.clone(),
        language: Some(language.clone()),
        default: false,
        forced: false,
        uri: uri.clone(),
    };
    republish_master(&state, &prefix, &uri, Some(&media)).await?;
    let mut subtitles = target.subtitles.map(|s| s.0).unwrap_or_default();
    subtitles.retain(|track| track.playlist != uri);
    subtitles.push(SubtitleReport {
        name: language.clone(),
        language: Some(language),
        playlist: uri,
        cues: cues.len() as u64,
        default: false,
        forced: false,
    });
    record(&state, tx, id, &subtitles).await
}

/// Removes the captions of one language from a completed video.
#[utoipa::path(
    delete,
    path = "/v1/videos/{id}/captions/{language}",
    params(
        ("id" = Uuid, Path, description = "Video id"),
        ("language" = String, Path, description = "The language tag the track was added with, or the source track's directory under `subs/`"),
    ),
    responses(
        (status = 200, description = "Removed: the video without the track", body = VideoResource),
        (status = 404, description = "No such video, or no such track"),
        (status = 409, description = "The video is not completed"),
        (status = 422, description = "A bad language tag"),
    )
)]
#[tracing::instrument(skip(state))]
pub async fn delete_captions(
    State(state): State<AppState>,
    ApiPath((id, language)): ApiPath<(Uuid, String)>,
) -> Result<Json<VideoResource>, ApiError> {
    let dir = track_dir(&language)?;
    let mut tx = state.pool.begin().await?;
    let target = completed(&mut tx, id).await?;
    let prefix = target
        .output_prefix
        .clone()
        .unwrap_or_else(|| video_prefix(id));
    let uri = format!("subs/{dir}/index.m3u8");
    let mut subtitles = target.subtitles.map(|s| s.0).unwrap_or_default();
    let before = subtitles.len();
    subtitles.retain(|track| track.playlist != uri);
    if subtitles.len() == before {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ApiCode::CaptionsNotFound,
            format!("the video has no captions under subs/{dir}/"),
        ));
    }
    // The master first: no player is sent to the objects once they are gone.
    republish_master(&state, &prefix, &uri, None).await?;
    state
        .store
        .delete_prefix(&format!("{prefix}subs/{dir}/"))
        .await?;
    record(&state, tx, id, &subtitles).await
}

/// The directory of a language's track: the tag lowercased, checked.
pub(super) fn track_dir(language: &str) -> Result<String, ApiError> {
    let plain = !language.is_empty()
        && language.len() <= 16
        && language
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !plain {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ApiCode::BadLanguage,
            "the language must be a tag such as `en` or `pt-BR`: letters, digits and `-`, at most 16",
        ));
    }
    Ok(language.to_ascii_lowercase())
}

fn bad_captions(detail: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ApiCode::BadCaptions,
        format!("not a WebVTT or SRT file: {detail}"),
    )
}

/// The video's row, locked until `tx` ends, when it is completed.
async fn completed(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
) -> Result<CaptionTarget, ApiError> {
    let target = videos::lock_for_captions(tx, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    if target.status != VideoStatus::Completed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::NotCompleted,
            format!(
                "captions go on completed videos; this one is {}",
                target.status.as_str()
            ),
        ));
    }
    Ok(target)
}

/// The durations of the video's segments, from its first rendition's media playlist.
async fn segment_durations(
    state: &AppState,
    prefix: &str,
    target: &CaptionTarget,
) -> Result<Vec<f64>, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::OutputMissing,
            "the video's playlists are not in the bucket",
        )
    };
    let playlist = target
        .renditions
        .as_ref()
        .and_then(|r| r.0.first())
        .map(|r| r.playlist.clone())
        .ok_or_else(missing)?;
    let text = state
        .store
        .get_bytes(&format!("{prefix}{playlist}"))
        .await?
        .ok_or_else(missing)?;
    let durations: Vec<f64> = String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|d| d.split(',').next()?.parse().ok())
        .collect();
    if durations.is_empty() {
        return Err(missing());
    }
    Ok(durations)
}

/// Publishes the master playlist again with the subtitle rendition at `uri` as `media` says.
async fn republish_master(
    state: &AppState,
    prefix: &str,
    uri: &str,
    media: Option<&SubtitleMedia>,
) -> Result<(), ApiError> {
    let key = format!("{prefix}{}", hls_ladder::MASTER_PLAYLIST);
    let master = state.store.get_bytes(&key).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            ApiCode::OutputMissing,
            "the video's master playlist is not in the bucket",
        )
    })?;
    let text = with_subtitle_media(&String::from_utf8_lossy(&master), uri, media);
    let headers = ObjectHeaders {
        content_type: "application/vnd.apple.mpegurl",
        cache_control: CHANGEABLE_CACHE,
    };
    state.store.put(&key, Bytes::from(text), headers).await?;
    Ok(())
}

/// Records the subtitle renditions, ends the lock, and answers with the video.
async fn record(
    state: &AppState,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
    subtitles: &[SubtitleReport],
) -> Result<Json<VideoResource>, ApiError> {
    let value = serde_json::to_value(subtitles).unwrap_or(serde_json::Value::Null);
    videos::set_subtitles(&mut tx, id, value).await?;
    tx.commit().await?;
    let row = videos::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::video_not_found(id))?;
    Ok(Json(state.presenter.present(row, None)))
}
