//! The JSON representation of a video, shared by every endpoint that returns one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::videos::VideoRow;
use crate::video_status::VideoStatus;
use hls_ladder::captions::SubtitleReport;
use hls_ladder::stills::StillsReport;
use hls_ladder::{MASTER_PLAYLIST, Progress, RenditionReport, SourceInfo};

/// Why a video failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct VideoError {
    /// Stable code, e.g. `corrupt-input`.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

/// An MP4 download of a completed video (`MP4_DOWNLOAD`, or `?mp4_download=true` on upload).
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadLink {
    /// The rendition it holds, e.g. `1080p`: the tallest up to 1080p.
    pub rendition: String,
    /// Where to fetch it: a progressive MP4 with its index at the front, which a browser's
    /// `<video>` plays while it downloads; a signed link with private playback.
    pub url: String,
    /// Its size.
    pub bytes: u64,
}

/// How far a resumable upload got, while the video is `uploading`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadState {
    /// Bytes received so far (the tus `Upload-Offset`).
    pub bytes_received: i64,
    /// The upload's size (`Upload-Length`).
    pub bytes_expected: i64,
    /// When it is removed unless it completes.
    pub expires_at: DateTime<Utc>,
    /// Where to continue it (tus `HEAD`/`PATCH`).
    pub upload_url: String,
}

