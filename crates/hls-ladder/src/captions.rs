//! Captions and subtitles as WebVTT: cues, the text of an ASS dialogue line (what libav's text
//! subtitle decoders make of SRT, ASS/SSA, mov_text and WebVTT alike), and the segments of an
//! HLS subtitle rendition (RFC 8216 section 3.5). Pure.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::hls::{MediaPlaylist, PlaylistSegment};

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

/// Why a caption file was refused: the line (from 1) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct CaptionError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// The most cues a caption file may hold.
pub const MAX_CUES: usize = 20_000;

/// Reads a WebVTT (starting with `WEBVTT`) or SRT caption file into cues, in time order, as
/// plain text (tags such as `<i>` dropped, character references decoded). WebVTT's `NOTE`,
/// `STYLE` and `REGION` blocks and cue settings are skipped; cue identifiers and SRT's
/// numbers are optional.
pub fn parse_captions(text: &str) -> Result<Vec<Cue>, CaptionError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let fail = |line: usize, reason: &str| {
        Err(CaptionError {
            line: line + 1,
            reason: reason.to_string(),
        })
    };
    let webvtt = lines.first().is_some_and(|l| {
        l.strip_prefix("WEBVTT")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    });
    let mut cues = Vec::new();
    let mut i = usize::from(webvtt);
    while i < lines.len() {
        let line = lines[i].trim();
        if line.is_empty() {
            i += 1;
            continue;
        }
        if webvtt
            && ["NOTE", "STYLE", "REGION"]
                .iter()
                .any(|b| line.starts_with(b))
        {
            while i < lines.len() && !lines[i].trim().is_empty() {
                i += 1;
            }
            continue;
        }
        // A cue: an optional identifier (SRT's number), then its timing line.
        let timing_at = if line.contains("-->") { i } else { i + 1 };
        let Some(timing) = lines.get(timing_at).filter(|l| l.contains("-->")) else {
            return fail(
                i,
                "expected a cue timing line such as `00:00:01.000 --> 00:00:02.500`",
            );
        };
        let (start, rest) = timing.split_once("-->").expect("checked");
        let end = rest.split_whitespace().next().unwrap_or("");
        let (Some(start), Some(end)) = (caption_time(start.trim()), caption_time(end)) else {
            return fail(
                timing_at,
                "a cue time must read hh:mm:ss.ttt (or hh:mm:ss,ttt)",
            );
        };
        if end <= start {
            return fail(timing_at, "the cue ends before it starts");
        }
        let mut body = Vec::new();
        i = timing_at + 1;
        while i < lines.len() && !lines[i].trim().is_empty() {
            if lines[i].contains("-->") {
                return fail(
                    i,
                    "a cue timing line inside a cue's text: a blank line is missing",
                );
            }
            body.push(plain_text(lines[i]));
            i += 1;
        }
        let text = body.join("\n").trim().to_string();
        if !text.is_empty() {
            cues.push(Cue { start, end, text });
        }
        if cues.len() > MAX_CUES {
            return fail(i, &format!("more than {MAX_CUES} cues"));
        }
    }
    if cues.is_empty() {
        return fail(lines.len().saturating_sub(1), "the file holds no cue");
    }
    cues.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(cues)
}

/// Seconds of `hh:mm:ss.ttt`, `mm:ss.ttt` or SRT's `hh:mm:ss,ttt`.
fn caption_time(stamp: &str) -> Option<f64> {
    let (clock, millis) = stamp.split_once(['.', ','])?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (hours, minutes, seconds) = match numbers[..] {
        [m, s] => (0, m, s),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    if minutes > 59 || seconds > 59 {
        return None;
    }
    Some((hours * 3600 + minutes * 60 + seconds) as f64 + millis.parse::<f64>().ok()? / 1000.0)
}

/// A line of cue text without its tags (`<i>`, `<c.yellow>`, `<00:01.000>`) and with its
/// character references decoded.
fn plain_text(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            _ => plain.push(c),
        }
    }
    plain
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&lrm;", "")
        .replace("&rlm;", "")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// A subtitle rendition a conversion published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A subtitle rendition of `cues` cut where the video's segments are (`durations`, the first
