//! The media playlist of one rendition (RFC 8216 section 4.3.3), for video on demand.

use std::fmt::Write;

/// One segment as listed in a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistSegment {
    /// The segment's URI relative to the playlist, e.g. `segment_00001.ts`.
    pub uri: String,
    /// Exact duration in seconds.
    pub duration: f64,
}

/// A finished (VOD) media playlist.
///
/// ```
/// use hls_ladder::hls::{MediaPlaylist, PlaylistSegment};
/// let playlist = MediaPlaylist {
///     media_sequence: 1,
///     segments: vec![PlaylistSegment { uri: "segment_00001.ts".into(), duration: 2.5 }],
/// };
/// assert!(playlist.render().ends_with("#EXT-X-ENDLIST\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaPlaylist {
    /// Sequence number of the first segment (EXT-X-MEDIA-SEQUENCE).
    pub media_sequence: u64,
    /// The segments in playback order.
    pub segments: Vec<PlaylistSegment>,
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
        text.push_str("#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n");
        for segment in &self.segments {
            let _ = writeln!(text, "#EXTINF:{:.6},\n{}", segment.duration, segment.uri);
        }
        text.push_str("#EXT-X-ENDLIST\n");
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
        };
        assert_eq!(playlist.target_duration(), 7);
        let short = MediaPlaylist {
            media_sequence: 1,
            segments: vec![segment(1, 0.3)],
        };
        assert_eq!(short.target_duration(), 1);
        assert!((playlist.duration() - 13.2).abs() < 1e-9);
    }
}