/// A video and its conversion.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
    "status": "completed",
    "status_url": "/v1/videos/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b",
    "playback_url": "http://127.0.0.1:4566/videos/videos/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b/1/master.m3u8",
    "playable_at": "2026-11-28T12:00:02.900Z",
    "original_filename": "holiday.mp4",
    "source_bytes": 5_242_880,
    "upload": null,
    "source": {"container": "mov,mp4,m4a,3gp,3g2,mj2", "duration": 20.0, "width": 1280, "height": 720,
               "frame_rate": 30.0, "video_codec": "h264", "rotation": 0,
               "audio": {"codec": "aac", "sample_rate": 48000, "channels": 2}},
    "progress": {"frames_done": 600, "frames_expected": 600, "percent": 100.0, "fps": 58.3,
                 "speed": 1.94, "eta": 0.0, "elapsed": 10.29,
                 "renditions": [{"name": "720p", "frames_done": 600}, {"name": "360p", "frames_done": 600}]},
    "renditions": [{"name": "720p", "width": 1280, "height": 720, "video_bitrate": 2_800_000,
                    "codecs": ["avc1.64001f", "mp4a.40.2"], "playlist": "720p/index.m3u8",
                    "segments": 4, "bytes": 6_912_000, "duration": 20.0, "frames": 600,
                    "bandwidth": 3_100_000, "average_bandwidth": 2_760_000}],
    "poster_url": "http://127.0.0.1:4566/videos/videos/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b/1/poster.jpg",
    "storyboard_url": "http://127.0.0.1:4566/videos/videos/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b/1/storyboard/storyboard.vtt",
    "stills": {"poster": {"path": "poster.jpg", "width": 1280, "height": 720, "bytes": 61_440},
               "poster_small": {"path": "poster_small.jpg", "width": 640, "height": 360, "bytes": 20_480},
               "poster_time": 6.0,
               "storyboard": {"path": "storyboard/storyboard.vtt", "thumbnails": 10, "tile_width": 160,
                              "tile_height": 90, "interval": 2.0,
                              "sheets": [{"path": "storyboard/sprite_001.jpg", "width": 1600, "height": 90, "bytes": 30_720}]}},
    "subtitles": [{"name": "English", "language": "eng", "playlist": "subs/eng/index.m3u8", "cues": 212,
                   "default": true, "forced": false}],
    "downloads": [{"rendition": "1080p", "bytes": 5_242_880,
                   "url": "http://127.0.0.1:4566/videos/videos/0193ee29-8a1c-7b3e-a4f0-5c6d7e8f9a0b/1/download/1080p.mp4"}],
    "duration_seconds": 20.0,
    "output_bytes": 9_437_184,
    "error": null,
    "attempts": 1,
    "resumed_from_segment": null,
    "resume_refused": null,
    "created_at": "2026-11-28T12:00:00.000Z",
    "updated_at": "2026-11-28T12:00:11.200Z",
    "started_at": "2026-11-28T12:00:00.150Z",
    "finished_at": "2026-11-28T12:00:11.200Z"
}))]
pub struct VideoResource {
    /// Server-made id.
    pub id: Uuid,
    /// `uploading` (a resumable upload still arriving), `importing`, `pending`,
    /// `processing`, `completed`, `failed` or `canceled`.
    pub status: VideoStatus,
    /// Where to poll this resource.
    pub status_url: String,
    /// Absolute URL of the master playlist, once playable: while `processing` as soon as
    /// every rendition has its first segment (the playlists then grow until `completed`), or
    /// once completed when the service publishes at the end (`PUBLISH_AT_END`).
    pub playback_url: Option<String>,
    /// When it could first be played.
    pub playable_at: Option<DateTime<Utc>>,
    /// The uploaded file's name, as metadata only.
    pub original_filename: Option<String>,
    /// Bytes uploaded (while `uploading`: received so far).
    pub source_bytes: i64,
    /// While `uploading`: how far the resumable upload got; `null` otherwise.
    pub upload: Option<UploadState>,
    /// Facts about the upload (duration, size, frame rate, codecs, rotation, audio); `null`
    /// until an import or a resumable upload has arrived and been probed.
    pub source: Option<SourceInfo>,
    /// Per-frame progress: frames_done, frames_expected, percent, fps, speed, eta, renditions.
    pub progress: Option<Progress>,
    /// The renditions, once completed.
    pub renditions: Option<Vec<RenditionReport>>,
    /// Once completed: the poster, a representative frame (not black, not a fade) at the top
    /// rendition's size, as a JPEG; `null` without stills (`STILLS=false`).
    pub poster_url: Option<String>,
    /// Once completed: the storyboard for seek-bar previews, a WebVTT file whose cues name a
    /// sprite sheet and a thumbnail in it (`sprite_001.jpg#xywh=0,0,160,90`), as video.js,
    /// Vidstack and Plyr read it; `null` without stills.
    pub storyboard_url: Option<String>,
    /// Once completed: the poster, the small poster and the storyboard in detail (paths
    /// relative to the playback URL's directory, sizes, thumbnails); `null` without stills.
    pub stills: Option<StillsReport>,
    /// Once completed: the subtitle renditions made from the source's text subtitle tracks
    /// (name, language, playlist relative to the playback URL's directory, cues, default,
    /// forced), listed in the master playlist; empty when it has none.
    pub subtitles: Option<Vec<SubtitleReport>>,
    /// Once completed with an MP4 download: the file, its rendition and size; `null`
    /// otherwise.
    pub downloads: Option<Vec<DownloadLink>>,
    /// Duration of the output in seconds, once completed.
    pub duration_seconds: Option<f64>,
    /// Bytes published, once completed.
    pub output_bytes: Option<i64>,
    /// Why it failed (or why the last attempt failed, while retrying).
    pub error: Option<VideoError>,
    /// Conversion attempts so far.
    pub attempts: i32,
    /// Once completed: how many segments of each rendition an interrupted attempt had
    /// published, which the last attempt kept and continued after (`null`: converted from the
    /// first frame).
    pub resumed_from_segment: Option<i64>,
    /// Once completed: why the last attempt started from the first frame although an earlier
    /// one had published segments (e.g. the settings changed, or segments were missing).
    pub resume_refused: Option<String>,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When a worker first took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed, failed or was canceled.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<VideoRow> for VideoResource {
    fn from(row: VideoRow) -> VideoResource {
        let error = match (row.error_code, row.error_message) {
            (Some(code), Some(message)) => Some(VideoError { code, message }),
            _ => None,
        };
        let stills = row
            .stills
            .map(|stills| stills.0)
            .filter(|_| row.status == VideoStatus::Completed);
        let base = row
            .playback_url
            .as_deref()
            .and_then(|url| url.strip_suffix(MASTER_PLAYLIST));
        let url = |path: &str| base.map(|base| format!("{base}{path}"));
        let downloads = row
            .downloads
            .map(|downloads| downloads.0)
            .filter(|d| row.status == VideoStatus::Completed && !d.is_empty())
            .map(|downloads| {
                downloads
                    .into_iter()
                    .filter_map(|d| {
                        Some(DownloadLink {
                            url: url(&d.path)?,
                            rendition: d.rendition,
                            bytes: d.bytes,
                        })
                    })
                    .collect()
            });
        VideoResource {
            downloads,
            poster_url: stills.as_ref().and_then(|s| url(&s.poster.path)),
            storyboard_url: stills.as_ref().and_then(|s| url(&s.storyboard.path)),
            stills,
            subtitles: row
                .subtitles
                .map(|subtitles| subtitles.0)
                .filter(|_| row.status == VideoStatus::Completed),
            status_url: format!("/v1/videos/{}", row.id),
            id: row.id,
            status: row.status,
            playback_url: row.playback_url,
            playable_at: row.playable_at,
            original_filename: row.original_filename,
            source_bytes: row.source_bytes,
            upload: None,
            source: row.source.map(|source| source.0),
            progress: row.progress.map(|progress| progress.0),
            renditions: row.renditions.map(|renditions| renditions.0),
            duration_seconds: row.duration_seconds,
            output_bytes: row.output_bytes,
            error,
            attempts: row.attempts,
            resumed_from_segment: row.resumed_from_segment,
            resume_refused: row.resume_refused,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

impl From<crate::db::resumable_uploads::UploadProgress> for VideoResource {
    /// A resumable upload still arriving, as the video it will be.
    fn from(upload: crate::db::resumable_uploads::UploadProgress) -> VideoResource {
        let received = i64::try_from(upload.received).unwrap_or(i64::MAX);
        VideoResource {
            id: upload.id,
            status: VideoStatus::Uploading,
            status_url: format!("/v1/videos/{}", upload.id),
            playback_url: None,
            playable_at: None,
            original_filename: upload.filename,
            source_bytes: received,
            upload: Some(UploadState {
                bytes_received: received,
                bytes_expected: i64::try_from(upload.length).unwrap_or(i64::MAX),
                expires_at: upload.expires_at,
                upload_url: format!("/v1/uploads/{}", upload.id),
            }),
            source: None,
            progress: None,
            renditions: None,
            poster_url: None,
            storyboard_url: None,
            stills: None,
            subtitles: None,
            downloads: None,
            duration_seconds: None,
            output_bytes: None,
            error: None,
            attempts: 0,
            resumed_from_segment: None,
            resume_refused: None,
            created_at: upload.created_at,
            updated_at: upload.updated_at,
            started_at: None,
            finished_at: None,
        }
    }
}

/// Turns stored rows into [`VideoResource`]s: with private playback, a completed video's
/// `playback_url` is a freshly signed link to this API instead of the bucket's URL.
#[derive(Clone, Default)]
pub struct Presenter {
    /// Private playback: signed links instead of public URLs; `None` when the bucket is public.
    pub playback: Option<crate::playback_links::PlaybackLinks>,
    /// The API's public base URL for playback links, e.g. `https://video.example.com`.
    pub public_api_url: Option<String>,
}

impl Presenter {
    /// The resource for `row`. Links to this API start with `public_api_url`, else with
    /// `http://{host}` (the request's Host), else `http://localhost`.
    pub fn present(&self, row: VideoRow, host: Option<&str>) -> VideoResource {
        let mut resource = VideoResource::from(row);
        if let (Some(links), Some(_)) = (&self.playback, &resource.playback_url) {
            let base = self
                .public_api_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", host.unwrap_or("localhost")));
            let link = |path: &str| {
                format!(
                    "{}/v1/videos/{}/play/{path}?{}",
                    base.trim_end_matches('/'),
                    resource.id,
                    links.query(resource.id, path)
                )
            };
            resource.playback_url = Some(link(MASTER_PLAYLIST));
            if let Some(stills) = &resource.stills {
                resource.poster_url = Some(link(&stills.poster.path));
                resource.storyboard_url = Some(link(&stills.storyboard.path));
            }
            for download in resource.downloads.iter_mut().flatten() {
                download.url = link(&format!("download/{}.mp4", download.rendition));
            }
        }
        resource
    }
}
