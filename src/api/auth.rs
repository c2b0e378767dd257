//! API keys: `Authorization: Bearer KEY` on the requests that need one.
//!
//! Keys are kept only as SHA-256 digests, and a presented key is compared with every digest
//! in constant time, so neither memory dumps nor response timing reveal a key.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::problem::ApiError;
use super::problem_code::ApiCode;

/// The configured keys, and whether reads need one too.
#[derive(Clone, Default)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
    private_reads: bool,
}

impl ApiKeys {
    /// Keys from the configuration (blank entries ignored); none means no authentication.
    pub fn new(keys: &[SecretString], private_reads: bool) -> ApiKeys {
        ApiKeys {
            digests: keys
                .iter()
                .map(|k| k.expose_secret().trim())
                .filter(|k| !k.is_empty())
                .map(digest)
                .collect(),
            private_reads,
        }
    }

    /// Whether any key is configured.
    pub fn enabled(&self) -> bool {
        !self.digests.is_empty()
    }

    /// Whether `presented` is one of the keys. Every digest is compared, in constant time.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, key| {
                found | key.ct_eq(&presented)
            })
            .into()
    }

    /// The same keys, required for reads too: for what only the operator should see.
    pub fn for_reads_too(&self) -> ApiKeys {
        ApiKeys {
            private_reads: true,
            ..self.clone()
        }
    }

    fn required_for(&self, method: &Method) -> bool {
        self.enabled() && (self.private_reads || !matches!(*method, Method::GET | Method::HEAD))
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Middleware: 401 without a key where one is required, 403 with a wrong one.
/// A valid key, when one is sent, is recorded on the request as a
/// [`ValidatedKey`](super::client_id::ValidatedKey) (per-client limits count by it), also
/// where no key is required.
pub async fn require_api_key(
    State(keys): State<ApiKeys>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .map(str::to_string);
    if let Some(key) = presented.as_deref().filter(|key| keys.accepts(key)) {
        let validated = super::client_id::ValidatedKey(digest(key));
        request.extensions_mut().insert(validated);
    }
    if !keys.required_for(request.method()) {
        return next.run(request).await;
    }
    match presented.as_deref() {
        None => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                ApiCode::MissingApiKey,
                "this request needs an API key: send `Authorization: Bearer <key>`",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        Some(key) if keys.accepts(key) => next.run(request).await,
        Some(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            ApiCode::InvalidApiKey,
            "the API key is not valid for this service",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_keys_are_accepted() {
        let keys = ApiKeys::new(&["alpha".into(), " beta ".into(), "".into()], false);
        assert!(keys.enabled());
        assert!(keys.accepts("alpha"));
        assert!(keys.accepts("beta"));
        assert!(!keys.accepts("gamma"));
        assert!(!keys.accepts(""));
        assert!(!keys.accepts("alph"));
    }

    #[test]
    fn reads_need_a_key_only_when_private() {
        let public = ApiKeys::new(&["k".into()], false);
        let private = ApiKeys::new(&["k".into()], true);
        let none = ApiKeys::new(&[], true);
        assert!(!public.required_for(&Method::GET));
        assert!(public.required_for(&Method::POST));
        assert!(public.required_for(&Method::DELETE));
        assert!(private.required_for(&Method::GET));
        assert!(!none.required_for(&Method::POST));
        assert!(public.for_reads_too().required_for(&Method::GET));
        assert!(!none.for_reads_too().required_for(&Method::GET));
    }
}
