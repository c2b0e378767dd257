//! The output's clock as libav takes it: 90 kHz ticks (MPEG-TS's own) as a time base. The
//! ticks themselves, and the segment boundaries on them, are plain numbers
//! ([`crate::segmenting`]).

use ffmpeg_next::Rational;

use crate::segmenting::TICKS_PER_SECOND;

/// Output time base for video: 1/90000 s, so variable frame rates keep their exact timing.
pub(crate) const TICKS: Rational = Rational(1, TICKS_PER_SECOND as i32);
