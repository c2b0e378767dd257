//! The master (multivariant) playlist that lists every rendition (RFC 8216 section 4.3.4).

use std::fmt::Write;

/// One EXT-X-STREAM-INF entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// URI of the rendition's media playlist, relative to the master playlist.
    pub uri: String,
    /// Peak segment bitrate in bits per second, audio and container included.
    pub bandwidth: u64,
    /// Average bitrate in bits per second over the whole rendition.
    pub average_bandwidth: u64,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Frames per second.
    pub frame_rate: f64,
    /// RFC 6381 codec strings, e.g. `["avc1.64001f", "mp4a.40.2"]`.
    pub codecs: Vec<String>,
}

/// One EXT-X-I-FRAME-STREAM-INF entry: a rendition's I-frame playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct IFrameVariant {
    /// URI of the I-frame playlist, relative to the master playlist.
    pub uri: String,
    /// Peak bitrate of its keyframes in bits per second.
    pub bandwidth: u64,
    /// Average bitrate of its keyframes in bits per second.
    pub average_bandwidth: u64,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// The video's RFC 6381 codec string.
    pub codec: String,
}

/// One `#EXT-X-MEDIA:TYPE=SUBTITLES` entry: a subtitle rendition, in the group `subs` that
/// every variant names.
#[derive(Debug, Clone, PartialEq)]
pub struct SubtitleMedia {
    /// What a player lists, e.g. `English` or `eng`.
    pub name: String,
    /// The language tag, when known.
    pub language: Option<String>,
    /// Chosen when the viewer chose nothing (the source's default track).
    pub default: bool,
    /// Only the parts in another language, or signs (FORCED=YES).
    pub forced: bool,
    /// URI of its media playlist, relative to the master playlist.
    pub uri: String,
}

/// The group id of the subtitle renditions.
const SUBTITLE_GROUP: &str = "subs";

/// One `#EXT-X-MEDIA:TYPE=AUDIO` entry: an audio rendition, in the group `audio` that every
/// variant names (a source with several audio tracks).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioMedia {
    /// What a player lists, e.g. `English` or `eng`.
    pub name: String,
    /// The language tag, when known.
    pub language: Option<String>,
    /// Audio channels: 1 or 2.
    pub channels: u16,
    /// Chosen when the viewer chose nothing (the source's default track); exactly one is.
    pub default: bool,
    /// URI of its media playlist, relative to the master playlist.
    pub uri: String,
}

/// The group id of the audio renditions.
const AUDIO_GROUP: &str = "audio";

impl AudioMedia {
    /// Its `#EXT-X-MEDIA` line, without the line break.
    pub fn render(&self) -> String {
        let channels = format!("CHANNELS=\"{}\"", self.channels);
        let media = Media {
            kind: "AUDIO",
            group: AUDIO_GROUP,
            name: &self.name,
            language: self.language.as_deref(),
            default: self.default,
            uri: &self.uri,
        };
        media.render(&channels)
    }
}

impl SubtitleMedia {
    /// Its `#EXT-X-MEDIA` line, without the line break.
    pub fn render(&self) -> String {
        let forced = format!("FORCED={}", yes(self.forced));
        let media = Media {
            kind: "SUBTITLES",
            group: SUBTITLE_GROUP,
            name: &self.name,
            language: self.language.as_deref(),
            default: self.default,
            uri: &self.uri,
        };
        media.render(&forced)
    }
}

/// What every `#EXT-X-MEDIA` line has (RFC 8216 section 4.3.4.1), whatever its type.
struct Media<'a> {
    kind: &'static str,
    group: &'static str,
    name: &'a str,
    language: Option<&'a str>,
    default: bool,
    uri: &'a str,
}

impl Media<'_> {
    /// The line, with the type's own attribute (`CHANNELS=...`, `FORCED=...`) after
    /// AUTOSELECT.
    fn render(&self, own: &str) -> String {
        let language = self
            .language
            .map(|l| format!(",LANGUAGE=\"{}\"", quoted(l)))
            .unwrap_or_default();
        format!(
            "#EXT-X-MEDIA:TYPE={},GROUP-ID=\"{}\",NAME=\"{}\"{language},DEFAULT={},AUTOSELECT=YES,{own},URI=\"{}\"",
            self.kind,
            self.group,
            quoted(self.name),
            yes(self.default),
            self.uri
        )
    }
}

/// A quoted-string attribute's value: it may hold neither quotes nor line breaks (RFC 8216
/// section 4.2).
fn quoted(value: &str) -> String {
    value.replace(['"', '\n', '\r'], "'")
}

fn yes(value: bool) -> &'static str {
    if value { "YES" } else { "NO" }
}

