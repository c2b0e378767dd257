//! The I-frame playlist of one rendition (RFC 8216 section 4.3.3.6, `#EXT-X-I-FRAMES-ONLY`):
//! each entry is one keyframe, as a byte range of a segment, for players that scrub or play
//! fast with keyframes alone (Safari and AVPlayer's thumbnails while seeking).
//!
//! Every segment starts with PAT, PMT and the keyframe that opens it, so the range of an entry
//! is the start of its segment up to the end of that keyframe's packets. An entry lasts until
//! the next keyframe the playlist lists, the next segment's first (section 4.3.3.6).

use std::fmt::Write;

/// One keyframe: the start of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct IFrame {
    /// The segment's URI relative to the playlist, e.g. `segment_00001.ts`.
    pub uri: String,
    /// Seconds until the next listed keyframe (the segment's duration).
    pub duration: f64,
    /// Bytes from the segment's start up to the end of the keyframe (PAT, PMT and any audio
    /// before it included).
    pub length: u64,
}

/// An I-frame playlist for video on demand.
///
/// ```
/// use hls_ladder::hls::{IFrame, IFramePlaylist};
/// let playlist = IFramePlaylist {
///     media_sequence: 1,
///     iframes: vec![IFrame { uri: "segment_00001.ts".into(), duration: 2.0, length: 30_080 }],
/// };
/// assert!(playlist.render().contains("#EXT-X-BYTERANGE:30080@0\nsegment_00001.ts\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IFramePlaylist {
    /// Sequence number of the first entry, as in the rendition's media playlist.
    pub media_sequence: u64,
    /// The keyframes in playback order.
    pub iframes: Vec<IFrame>,
}

impl IFramePlaylist {
    /// EXT-X-TARGETDURATION: the longest entry, rounded to the nearest integer; at least 1.
    pub fn target_duration(&self) -> u64 {
        self.iframes
            .iter()
            .map(|f| f.duration.round() as u64)
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The peak bitrate of the entries (BANDWIDTH of `#EXT-X-I-FRAME-STREAM-INF`): bytes over
    /// the time each entry stands for; entries under a second count only when there is
    /// nothing else, as for segments.
    pub fn peak_bitrate(&self) -> u64 {
        let rate = |min_duration: f64| {
            self.iframes
                .iter()
                .filter(|f| f.duration >= min_duration)
                .map(|f| f.length as f64 * 8.0 / f.duration.max(0.001))
                .reduce(f64::max)
        };
        rate(1.0).or_else(|| rate(0.0)).unwrap_or(0.0).round() as u64
    }

    /// The average bitrate of the entries over the whole duration.
    pub fn average_bitrate(&self) -> u64 {
        let bytes: u64 = self.iframes.iter().map(|f| f.length).sum();
        let duration: f64 = self.iframes.iter().map(|f| f.duration).sum();
        (bytes as f64 * 8.0 / duration.max(0.001)).round() as u64
    }

    /// The playlist text.
    pub fn render(&self) -> String {
        let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:4\n");
        let _ = writeln!(text, "#EXT-X-TARGETDURATION:{}", self.target_duration());
        let _ = writeln!(text, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence);
        text.push_str(
            "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-INDEPENDENT-SEGMENTS\n",
        );
        for frame in &self.iframes {
            let _ = writeln!(
                text,
                "#EXTINF:{:.6},\n#EXT-X-BYTERANGE:{}@0\n{}",
                frame.duration, frame.length, frame.uri
            );
        }
        text.push_str("#EXT-X-ENDLIST\n");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iframe(n: u32, duration: f64, length: u64) -> IFrame {
        IFrame {
            uri: format!("segment_{n:05}.ts"),
            duration,
            length,
        }
    }

    #[test]
    fn an_iframe_playlist_renders_exactly() {
        let playlist = IFramePlaylist {
            media_sequence: 1,
            iframes: vec![iframe(1, 2.0, 37_600), iframe(2, 6.006, 18_800)],
        };
        assert_eq!(
            playlist.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:4\n\
             #EXT-X-TARGETDURATION:6\n\
             #EXT-X-MEDIA-SEQUENCE:1\n\
             #EXT-X-PLAYLIST-TYPE:VOD\n\
             #EXT-X-I-FRAMES-ONLY\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXTINF:2.000000,\n\
             #EXT-X-BYTERANGE:37600@0\n\
             segment_00001.ts\n\
             #EXTINF:6.006000,\n\
             #EXT-X-BYTERANGE:18800@0\n\
             segment_00002.ts\n\
             #EXT-X-ENDLIST\n"
        );
    }

    #[test]
    fn bitrates_of_the_keyframes() {
        let playlist = IFramePlaylist {
            media_sequence: 1,
            iframes: vec![
                iframe(1, 2.0, 50_000),
                iframe(2, 4.0, 50_000),
                iframe(3, 0.5, 50_000),
            ],
        };
        // 50 000 bytes over 2 s; the 0.5 s tail does not count for the peak.
        assert_eq!(playlist.peak_bitrate(), 200_000);
        assert_eq!(playlist.average_bitrate(), 184_615);
        assert_eq!(IFramePlaylist::default().peak_bitrate(), 0);
    }
}
