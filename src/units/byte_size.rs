//! Sizes in bytes as people write them: `2GiB`, `500MB`, `64KiB`, plain digits.

use std::str::FromStr;

/// A number of bytes, written as `2GiB`, `500MB`, `64KiB` or plain digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let number: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a size like 2GiB"))?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1000,
            "kib" | "k" => 1 << 10,
            "mb" => 1000 * 1000,
            "mib" | "m" => 1 << 20,
            "gb" => 1000 * 1000 * 1000,
            "gib" | "g" => 1 << 30,
            other => return Err(format!("unknown size unit `{other}` in `{text}`")),
        };
        number
            .checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!("2GiB".parse::<ByteSize>().unwrap(), ByteSize(2 << 30));
        assert_eq!("500MB".parse::<ByteSize>().unwrap(), ByteSize(500_000_000));
        assert_eq!("1024".parse::<ByteSize>().unwrap(), ByteSize(1024));
        assert!("lots".parse::<ByteSize>().is_err());
        assert!("5 parsecs".parse::<ByteSize>().is_err());
    }
}