/// A published master playlist's text with the subtitle rendition at `uri` replaced by
/// `media` (added when it was not there), or removed when `media` is `None`; the variants
/// name the subtitle group exactly when a subtitle rendition is left. For captions added to a
/// video after its conversion.
///
/// ```
/// use hls_ladder::hls::{SubtitleMedia, with_subtitle_media};
/// let master = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index.m3u8\n";
/// let media = SubtitleMedia { name: "de".into(), language: Some("de".into()), default: false,
///     forced: false, uri: "subs/de/index.m3u8".into() };
/// let added = with_subtitle_media(master, "subs/de/index.m3u8", Some(&media));
/// assert!(added.contains("BANDWIDTH=1,SUBTITLES=\"subs\"\n"));
/// assert_eq!(with_subtitle_media(&added, "subs/de/index.m3u8", None), master);
/// ```
pub fn with_subtitle_media(master: &str, uri: &str, media: Option<&SubtitleMedia>) -> String {
    let is_subtitle_media = |line: &str| line.starts_with("#EXT-X-MEDIA:TYPE=SUBTITLES,");
    let names_uri = |line: &str| line.contains(&format!("URI=\"{uri}\""));
    let group_attribute = format!(",SUBTITLES=\"{SUBTITLE_GROUP}\"");
    let mut lines: Vec<String> = master
        .lines()
        .filter(|l| !(is_subtitle_media(l) && names_uri(l)))
        .map(str::to_string)
        .collect();
    if let Some(media) = media {
        // After the other subtitle renditions, else before the first variant.
        let at = lines
            .iter()
            .rposition(|l| is_subtitle_media(l))
            .map(|i| i + 1)
            .or_else(|| {
                lines
                    .iter()
                    .position(|l| l.starts_with("#EXT-X-STREAM-INF:"))
            })
            .unwrap_or(lines.len());
        lines.insert(at, media.render());
    }
    let grouped = lines.iter().any(|l| is_subtitle_media(l));
    for line in lines
        .iter_mut()
        .filter(|l| l.starts_with("#EXT-X-STREAM-INF:"))
    {
        let plain = line.replace(&group_attribute, "");
        *line = if grouped {
            format!("{plain}{group_attribute}")
        } else {
            plain
        };
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The master playlist.
///
/// ```
/// use hls_ladder::hls::{MasterPlaylist, Variant};
/// let master = MasterPlaylist { variants: vec![Variant {
///     uri: "360p/index.m3u8".into(), bandwidth: 900_000, average_bandwidth: 800_000,
///     width: 640, height: 360, frame_rate: 30.0,
///     codecs: vec!["avc1.64001e".into(), "mp4a.40.2".into()],
/// }], ..MasterPlaylist::default() };
/// assert!(master.render().contains("RESOLUTION=640x360"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MasterPlaylist {
    /// The variants, in the order they are listed.
    pub variants: Vec<Variant>,
    /// The I-frame playlists (RFC 8216 section 4.3.4.3), listed after the variants; with
    /// any, the playlist declares version 4.
    pub iframe_variants: Vec<IFrameVariant>,
    /// The subtitle renditions, listed first; with any, every variant names their group.
    pub subtitles: Vec<SubtitleMedia>,
    /// The audio renditions, listed first; with any, every variant names their group and
    /// its own segments carry no audio.
    pub audio: Vec<AudioMedia>,
}

impl MasterPlaylist {
    /// The playlist text.
    pub fn render(&self) -> String {
        let version = if self.iframe_variants.is_empty() {
            3
        } else {
            4
        };
        let mut text = format!("#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-INDEPENDENT-SEGMENTS\n");
        for media in &self.audio {
            let _ = writeln!(text, "{}", media.render());
        }
        for media in &self.subtitles {
            let _ = writeln!(text, "{}", media.render());
        }
        let mut group = String::new();
        if !self.audio.is_empty() {
            let _ = write!(group, ",AUDIO=\"{AUDIO_GROUP}\"");
        }
        if !self.subtitles.is_empty() {
            let _ = write!(group, ",SUBTITLES=\"{SUBTITLE_GROUP}\"");
        }
        for v in &self.variants {
            let _ = writeln!(
                text,
                "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},RESOLUTION={}x{},FRAME-RATE={:.3},CODECS=\"{}\"{group}\n{}",
                v.bandwidth,
                v.average_bandwidth,
                v.width,
                v.height,
                v.frame_rate,
                v.codecs.join(","),
                v.uri
            );
        }
        for v in &self.iframe_variants {
            let _ = writeln!(
                text,
                "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},RESOLUTION={}x{},CODECS=\"{}\",URI=\"{}\"",
                v.bandwidth, v.average_bandwidth, v.width, v.height, v.codec, v.uri
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iframe_playlists_follow_the_variants_and_raise_the_version() {
        let master = MasterPlaylist {
            variants: vec![Variant {
                uri: "720p/index.m3u8".into(),
                bandwidth: 3_000_000,
                average_bandwidth: 2_700_000,
                width: 1280,
                height: 720,
                frame_rate: 30.0,
                codecs: vec!["avc1.64001f".into(), "mp4a.40.2".into()],
            }],
            iframe_variants: vec![IFrameVariant {
                uri: "720p/iframes.m3u8".into(),
                bandwidth: 400_000,
                average_bandwidth: 150_000,
                width: 1280,
                height: 720,
                codec: "avc1.64001f".into(),
            }],
            ..MasterPlaylist::default()
        };
        assert_eq!(
            master.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:4\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2700000,RESOLUTION=1280x720,FRAME-RATE=30.000,CODECS=\"avc1.64001f,mp4a.40.2\"\n\
             720p/index.m3u8\n\
             #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=150000,RESOLUTION=1280x720,CODECS=\"avc1.64001f\",URI=\"720p/iframes.m3u8\"\n"
        );
    }

    #[test]
    fn a_two_variant_master_playlist_renders_exactly() {
        let variant = |name: &str, bw: u64, w: u32, h: u32, level: &str| Variant {
            uri: format!("{name}/index.m3u8"),
            bandwidth: bw,
            average_bandwidth: bw * 9 / 10,
            width: w,
            height: h,
            frame_rate: 30000.0 / 1001.0,
            codecs: vec![format!("avc1.6400{level}"), "mp4a.40.2".into()],
        };
        let master = MasterPlaylist {
            variants: vec![
                variant("720p", 3_000_000, 1280, 720, "1f"),
                variant("360p", 1_000_000, 640, 360, "1e"),
            ],
            ..MasterPlaylist::default()
        };
        assert_eq!(
            master.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:3\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2700000,RESOLUTION=1280x720,FRAME-RATE=29.970,CODECS=\"avc1.64001f,mp4a.40.2\"\n\
             720p/index.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1000000,AVERAGE-BANDWIDTH=900000,RESOLUTION=640x360,FRAME-RATE=29.970,CODECS=\"avc1.64001e,mp4a.40.2\"\n\
             360p/index.m3u8\n"
        );
    }

    #[test]
    fn subtitle_renditions_come_first_and_every_variant_names_their_group() {
        let master = MasterPlaylist {
            variants: vec![Variant {
                uri: "360p/index.m3u8".into(),
                bandwidth: 1,
                average_bandwidth: 1,
                width: 640,
                height: 360,
                frame_rate: 25.0,
                codecs: vec!["avc1.64001e".into()],
            }],
            subtitles: vec![
                SubtitleMedia {
                    name: "English \"SDH\"".into(),
                    language: Some("eng".into()),
                    default: true,
                    forced: false,
                    uri: "subs/eng/index.m3u8".into(),
                },
                SubtitleMedia {
                    name: "Subtitles 2".into(),
                    language: None,
                    default: false,
                    forced: true,
                    uri: "subs/und/index.m3u8".into(),
                },
            ],
            ..MasterPlaylist::default()
        };
        assert_eq!(
            master.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:3\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English 'SDH'\",LANGUAGE=\"eng\",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI=\"subs/eng/index.m3u8\"\n\
             #EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"Subtitles 2\",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,URI=\"subs/und/index.m3u8\"\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1,RESOLUTION=640x360,FRAME-RATE=25.000,CODECS=\"avc1.64001e\",SUBTITLES=\"subs\"\n\
             360p/index.m3u8\n"
        );
    }

    #[test]
    fn audio_renditions_come_first_and_every_variant_names_both_groups() {
        let media = |name: &str, language: Option<&str>, channels, default| AudioMedia {
            name: name.into(),
            language: language.map(str::to_string),
            channels,
            default,
            uri: format!("audio/{}/index.m3u8", language.unwrap_or("und")),
        };
        let master = MasterPlaylist {
            variants: vec![Variant {
                uri: "360p/index.m3u8".into(),
                bandwidth: 1,
                average_bandwidth: 1,
                width: 640,
                height: 360,
                frame_rate: 25.0,
                codecs: vec!["avc1.64001e".into(), "mp4a.40.2".into()],
            }],
            audio: vec![
                media("English", Some("eng"), 2, false),
                media("French \"VF\"", Some("fra"), 1, true),
            ],
            subtitles: vec![SubtitleMedia {
                name: "eng".into(),
                language: Some("eng".into()),
                default: false,
                forced: false,
                uri: "subs/eng/index.m3u8".into(),
            }],
            ..MasterPlaylist::default()
        };
        assert_eq!(
            master.render(),
            "#EXTM3U\n\
             #EXT-X-VERSION:3\n\
             #EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"eng\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio/eng/index.m3u8\"\n\
             #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"French 'VF'\",LANGUAGE=\"fra\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"1\",URI=\"audio/fra/index.m3u8\"\n\
             #EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"eng\",LANGUAGE=\"eng\",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI=\"subs/eng/index.m3u8\"\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1,RESOLUTION=640x360,FRAME-RATE=25.000,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"audio\",SUBTITLES=\"subs\"\n\
             360p/index.m3u8\n"
        );
    }

    #[test]
    fn a_video_only_variant_lists_only_the_video_codec() {
        let master = MasterPlaylist {
            variants: vec![Variant {
                uri: "240p/index.m3u8".into(),
                bandwidth: 1,
                average_bandwidth: 1,
                width: 320,
                height: 240,
                frame_rate: 25.0,
                codecs: vec!["avc1.64000d".into()],
            }],
            ..MasterPlaylist::default()
        };
        assert!(
            master
                .render()
                .contains("FRAME-RATE=25.000,CODECS=\"avc1.64000d\"\n240p/index.m3u8\n")
        );
    }
}
