//! Picture sizes as people write them: `WIDTHxHEIGHT`, for the limits of `convert`, `probe`
//! and `serve`.

use std::str::FromStr;

/// A picture size written `WIDTHxHEIGHT`, e.g. `3840x2160`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl FromStr for Resolution {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = text
            .trim()
            .to_ascii_lowercase()
            .split_once('x')
            .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
        match parsed {
            Some((width, height)) if width > 0 && height > 0 => Ok(Resolution { width, height }),
            _ => Err(format!("`{text}` is not a resolution like 3840x2160")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_parse_as_width_by_height() {
        assert_eq!(
            "3840x2160".parse::<Resolution>().unwrap(),
            Resolution {
                width: 3840,
                height: 2160
            }
        );
        assert!("3840".parse::<Resolution>().is_err());
        assert!("0x10".parse::<Resolution>().is_err());
    }
}
