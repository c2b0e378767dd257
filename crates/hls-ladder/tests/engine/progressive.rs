//! Progressive publishing: growing EVENT playlists while converting, in an order a player can
//! follow, and at the end exactly what a conversion without it publishes.

use std::collections::BTreeMap;

use hls_ladder::{ConvertOptions, HlsObject, MemorySink, ObjectKind, convert};

use crate::helpers::{fixture, playlist_segments, short_segments};
use crate::playlist_text::without_bitrates;

/// What a store holds after the conversion: the last version of every path.
fn final_state(objects: &[HlsObject]) -> BTreeMap<String, Vec<u8>> {
    objects
        .iter()
        .map(|o| (o.path.clone(), o.bytes.clone()))
        .collect()
}

fn converted(name: &str, progressive: bool) -> Vec<HlsObject> {
    let options = ConvertOptions {
        progressive,
        ..short_segments()
    };
    let mut sink = MemorySink::new();
    convert(fixture(name), &options, &mut sink, |_| {}).unwrap();
    sink.objects
}

fn text(object: &HlsObject) -> &str {
    std::str::from_utf8(&object.bytes).unwrap()
}

/// The final objects are what a run publishing at the end leaves: the same paths, the same
/// media playlists (every segment's duration), and the same master playlist but for the
/// measured bitrates. Segment bytes are not compared: libx264 on several threads is not
/// bit-exact from one run to the next, progressive or not.
#[test]
fn a_progressive_run_ends_with_what_a_run_publishing_at_the_end_publishes() {
    for name in ["h264_aac.mp4", "no_audio.mp4"] {
        let at_end = converted(name, false);
        let progressive = converted(name, true);
        assert!(at_end.iter().all(|o| !o.kind.is_growing()));
        assert!(progressive.iter().any(|o| o.kind.is_growing()), "{name}");
        let (progressive_state, at_end_state) = (final_state(&progressive), final_state(&at_end));
        assert_eq!(
            progressive_state.keys().collect::<Vec<_>>(),
            at_end_state.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (path, bytes) in &progressive_state {
            if path.ends_with("index.m3u8") {
                assert_eq!(bytes, &at_end_state[path], "{name}: {path}");
            } else if path.ends_with(".m3u8") {
                assert_eq!(
                    without_bitrates(bytes),
                    without_bitrates(&at_end_state[path])
                );
            }
        }
        let last = progressive.last().unwrap();
        assert_eq!(last.kind, ObjectKind::MasterPlaylist { growing: false });
    }
}

#[test]
fn growing_playlists_only_name_what_was_published_before_them_and_only_grow() {
    let objects = converted("h264_aac.mp4", true);
    let mut published = std::collections::HashSet::new();
    // Per rendition: the segments its last growing version listed, and its target duration.
    let mut versions: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
    let mut growing_master = None;
    let mut final_counts: BTreeMap<String, usize> = BTreeMap::new();
    for (index, object) in objects.iter().enumerate() {
        match &object.kind {
            ObjectKind::Segment { .. } => {}
            ObjectKind::MediaPlaylist {
                rendition,
                growing: true,
            } => {
                let text = text(object);
                assert!(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n"), "{text}");
                assert!(text.contains("#EXT-X-START:TIME-OFFSET=0\n"), "{text}");
                assert!(!text.contains("#EXT-X-ENDLIST"), "{text}");
                let listed: Vec<String> = playlist_segments(text)
                    .into_iter()
                    .map(|(_, uri)| format!("{rendition}/{uri}"))
                    .collect();
                for uri in &listed {
                    assert!(
                        published.contains(uri),
                        "{uri} listed before it was published"
                    );
                }
                let target = text
                    .lines()
                    .find(|l| l.starts_with("#EXT-X-TARGETDURATION:"))
                    .unwrap()
                    .to_string();
                if let Some((before, before_target)) = versions.get(rendition) {
                    assert!(
                        listed.len() > before.len() && listed.starts_with(before),
                        "{rendition} did not grow by appending"
                    );
                    assert_eq!(
                        &target, before_target,
                        "{rendition}'s target duration changed"
                    );
                }
                versions.insert(rendition.clone(), (listed, target));
            }
            ObjectKind::MasterPlaylist { growing: true } => {
                assert!(growing_master.is_none(), "a second growing master");
                let text = text(object);
                // Every variant it names was published, with the codecs of the final one.
                for line in text.lines().filter(|l| l.ends_with(".m3u8")) {
                    assert!(published.contains(line), "{line} is not published yet");
                }
                growing_master = Some((index, text.to_string()));
            }
            ObjectKind::MediaPlaylist {
                rendition,
                growing: false,
            } => {
                final_counts.insert(rendition.clone(), playlist_segments(text(object)).len());
            }
            // The final master, and the stills and I-frame playlists, which never grow.
            _ => {}
        }
        published.insert(object.path.clone());
    }
    // The last segment (and those of the last moments, by the estimate) gets no growing
    // version: the final playlist follows at once (so that the service's sink, which stores a
    // final playlist a second after its growing version, seldom waits).
    for (rendition, (listed, _)) in &versions {
        let all = final_counts[rendition];
        assert!(
            all >= 2,
            "{rendition}: {all} segments, too few for this test"
        );
        assert!(listed.len() < all, "{rendition}'s last growing version");
    }
    let (index, master) = growing_master.expect("the video became playable");
    // Playable as soon as every rendition had its first segment: early, not at the end.
    let segments = objects
        .iter()
        .filter(|o| matches!(o.kind, ObjectKind::Segment { .. }))
        .count();
    let before = objects[..index]
        .iter()
        .filter(|o| matches!(o.kind, ObjectKind::Segment { .. }))
        .count();
    assert_eq!(
        before,
        versions.len(),
        "playable after {before} of {segments} segments"
    );
    let last_master = objects.last().unwrap();
    let codecs = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("#EXT-X-STREAM-INF:"))
            .filter_map(|l| l.split("CODECS=\"").nth(1))
            .map(|c| c.trim_end_matches('"').to_string())
            .collect()
    };
    assert_eq!(codecs(&master), codecs(text(last_master)));
    assert_eq!(
        master.lines().filter(|l| l.ends_with(".m3u8")).count(),
        versions.len()
    );
}
