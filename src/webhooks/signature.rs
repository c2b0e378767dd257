//! The `Webhook-Signature` header: HMAC-SHA256 over the timestamp and the body.
//!
//! `Webhook-Signature: t=1764331200,v1=5257a869e7…` where `v1` is the lowercase hex
//! HMAC-SHA256, keyed with `WEBHOOK_SECRET`, of `"{t}.{body}"`: the Unix time of the attempt,
//! a dot, and the raw request body. A receiver recomputes it over the bytes it received,
//! compares in constant time, and refuses a `t` too far from its clock (replays).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a timestamp may be from the receiver's clock by default, in seconds.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// Why a signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=…,v1=…`.
    #[error("the Webhook-Signature header is malformed")]
    Malformed,
    /// The timestamp is too far from now.
    #[error("the Webhook-Signature timestamp is outside the tolerance")]
    Stale,
    /// No `v1` value matches the body.
    #[error("the Webhook-Signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks a header value against the body, at `now` (Unix seconds), allowing the timestamp
/// `tolerance` seconds of difference. Several `v1` values (during a secret rotation) are
/// accepted if any matches.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            // Exactly one timestamp: with two it would be open which one was signed.
            Some(("t", _)) if timestamp.is_some() => return Err(SignatureError::Malformed),
            Some(("t", value)) => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let matches = signatures.iter().any(|hex| {
        hex::decode(hex)
            .is_ok_and(|bytes| mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signature_verifies_against_its_body_only() {
        let header = sign(SECRET, 1_764_331_200, br#"{"id":1}"#);
        assert!(header.starts_with("t=1764331200,v1="));
        assert_eq!(
            verify(SECRET, &header, br#"{"id":1}"#, 1_764_331_260, 300),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, &header, br#"{"id":2}"#, 1_764_331_260, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &header, br#"{"id":1}"#, 1_764_331_260, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_timestamp_is_signed_and_bounded() {
        let header = sign(SECRET, 1_000, b"body");
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(SECRET, &moved, b"body", 1_001, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &header, b"body", 1_301, 300),
            Err(SignatureError::Stale)
        );
        let far = format!("t={},v1=00", i64::MIN);
        assert_eq!(
            verify(SECRET, &far, b"body", i64::MAX, 300),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn known_answer() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec_test",b"1.{}",hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(SECRET, 1, b"{}"),
            "t=1,v1=7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094"
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for header in ["", "t=1", "v1=00", "t=x,v1=00", "garbage", "t=1,t=2,v1=00"] {
            assert_eq!(
                verify(SECRET, header, b"", 1, 300),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }
}
