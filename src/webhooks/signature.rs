//! Webhook signatures, by the Standard Webhooks scheme (<https://www.standardwebhooks.com>),
//! so receivers can check them with that project's libraries or a few lines of their own.
//!
//! Three headers: `webhook-id` (the event's id, the same on every attempt), `webhook-timestamp`
//! (Unix seconds of the attempt) and `webhook-signature: v1,<base64>`, where the base64 is the
//! HMAC-SHA256, keyed with the secret, of `"{webhook-id}.{webhook-timestamp}.{body}"`. The id,
//! the time and the body are all signed, and the body names the event type
//! (`{"type": "video.completed", ...}`), so none can be swapped. A receiver recomputes it over
//! the bytes it received, compares in constant time, and refuses a timestamp too far from its
//! clock (replays). Several space-separated signatures (a secret rotation) pass if one matches.
//!
//! The key: a `WEBHOOK_SECRET` written as Standard Webhooks writes them, `whsec_<base64>`, is
//! the base64-decoded bytes (give receivers the same string); any other secret is its UTF-8
//! bytes (give the libraries `whsec_` + its base64).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a timestamp may be from the receiver's clock by default, in seconds.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// Why a signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or not of the scheme's form.
    #[error("the webhook-timestamp or webhook-signature header is malformed")]
    Malformed,
    /// The timestamp is too far from now.
    #[error("the webhook-timestamp is outside the tolerance")]
    Stale,
    /// No `v1` signature matches.
    #[error("the webhook-signature does not match the id, timestamp and body")]
    Mismatch,
}

/// The HMAC key a `WEBHOOK_SECRET` stands for: `whsec_<base64>` decoded, else its bytes.
pub fn key_from_secret(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .filter(|key| !key.is_empty())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for event `id`'s `body` sent at `timestamp` (Unix seconds).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(key, id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(digest))
}

/// Checks the `webhook-signature` header against the `webhook-id`, the `webhook-timestamp`
/// header and the body, at `now` (Unix seconds), allowing `tolerance` seconds of difference.
pub fn verify(
    key: &[u8],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    let candidates: Vec<&str> = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .collect();
    if candidates.is_empty() || id.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let matches = candidates.iter().any(|encoded| {
        STANDARD
            .decode(encoded)
            .is_ok_and(|bytes| mac(key, id, timestamp, body).verify_slice(&bytes).is_ok())
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

    const KEY: &[u8] = b"a-test-secret-key";
    const ID: &str = "0193a0f0-0000-7000-8000-000000000001";

    #[test]
    fn a_signature_verifies_against_its_id_time_and_body_only() {
        let header = sign(KEY, ID, 1_764_331_200, br#"{"type":"video.completed"}"#);
        let check = |id: &str, ts: &str, body: &[u8]| {
            verify(KEY, id, ts, &header, body, 1_764_331_260, 300)
        };
        assert_eq!(
            check(ID, "1764331200", br#"{"type":"video.completed"}"#),
            Ok(())
        );
        let other_type = br#"{"type":"video.failed"}"#;
        assert_eq!(
            check(ID, "1764331200", other_type),
            Err(SignatureError::Mismatch)
        );
        let other_id = "0193a0f0-0000-7000-8000-000000000002";
        let body = br#"{"type":"video.completed"}"#;
        assert_eq!(
            check(other_id, "1764331200", body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(check(ID, "1764331201", body), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(
                b"other",
                ID,
                "1764331200",
                &header,
                body,
                1_764_331_260,
                300
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_timestamp_is_bounded_and_a_rotation_passes() {
        let header = sign(KEY, ID, 1_000, b"body");
        assert_eq!(
            verify(KEY, ID, "1000", &header, b"body", 1_301, 300),
            Err(SignatureError::Stale)
        );
        let rotated = format!("{} {header}", sign(b"old-key", ID, 1_000, b"body"));
        assert_eq!(
            verify(KEY, ID, "1000", &rotated, b"body", 1_000, 300),
            Ok(())
        );
        assert_eq!(
            verify(
                KEY,
                ID,
                &i64::MIN.to_string(),
                &header,
                b"body",
                i64::MAX,
                300
            ),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn known_answer_from_the_standard_webhooks_reference() {
        // The Standard Webhooks example (secret, id, timestamp, payload); the official
        // `standardwebhooks` Python library 1.1.0 gives the same signature.
        let key = key_from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_plain_secret_is_its_bytes_and_a_whsec_secret_its_base64() {
        assert_eq!(key_from_secret("plain-text-secret"), b"plain-text-secret");
        assert_eq!(key_from_secret("whsec_aGVsbG8="), b"hello");
        assert_eq!(key_from_secret("whsec_!!"), b"whsec_!!");
    }

    #[test]
    fn malformed_headers_are_refused() {
        for (timestamp, signature) in [
            ("", "v1,AA=="),
            ("x", "v1,AA=="),
            ("1", ""),
            ("1", "v2,AA=="),
        ] {
            assert_eq!(
                verify(KEY, ID, timestamp, signature, b"", 1, 300),
                Err(SignatureError::Malformed),
                "{timestamp} {signature}"
            );
        }
        assert_eq!(
            verify(KEY, "", "1", "v1,AA==", b"", 1, 300),
            Err(SignatureError::Malformed)
        );
    }
}
