//! The client's file name, whichever way an upload came (a multipart part, tus metadata, a JSON
//! body, the last segment of an imported URL): harmless metadata, never a path.

/// The longest file name kept; a JSON body's `filename` longer than this is refused (its
/// `maxLength`), a multipart part's is cut.
pub const MAX_FILENAME_CHARS: usize = 255;

/// The client's file name as harmless metadata: the last path component, no control
/// characters, at most [`MAX_FILENAME_CHARS`] characters.
pub fn sanitize_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    last.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_filename("C:\\Users\\me\\clip\u{7}.mp4"),
            "clip.mp4"
        );
        assert_eq!(sanitize_filename(&"a".repeat(300)).len(), 255);
    }
}
