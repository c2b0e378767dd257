//! Rates as people write them: `10/min`, `2/s`, `100/h`.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// An allowance written `COUNT/UNIT`, with UNIT `s`, `min` or `h`: e.g. `10/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRate {
    /// Uploads allowed per period (and the burst).
    pub count: NonZeroU32,
    /// The period.
    pub per: Duration,
}

impl FromStr for UploadRate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a rate like 10/min (units: s, min, h)");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(UploadRate {
            count: NonZeroU32::new(count).ok_or_else(bad)?,
            per,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        let rate: UploadRate = "10/min".parse().unwrap();
        assert_eq!(rate.count.get(), 10);
        assert_eq!(rate.per, Duration::from_secs(60));
        assert_eq!(
            "2/s".parse::<UploadRate>().unwrap().per,
            Duration::from_secs(1)
        );
        assert!("0/min".parse::<UploadRate>().is_err());
        assert!("ten/min".parse::<UploadRate>().is_err());
        assert!("10/fortnight".parse::<UploadRate>().is_err());
    }
}
