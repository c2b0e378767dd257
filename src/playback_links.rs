//! Private playback: links to the service's own playlist endpoint, signed with HMAC-SHA256
//! and valid for a while, so that a player needs no credentials and the bucket stays private.
//!
//! A link is `/v1/videos/{id}/play/{path}?expires={unix seconds}&signature={hex}`, where the
//! signature covers the id, the path and the expiry. The endpoint serves the playlist from the
//! bucket with every URI rewritten: variant playlists become signed links of the same kind,
//! segments become presigned S3 URLs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// Signs and checks playback links.
#[derive(Clone)]
pub struct PlaybackLinks {
    key: Vec<u8>,
    lifetime: Duration,
}

/// Why a link is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The signature does not match (altered, or signed with another secret).
    BadSignature,
    /// It expired.
    Expired,
    /// It would expire later than the configured lifetime allows.
    TooLong,
}

/// How far another node's clock may be ahead of ours.
const CLOCK_SKEW_SECONDS: u64 = 60;

impl PlaybackLinks {
    /// Links signed with `secret` (every API node must share it), valid for `lifetime`.
    pub fn new(secret: &[u8], lifetime: Duration) -> PlaybackLinks {
        PlaybackLinks {
            key: secret.to_vec(),
            lifetime,
        }
    }

    /// How long a link (and the presigned segment URLs it leads to) stays valid.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The query string (`expires=...&signature=...`) of a link to `path` of video `id`,
    /// valid from now.
    pub fn query(&self, id: Uuid, path: &str) -> String {
        let expires = unix_now() + self.lifetime.as_secs();
        self.query_expiring(id, path, expires)
    }

    /// The query string of a link that expires at `expires` (unix seconds), for the links a
    /// playlist leads to: they must not outlive the link that led there.
    pub fn query_expiring(&self, id: Uuid, path: &str, expires: u64) -> String {
        let signature = hex::encode(self.mac(id, path, expires).finalize().into_bytes());
        format!("expires={expires}&signature={signature}")
    }

    /// Checks a link's signature (in constant time) and expiry.
    pub fn verify(
        &self,
        id: Uuid,
        path: &str,
        expires: u64,
        signature: &str,
    ) -> Result<(), LinkError> {
        let bytes = hex::decode(signature).map_err(|_| LinkError::BadSignature)?;
        self.mac(id, path, expires)
            .verify_slice(&bytes)
            .map_err(|_| LinkError::BadSignature)?;
        let now = unix_now();
        if expires < now {
            return Err(LinkError::Expired);
        }
        // Held to the lifetime when checked, not only when signed: a link signed for longer
        // (under an older setting, or by a leaked secret) is refused.
        if expires > now + self.lifetime.as_secs() + CLOCK_SKEW_SECONDS {
            return Err(LinkError::TooLong);
        }
        Ok(())
    }

    /// How long from now until `expires`, at least a second: the lifetime of the presigned
    /// segment URLs of a playlist served through a link expiring then.
    pub fn remaining(expires: u64) -> Duration {
        Duration::from_secs(expires.saturating_sub(unix_now()).max(1))
    }

