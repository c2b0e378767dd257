//! Captions and subtitles as WebVTT: cues, the text of an ASS dialogue line (what libav's text
//! subtitle decoders make of SRT, ASS/SSA, mov_text and WebVTT alike), and the segments of an
//! HLS subtitle rendition (RFC 8216 section 3.5). Pure.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// The MPEG-TS timestamp of the output clock's zero: the mpegts muxer delays every timestamp
/// by twice its `max_delay` (0.7 s), so a picture at 0 s carries PTS 126000. Each WebVTT
/// segment maps it to its `LOCAL` zero (`X-TIMESTAMP-MAP`), and its cue times are then the
/// video's own.
pub(crate) const MPEGTS_ZERO: u64 = 126_000;

/// One caption: shown from `start` to `end` (seconds on the video's clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    /// Seconds.
    pub start: f64,
    /// Seconds.
    pub end: f64,
    /// Plain text, lines separated by `\n`.
    pub text: String,
}

/// The text of an ASS dialogue line as libav's text subtitle decoders give it
/// (`ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text`, or with the leading
/// `Dialogue: ` and timing of a full event line): override blocks (`{\i1}`) removed, `\N`
/// and `\n` as line breaks, `\h` as a space.
pub(crate) fn dialogue_text(ass: &str) -> String {
    let line = ass.strip_prefix("Dialogue:").unwrap_or(ass);
    let fields = if ass.starts_with("Dialogue:") { 10 } else { 9 };
    let text = line.splitn(fields, ',').nth(fields - 1).unwrap_or("");
    let mut plain = String::with_capacity(text.len());
    let mut in_override = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if !in_override => in_override = true,
            '}' if in_override => in_override = false,
            _ if in_override => {}
            '\\' => match chars.peek() {
                Some('N') | Some('n') => {
                    chars.next();
                    plain.push('\n');
                }
                Some('h') => {
                    chars.next();
                    plain.push(' ');
                }
                _ => plain.push('\\'),
            },
            _ => plain.push(c),
        }
    }
    plain
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// WebVTT text for a cue payload: `&`, `<` and `>` escaped, no blank line (which would end
/// the cue), no `-->`.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A WebVTT timestamp, `hh:mm:ss.ttt`.
pub(crate) fn vtt_time(seconds: f64) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

/// A subtitle rendition a conversion published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct SubtitleReport {
    /// What players list: the track's title, else its language, else `Subtitles N`.
    pub name: String,
    /// The language the source tags it with.
    pub language: Option<String>,
    /// Path of its media playlist, relative to the output root
    /// (`subs/{language}/index.m3u8`).
    pub playlist: String,
    /// Cues in all.
    pub cues: u64,
    /// The default track (`DEFAULT=YES`).
    pub default: bool,
    /// A forced track (`FORCED=YES`).
    pub forced: bool,
}

/// The directory names of subtitle tracks: the language, lowercase letters, digits and `-`
/// only (`und` when unknown), made unique with `-2`, `-3`...
pub(crate) fn track_dirs<'a>(languages: impl Iterator<Item = Option<&'a str>>) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    for language in languages {
        let base: String = language
            .unwrap_or("und")
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(16)
            .collect();
        let base = if base.is_empty() {
            "und".to_string()
        } else {
            base
        };
        let mut dir = base.clone();
        let mut n = 2;
        while dirs.contains(&dir) {
            dir = format!("{base}-{n}");
            n += 1;
        }
        dirs.push(dir);
    }
    dirs
}

/// The WebVTT segment for the span `from..to` of the video: every cue shown in it (a cue
/// across a boundary is in both segments, as players expect), its times the video's.
pub(crate) fn segment_vtt(cues: &[Cue], from: f64, to: f64) -> String {
    let mut text = format!("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{MPEGTS_ZERO},LOCAL:00:00:00.000\n");
    for cue in cues.iter().filter(|c| c.start < to && c.end > from) {
        let _ = write!(
            text,
            "\n{} --> {}\n{}\n",
            vtt_time(cue.start),
            vtt_time(cue.end),
            escape(&cue.text)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_of_a_dialogue_line_without_its_styling() {
        assert_eq!(
            dialogue_text("0,0,Default,,0,0,0,,Hello, world"),
            "Hello, world"
        );
        assert_eq!(
            dialogue_text("3,0,Default,,0,0,0,,{\\i1}Two{\\i0}\\Nlines\\hhere"),
            "Two\nlines here"
        );
        assert_eq!(
            dialogue_text("Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Full line"),
            "Full line"
        );
        assert_eq!(dialogue_text("0,0,Default,,0,0,0,,{\\pos(1,2)}"), "");
        assert_eq!(dialogue_text("0,0,Default,,0,0,0,,a \\ b"), "a \\ b");
    }

    #[test]
    fn track_directories_are_plain_and_unique() {
        let languages = [
            Some("eng"),
            None,
            Some("eng"),
            Some("pt-BR"),
            Some("../x"),
            Some(""),
        ];
        assert_eq!(
            track_dirs(languages.into_iter()),
            ["eng", "und", "eng-2", "pt-br", "x", "und-2"]
        );
    }

    #[test]
    fn a_segment_holds_the_cues_shown_in_its_span() {
        let cues = [
            Cue {
                start: 0.5,
                end: 1.5,
                text: "first".into(),
            },
            Cue {
                start: 1.8,
                end: 2.4,
                text: "across <b> & \n\n more".into(),
            },
            Cue {
                start: 2.5,
                end: 3.0,
                text: "later".into(),
            },
        ];
        assert_eq!(
            segment_vtt(&cues, 0.0, 2.0),
            "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\
             \n00:00:00.500 --> 00:00:01.500\nfirst\n\
             \n00:00:01.800 --> 00:00:02.400\nacross &lt;b&gt; &amp; \n more\n"
        );
        let second = segment_vtt(&cues, 2.0, 4.0);
        assert!(
            second.contains("across") && second.contains("later"),
            "{second}"
        );
        assert!(!second.contains("first"));
        assert_eq!(
            segment_vtt(&[], 0.0, 1.0),
            "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n"
        );
    }
}