/// numbered `first_sequence`): each segment's URI relative to the playlist with its WebVTT
/// text, and the VOD media playlist that lists them.
///
/// ```
/// use hls_ladder::captions::{parse_captions, subtitle_rendition};
///
/// let cues = parse_captions("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello\n")?;
/// let (segments, playlist) = subtitle_rendition(&cues, &[2.0, 2.0], 1);
/// assert_eq!(segments.len(), 2);
/// assert_eq!(segments[0].0, "segment_00001.vtt");
/// assert!(segments[1].1.contains("Hello")); // a cue spanning a cut is in both segments
/// assert_eq!(playlist.segments.len(), 2);
/// # Ok::<(), hls_ladder::captions::CaptionError>(())
/// ```
pub fn subtitle_rendition(
    cues: &[Cue],
    durations: &[f64],
    first_sequence: u64,
) -> (Vec<(String, String)>, MediaPlaylist) {
    let mut playlist = MediaPlaylist {
        media_sequence: first_sequence,
        ..MediaPlaylist::default()
    };
    let mut segments = Vec::with_capacity(durations.len());
    let mut from = 0.0;
    for (sequence, &duration) in (first_sequence..).zip(durations) {
        let uri = format!("segment_{sequence:05}.vtt");
        segments.push((uri.clone(), segment_vtt(cues, from, from + duration)));
        playlist.segments.push(PlaylistSegment { uri, duration });
        from += duration;
    }
    (segments, playlist)
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
    fn srt_and_webvtt_files_read_as_plain_cues() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> &amp; <b>bye</b>\r\n\r\n2\r\n00:01:02,250 --> 00:01:03,000\r\nTwo\r\nlines\r\n";
        assert_eq!(
            parse_captions(srt).unwrap(),
            [
                Cue {
                    start: 1.0,
                    end: 2.5,
                    text: "Hello & bye".into()
                },
                Cue {
                    start: 62.25,
                    end: 63.0,
                    text: "Two\nlines".into()
                }
            ]
        );
        let vtt = "WEBVTT - a title\n\nNOTE a comment\nover two lines\n\nSTYLE\n::cue { color: red }\n\nintro\n00:05.000 --> 00:06.000 align:start line:0\n<c.yellow>Yellow</c>\n\n01:00:00.000 --> 01:00:01.000\nLate\n";
        let cues = parse_captions(vtt).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(
            (cues[0].start, cues[0].end, cues[0].text.as_str()),
            (5.0, 6.0, "Yellow")
        );
        assert_eq!(cues[1].start, 3600.0);
    }

    #[test]
    fn a_bad_caption_file_names_the_line_that_is_wrong() {
        let error = |text: &str| parse_captions(text).unwrap_err();
        assert_eq!(
            error("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03.5 --> 00:00:04,000\nbad\n")
                .line,
            6
        );
        assert_eq!(
            error("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nbackwards\n").line,
            3
        );
        assert!(
            error("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nx\n")
                .reason
                .contains("ends before")
        );
        assert_eq!(error("just some text\nand more\n").line, 1);
        assert_eq!(error("WEBVTT\n").reason, "the file holds no cue");
        assert_eq!(error("").reason, "the file holds no cue");
        assert_eq!(
            error("WEBVTT\n\n00:01.000 --> 00:02.000\na\n00:03.000 --> 00:04.000\nb\n").line,
            5
        );
        assert!(
            error("00:00:01,000 --> 00:61:00,000\nx\n")
                .reason
                .contains("hh:mm:ss")
        );
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
    fn a_rendition_has_a_segment_per_video_segment_numbered_as_they_are() {
        let cue = Cue {
            start: 2.5,
            end: 3.0,
            text: "x".into(),
        };
        let (segments, playlist) = subtitle_rendition(&[cue], &[2.0, 6.0, 1.5], 1);
        let uris: Vec<&str> = segments.iter().map(|(uri, _)| uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "segment_00001.vtt",
                "segment_00002.vtt",
                "segment_00003.vtt"
            ]
        );
        assert!(!segments[0].1.contains("-->") && segments[1].1.contains("-->"));
        assert!(!segments[2].1.contains("-->"));
        assert_eq!(playlist.media_sequence, 1);
        assert_eq!(playlist.segments[1].uri, "segment_00002.vtt");
        assert_eq!(playlist.duration(), 9.5);
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