    fn mac(&self, id: Uuid, path: &str, expires: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(format!("{id}\n{path}\n{expires}").as_bytes());
        mac
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether `path` names a playlist of the published layout: `master.m3u8`,
/// `{rendition}/index.m3u8`, `{rendition}/iframes.m3u8`, `subs/{track}/index.m3u8` or
/// `audio/{track}/index.m3u8`.
pub fn is_playlist_path(path: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if let Some(track) = ["subs/", "audio/"]
        .iter()
        .find_map(|folder| path.strip_prefix(folder))
        .and_then(|p| p.strip_suffix("/index.m3u8"))
    {
        return plain(track);
    }
    match path.split_once('/') {
        None => path == hls_ladder::MASTER_PLAYLIST,
        Some((rendition, file)) => {
            plain(rendition) && (file == "index.m3u8" || file == "iframes.m3u8")
        }
    }
}

/// Whether `path` names an MP4 download of the published layout: `download/{rendition}.mp4`.
pub fn is_download_path(path: &str) -> bool {
    path.strip_prefix("download/")
        .and_then(|p| p.strip_suffix(".mp4"))
        .is_some_and(|rendition| {
            !rendition.is_empty()
                && rendition
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// Whether `path` names a still of the published layout: a poster, the storyboard's WebVTT
/// file or one of its sprite sheets (see [`hls_ladder::stills`]).
pub fn is_still_path(path: &str) -> bool {
    let sheet = |name: &str| {
        name.strip_prefix("sprite_")
            .and_then(|n| n.strip_suffix(".jpg"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    path == hls_ladder::stills::POSTER
        || path == hls_ladder::stills::POSTER_SMALL
        || path == hls_ladder::stills::STORYBOARD
        || path.strip_prefix("storyboard/").is_some_and(sheet)
}

/// Rewrites every URI of a playlist with `rewrite`: URI lines, and the `URI="..."`
/// attributes of tags (`#EXT-X-I-FRAME-STREAM-INF`, `#EXT-X-MEDIA`); other tags and blank
/// lines are kept.
pub fn rewrite_uris(playlist: &str, mut rewrite: impl FnMut(&str) -> String) -> String {
    const ATTRIBUTE: &str = "URI=\"";
    let mut out = String::with_capacity(playlist.len() * 2);
    for line in playlist.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            out.push_str(line);
        } else if trimmed.starts_with('#') {
            match line.find(ATTRIBUTE).and_then(|at| {
                let start = at + ATTRIBUTE.len();
                line[start..]
                    .find('"')
                    .map(|length| (start, start + length))
            }) {
                Some((start, end)) => {
                    out.push_str(&line[..start]);
                    out.push_str(&rewrite(&line[start..end]));
                    out.push_str(&line[end..]);
                }
                None => out.push_str(line),
            }
        } else {
            out.push_str(&rewrite(trimmed));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_link_verifies_and_any_change_breaks_it() {
        let links = PlaybackLinks::new(b"secret", Duration::from_secs(60));
        let id = Uuid::now_v7();
        let query = links.query(id, "master.m3u8");
        let (expires, signature) = query
            .strip_prefix("expires=")
            .and_then(|q| q.split_once("&signature="))
            .unwrap();
        let expires: u64 = expires.parse().unwrap();
        assert_eq!(links.verify(id, "master.m3u8", expires, signature), Ok(()));
        assert_eq!(
            links.verify(id, "720p/index.m3u8", expires, signature),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            links.verify(id, "master.m3u8", expires + 1, signature),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            links.verify(Uuid::now_v7(), "master.m3u8", expires, signature),
            Err(LinkError::BadSignature)
        );
        let other = PlaybackLinks::new(b"other", Duration::from_secs(60));
        assert_eq!(
            other.verify(id, "master.m3u8", expires, signature),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            links.verify(id, "master.m3u8", expires, "zz"),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn an_expired_link_is_refused() {
        let links = PlaybackLinks::new(b"secret", Duration::from_secs(60));
        let id = Uuid::now_v7();
        let past = unix_now() - 10;
        let query = links.query_expiring(id, "master.m3u8", past);
        let signature = query.split_once("&signature=").unwrap().1;
        assert_eq!(
            links.verify(id, "master.m3u8", past, signature),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn a_link_valid_for_longer_than_the_lifetime_is_refused_even_when_well_signed() {
        // Signed by a node with a week's lifetime, checked by one allowing an hour.
        let long = PlaybackLinks::new(b"secret", Duration::from_secs(7 * 86400));
        let short = PlaybackLinks::new(b"secret", Duration::from_secs(3600));
        let id = Uuid::now_v7();
        let expires = unix_now() + 7 * 86400;
        let query = long.query_expiring(id, "master.m3u8", expires);
        let signature = query.split_once("&signature=").unwrap().1;
        assert_eq!(long.verify(id, "master.m3u8", expires, signature), Ok(()));
        assert_eq!(
            short.verify(id, "master.m3u8", expires, signature),
            Err(LinkError::TooLong)
        );
        // What a playlist leads to expires with the link that led there.
        let soon = unix_now() + 30;
        let variant = short.query_expiring(id, "720p/index.m3u8", soon);
        assert!(
            variant.starts_with(&format!("expires={soon}&")),
            "{variant}"
        );
        assert!(PlaybackLinks::remaining(soon) <= Duration::from_secs(30));
        assert_eq!(
            PlaybackLinks::remaining(unix_now() - 5),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn only_the_published_playlist_paths_are_served() {
        assert!(is_playlist_path("master.m3u8"));
        assert!(is_playlist_path("720p/index.m3u8"));
        assert!(is_playlist_path("720p/iframes.m3u8"));
        assert!(is_playlist_path("subs/eng-2/index.m3u8"));
        assert!(!is_playlist_path("subs/../index.m3u8"));
        assert!(!is_playlist_path("subs/a/b/index.m3u8"));
        assert!(is_playlist_path("audio/fra/index.m3u8"));
        assert!(is_download_path("download/1080p.mp4"));
        assert!(!is_download_path("download/../x.mp4"));
        assert!(!is_download_path("download/.mp4"));
        assert!(!is_playlist_path("audio/../index.m3u8"));
        assert!(!is_playlist_path("audio/fra/segment_00001.ts"));
        assert!(!is_playlist_path("720p/poster.jpg"));
        assert!(!is_playlist_path("../master.m3u8"));
        assert!(!is_playlist_path("720p/segment_00001.ts"));
        assert!(!is_playlist_path("a/b/index.m3u8"));
        assert!(!is_playlist_path("/index.m3u8"));
    }

    #[test]
    fn only_the_published_stills_are_served() {
        for path in [
            "poster.jpg",
            "poster_small.jpg",
            "storyboard/storyboard.vtt",
            "storyboard/sprite_001.jpg",
        ] {
            assert!(is_still_path(path), "{path}");
        }
        for path in [
            "storyboard/sprite_.jpg",
            "storyboard/sprite_1a.jpg",
            "storyboard/../poster.jpg",
            "720p/poster.jpg",
            "master.m3u8",
            "storyboard/sprite_001.jpg/x",
        ] {
            assert!(!is_still_path(path), "{path}");
        }
    }

    #[test]
    fn uri_attributes_of_tags_are_rewritten_too() {
        let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=2,URI=\"720p/iframes.m3u8\"\n";
        let out = rewrite_uris(master, |uri| format!("{uri}?sig"));
        assert_eq!(
            out,
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8?sig\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=2,URI=\"720p/iframes.m3u8?sig\"\n"
        );
    }

    #[test]
    fn uris_are_rewritten_and_tags_kept() {
        let playlist = "#EXTM3U\n#EXTINF:2.0,\nsegment_00001.ts\n\n#EXT-X-ENDLIST\n";
        let out = rewrite_uris(playlist, |uri| format!("https://x/{uri}?sig"));
        assert_eq!(
            out,
            "#EXTM3U\n#EXTINF:2.0,\nhttps://x/segment_00001.ts?sig\n\n#EXT-X-ENDLIST\n"
        );
    }
}
