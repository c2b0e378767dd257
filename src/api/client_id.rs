//! Who a client is, for per-client limits (uploads, event streams): the API key it sent when
//! the key is valid, else its IP address, an IPv6 address by its /64 (a subscriber usually
//! holds a whole /64, so one address each would be a fresh allowance for the asking).
//!
//! A key counts only once [`auth`](super::auth) has accepted it: any other `Authorization`
//! header is ignored here, so making one up buys nothing.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

/// A request extension that [`auth::require_api_key`](super::auth::require_api_key) sets
/// when the request carries a valid API key: the key's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatedKey(pub [u8; 32]);

/// A client, as a digest of its key or of its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientId(pub [u8; 32]);

impl ClientId {
    /// The client of a request with these extensions.
    pub fn of(extensions: &axum::http::Extensions) -> ClientId {
        let mut hasher = Sha256::new();
        if let Some(ValidatedKey(key)) = extensions.get::<ValidatedKey>() {
            hasher.update(b"key:");
            hasher.update(key);
        } else {
            let address = extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| network_of(peer.ip()));
            hasher.update(b"ip:");
            hasher.update(
                address
                    .map(|a| a.to_string())
                    .unwrap_or_default()
                    .as_bytes(),
            );
        }
        ClientId(hasher.finalize().into())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientId::of(&parts.extensions))
    }
}

/// The address that stands for a client: an IPv4 address as it is (also when written as an
/// IPv4-mapped IPv6 address), an IPv6 address with its last 64 bits cleared.
pub fn network_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(peer: &str, key: Option<[u8; 32]>) -> ClientId {
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        if let Some(key) = key {
            extensions.insert(ValidatedKey(key));
        }
        ClientId::of(&extensions)
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_a_v4_client_its_address() {
        assert_eq!(
            client("[2001:db8:1:2:aaaa::1]:1000", None),
            client("[2001:db8:1:2:ffff:ffff:ffff:ffff]:2000", None)
        );
        assert_ne!(
            client("[2001:db8:1:2::1]:1000", None),
            client("[2001:db8:1:3::1]:1000", None)
        );
        assert_eq!(
            client("192.0.2.7:1", None),
            client("[::ffff:192.0.2.7]:2", None)
        );
        assert_ne!(client("192.0.2.7:1", None), client("192.0.2.8:1", None));
    }

    #[test]
    fn a_validated_key_is_the_client_wherever_it_comes_from() {
        let key = [7; 32];
        assert_eq!(
            client("192.0.2.7:1", Some(key)),
            client("[2001:db8::1]:1", Some(key))
        );
        assert_ne!(
            client("192.0.2.7:1", Some(key)),
            client("192.0.2.7:1", None)
        );
    }
}
