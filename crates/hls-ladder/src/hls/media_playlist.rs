//! The media playlist of one rendition (RFC 8216 section 4.3.3): for video on demand, or,
//! while a conversion publishes progressively, an event playlist that grows.

use std::fmt::Write;

/// One segment as listed in a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistSegment {
    /// The segment's URI relative to the playlist, e.g. `segment_00001.ts`.
    pub uri: String,
    /// Exact duration in seconds.
    pub duration: f64,
}

/// A media playlist: finished (VOD) by default.
///
/// ```
/// use hls_ladder::hls::{MediaPlaylist, PlaylistSegment};
/// let playlist = MediaPlaylist {
///     media_sequence: 1,
///     segments: vec![PlaylistSegment { uri: "segment_00001.ts".into(), duration: 2.5 }],
///     ..MediaPlaylist::default()
/// };
/// assert!(playlist.render().ends_with("#EXT-X-ENDLIST\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaPlaylist {
    /// Sequence number of the first segment (EXT-X-MEDIA-SEQUENCE).
    pub media_sequence: u64,
    /// The segments in playback order.
    pub segments: Vec<PlaylistSegment>,
    /// VOD (finished) or EVENT (still growing).
    pub kind: PlaylistKind,
    /// The least EXT-X-TARGETDURATION to announce: a growing playlist announces the longest
    /// segment it will have before it has it, since the value must not change while it grows
    /// (RFC 8216 section 6.2.1). 0 for none.
    pub min_target_duration: u64,
}

/// Whether a media playlist is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaylistKind {
    /// Finished: `#EXT-X-PLAYLIST-TYPE:VOD` and `#EXT-X-ENDLIST`.
    #[default]
    Vod,
    /// Growing while the conversion runs: `#EXT-X-PLAYLIST-TYPE:EVENT` (segments are only
    /// added), `#EXT-X-START:TIME-OFFSET=0` so that players start at the beginning rather than
    /// at the live edge, and no `#EXT-X-ENDLIST` yet (RFC 8216 section 4.3.3.5).
    Event,
}

impl MediaPlaylist {
    /// EXT-X-TARGETDURATION: every EXTINF, rounded to the nearest integer, must not exceed it
    /// (RFC 8216 section 4.3.3.1). At least 1.
    pub fn target_duration(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| s.duration.round() as u64)
            .max()
            .unwrap_or(1)
            .max(self.min_target_duration)
            .max(1)
    }

    /// Total duration in seconds.
    pub fn duration(&self) -> f64 {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// The playlist text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        text.push_str("#EXTM3U\n#EXT-X-VERSION:3\n");
        let _ = writeln!(text, "#EXT-X-TARGETDURATION:{}", self.target_duration());
        let _ = writeln!(text, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence);
        match self.kind {
            PlaylistKind::Vod => text.push_str("#EXT-X-PLAYLIST-TYPE:VOD\n"),
            PlaylistKind::Event => {
                text.push_str("#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-START:TIME-OFFSET=0\n")
            }
        }
        text.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        for segment in &self.segments {
            let _ = writeln!(text, "#EXTINF:{:.6},\n{}", segment.duration, segment.uri);
        }
        if self.kind == PlaylistKind::Vod {
            text.push_str("#EXT-X-ENDLIST\n");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(n: u32, duration: f64) -> PlaylistSegment {
        PlaylistSegment {
            uri: format!("segment_{n:05}.ts"),
            duration,
        }
    }

    #[test]
    fn a_vod_playlist_renders_exactly() {
        let playlist = MediaPlaylist {
            media_sequence: 1,
            segments: vec![segment(1, 6.006), segment(2, 6.006), segment(3, 1.4)],
            ..MediaPlaylist::default()
        };
        assert_eq!(
            playlist.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:3\n\
             #EXT-X-TARGETDURATION:6\n\
             #EXT-X-MEDIA-SEQUENCE:1\n\
             #EXT-X-PLAYLIST-TYPE:VOD\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXTINF:6.006000,\n\
             segment_00001.ts\n\
             #EXTINF:6.006000,\n\
             segment_00002.ts\n\
             #EXTINF:1.400000,\n\
             segment_00003.ts\n\
             #EXT-X-ENDLIST\n"
        );
    }

    #[test]
    fn target_duration_is_the_longest_segment_rounded_to_nearest() {
        let playlist = MediaPlaylist {
            media_sequence: 1,
            segments: vec![segment(1, 6.4), segment(2, 6.6), segment(3, 0.2)],
            ..MediaPlaylist::default()
        };
        assert_eq!(playlist.target_duration(), 7);
        let short = MediaPlaylist {
            media_sequence: 1,
            segments: vec![segment(1, 0.3)],
            ..MediaPlaylist::default()
        };
        assert_eq!(short.target_duration(), 1);
        assert!((playlist.duration() - 13.2).abs() < 1e-9);
    }

    #[test]
    fn a_growing_playlist_renders_exactly_and_keeps_its_announced_target() {
        let playlist = MediaPlaylist {
            media_sequence: 1,
            segments: vec![segment(1, 2.0), segment(2, 6.0)],
            kind: PlaylistKind::Event,
            min_target_duration: 7,
        };
        assert_eq!(
            playlist.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:3\n\
             #EXT-X-TARGETDURATION:7\n\
             #EXT-X-MEDIA-SEQUENCE:1\n\
             #EXT-X-PLAYLIST-TYPE:EVENT\n\
             #EXT-X-START:TIME-OFFSET=0\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXTINF:2.000000,\n\
             segment_00001.ts\n\
             #EXTINF:6.000000,\n\
             segment_00002.ts\n"
        );
        // A segment longer than announced is still covered (players then re-read the value).
        let longer = MediaPlaylist {
            segments: vec![segment(1, 9.2)],
            ..playlist
        };
        assert_eq!(longer.target_duration(), 9);
    }
}
