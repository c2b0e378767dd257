//! The layout of keys in the bucket: where a video's objects, and each claim's, are.

/// The key prefix of one video's objects: `videos/{id}/`.
pub fn video_prefix(id: uuid::Uuid) -> String {
    format!("videos/{id}/")
}

/// Where one claim of a video's job writes, and nothing else: `videos/{id}/{claim}/`. Claims
/// are numbered from 1 and never reused, so a worker that lost its claim cannot touch what a
/// later one wrote (see the `claim_prefixes` migration).
pub fn claim_prefix(id: uuid::Uuid, claim: i64) -> String {
    format!("videos/{id}/{claim}/")
}

/// The claim a key under `videos/{id}/` belongs to: `Some(n)` for `videos/{id}/{n}/...`,
/// `Some(0)` for objects of the layout before claims had prefixes, `None` for another video.
pub fn claim_of_key(id: uuid::Uuid, key: &str) -> Option<i64> {
    let rest = key.strip_prefix(&video_prefix(id))?;
    let first = rest.split('/').next().unwrap_or("");
    Some(first.parse::<i64>().ok().filter(|&n| n > 0).unwrap_or(0))
}

/// The key a playlist at `{prefix}{playlist_dir}/` names with the relative URI `uri`, with
/// `.` and `..` resolved as a player resolves them; `None` when the URI climbs above the
/// bucket's root, is absolute, or has a scheme, query or fragment.
pub fn resolve_key(prefix: &str, playlist_dir: &str, uri: &str) -> Option<String> {
    if uri.is_empty() || uri.starts_with('/') || uri.contains(['?', '#', ':', '\\']) {
        return None;
    }
    let mut parts: Vec<&str> = prefix
        .split('/')
        .chain(playlist_dir.split('/'))
        .filter(|p| !p.is_empty())
        .collect();
    for part in uri.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    Some(parts.join("/"))
}

/// Where uploads staged for workers on other machines are: not under the public `videos/`.
pub const SOURCES_PREFIX: &str = "sources/";

/// The key of an upload staged for workers on other machines: `sources/{id}`.
pub fn source_key(id: uuid::Uuid) -> String {
    format!("{SOURCES_PREFIX}{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_uris_resolve_to_keys_as_a_player_resolves_them() {
        let prefix = "videos/v/3/";
        assert_eq!(
            resolve_key(prefix, "720p", "segment_00001.ts").as_deref(),
            Some("videos/v/3/720p/segment_00001.ts")
        );
        assert_eq!(
            resolve_key(prefix, "720p", "../../1/720p/./segment_00001.ts").as_deref(),
            Some("videos/v/1/720p/segment_00001.ts")
        );
        assert_eq!(resolve_key(prefix, "720p", "../../../../../x.ts"), None);
        for bad in ["/etc/passwd", "https://evil/x.ts", "a.ts?x=1", ""] {
            assert_eq!(resolve_key(prefix, "720p", bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_belong_to_the_claim_that_wrote_them() {
        let id = uuid::Uuid::now_v7();
        let key = |rest: &str| format!("videos/{id}/{rest}");
        assert_eq!(claim_prefix(id, 3), key("3/"));
        assert_eq!(claim_of_key(id, &key("3/720p/segment_00001.ts")), Some(3));
        assert_eq!(claim_of_key(id, &key("12/master.m3u8")), Some(12));
        // The layout before claims: master and renditions right under the video.
        assert_eq!(claim_of_key(id, &key("master.m3u8")), Some(0));
        assert_eq!(claim_of_key(id, &key("720p/index.m3u8")), Some(0));
        let other = uuid::Uuid::now_v7();
        assert_eq!(claim_of_key(other, &key("3/master.m3u8")), None);
    }
}
