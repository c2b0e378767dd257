//! `GET /v1/videos/{id}/play/{path}`: with private playback, the playlists of a video behind
//! signed links, their URIs rewritten so that a player needs no credentials.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::extract::{ApiPath, ApiQuery};
use super::problem::ApiError;
use super::problem_code::ApiCode;
use crate::playback_links::{
    LinkError, PlaybackLinks, is_download_path, is_playlist_path, is_still_path, rewrite_uris,
};
use crate::storage::{resolve_key, video_prefix};

/// The signature of a link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// Unix time after which the link is refused.
    expires: u64,
    /// HMAC-SHA256 of the id, the path and `expires`, in hex.
    signature: String,
}

/// A playlist or a still of a playable video (completed, or converting with its first
/// segments published), for a player holding a signed link (the `playback_url`,
/// `poster_url` or `storyboard_url` of a video when the service runs with
/// `PRIVATE_PLAYBACK`). Variant and I-frame playlists are rewritten to signed links,
/// segments to presigned S3 URLs, all valid as long as the link; a poster or a sprite sheet
/// answers with a redirect to a presigned URL, and the storyboard's WebVTT file names its
/// sheets by presigned URLs. While the video converts, the playlists grow and may be cached
/// for a second only.
#[utoipa::path(
    get,
    path = "/v1/videos/{id}/play/{path}",
    params(
        ("id" = Uuid, Path, description = "Video id"),
        ("path" = String, Path, description = "`master.m3u8`, `{rendition}/index.m3u8`, `{rendition}/iframes.m3u8`, `subs/{track}/index.m3u8`, `audio/{track}/index.m3u8`, `download/{rendition}.mp4`, `poster.jpg`, `poster_small.jpg`, `storyboard/storyboard.vtt` or `storyboard/sprite_{n}.jpg`"),
        LinkQuery,
    ),
    responses(
        (status = 200, description = "The playlist", content_type = "application/vnd.apple.mpegurl", body = String,
         example = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=3100000,AVERAGE-BANDWIDTH=2760000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\"\n720p/index.m3u8?expires=1764352800&signature=9f2c…\n"),
        (status = 302, description = "A poster or sprite sheet: its presigned URL in `Location`"),
        (status = 403, description = "The signature does not match, or the link expired"),
        (status = 404, description = "No such playlist, or playback is public"),
    )
)]
#[tracing::instrument(level = "debug", skip(state, link))]
pub async fn play_video(
    State(state): State<AppState>,
    ApiPath((id, path)): ApiPath<(Uuid, String)>,
    ApiQuery(link): ApiQuery<LinkQuery>,
) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ApiCode::PlaylistNotFound,
            "there is no such playlist",
        )
    };
    let Some(links) = &state.presenter.playback else {
        return Err(not_found());
    };
    let redirected = is_still_path(&path) || is_download_path(&path);
    if !is_playlist_path(&path) && !redirected {
        return Err(not_found());
    }
    links
        .verify(id, &path, link.expires, &link.signature)
        .map_err(|error| match error {
            LinkError::BadSignature => ApiError::new(
                StatusCode::FORBIDDEN,
                ApiCode::BadPlaybackSignature,
                "the playback link is not valid; ask the API for the video's playback_url again",
            ),
            LinkError::Expired => ApiError::new(
                StatusCode::FORBIDDEN,
                ApiCode::PlaybackLinkExpired,
                "the playback link expired; ask the API for the video's playback_url again",
            ),
            LinkError::TooLong => ApiError::new(
                StatusCode::FORBIDDEN,
                ApiCode::BadPlaybackSignature,
                "the playback link is valid for longer than this service allows; ask the API for the video's playback_url again",
            ),
        })?;
    // The publishing claim's prefix: its objects, and no other claim's.
    let published = crate::db::videos::published_output(&state.pool, id)
        .await?
        .ok_or_else(not_found)?;
    let prefix = published.prefix;
    if redirected {
        return still(&state, &prefix, &path, link.expires).await;
    }
    let stored = state
        .store
        .get_bytes(&format!("{prefix}{path}"))
        .await?
        .ok_or_else(not_found)?;
    let playlist = String::from_utf8_lossy(&stored);
    let body = match path.rsplit_once('/') {
        // The master playlist: each variant becomes a signed link, relative to this one.
        None => rewrite_uris(&playlist, |variant| {
            format!(
                "{variant}?{}",
                links.query_expiring(id, variant, link.expires)
            )
        }),
        // A media playlist: each segment becomes a presigned URL of the bucket.
        Some((playlist_dir, _)) => {
            let mut presigned = std::collections::HashMap::new();
            for segment in playlist
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                // A resumed conversion's playlists name earlier claims' segments with `..`:
                // resolved as a player would, and never outside the video's own objects.
                let key = resolve_key(&prefix, playlist_dir, segment)
                    .filter(|key| key.starts_with(&video_prefix(id)))
                    .ok_or_else(not_found)?;
                let url = state
                    .store
                    .presign_get(&key, PlaybackLinks::remaining(link.expires))
                    .await?;
                presigned.insert(segment.to_string(), url);
            }
            rewrite_uris(&playlist, |segment| {
                presigned.remove(segment).unwrap_or_default()
            })
        }
    };
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apple.mpegurl"),
    );
    let cache = if published.completed {
        "private, max-age=60"
    } else {
        "private, max-age=1"
    };
    Ok(for_any_player(response, cache))
}

/// A response any player may read (CORS), cached by the viewer's browser only, for `cache`.
fn for_any_player(mut response: Response, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// A still or an MP4 download behind a signed link: an image or a download is a redirect to
/// its presigned URL in the bucket;
/// the storyboard's WebVTT file is served with each sheet named by its presigned URL, the
/// `#xywh=` fragments kept.
async fn still(
    state: &AppState,
    prefix: &str,
    path: &str,
    expires: u64,
) -> Result<Response, ApiError> {
    let lifetime = PlaybackLinks::remaining(expires);
    let private = |response| for_any_player(response, "private, max-age=60");
    if path != hls_ladder::stills::STORYBOARD {
        let url = state
            .store
            .presign_get(&format!("{prefix}{path}"), lifetime)
            .await?;
        let location = HeaderValue::try_from(url).map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiCode::InternalError,
                "the storage gave an unusable URL",
            )
        })?;
        let response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
        return Ok(private(response));
    }
    let stored = state
        .store
        .get_bytes(&format!("{prefix}{path}"))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ApiCode::PlaylistNotFound,
                "the video has no storyboard",
            )
        })?;
    let mut presigned = std::collections::HashMap::new();
    let mut body = String::with_capacity(stored.len() * 4);
    for line in String::from_utf8_lossy(&stored).lines() {
        match line.split_once("#xywh=") {
            Some((sheet, fragment)) if is_still_path(&format!("storyboard/{sheet}")) => {
                if !presigned.contains_key(sheet) {
                    let key = format!("{prefix}storyboard/{sheet}");
                    let url = state.store.presign_get(&key, lifetime).await?;
                    presigned.insert(sheet.to_string(), url);
                }
                body.push_str(&presigned[sheet]);
                body.push_str("#xywh=");
                body.push_str(fragment);
            }
            _ => body.push_str(line),
        }
        body.push('\n');
    }
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/vtt"));
    Ok(private(response))
}
