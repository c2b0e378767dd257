//! Which URLs and addresses an import may fetch: http and https only, and (unless private
//! addresses are allowed) only addresses on the public internet, so that a URL import cannot
//! reach the server's own network, its loopback services or a cloud metadata endpoint.
//!
//! Written here rather than taken from a crate: the standard library's `IpAddr::is_global` is
//! still unstable, and the small crates that offer it do not look through the IPv6 forms that
//! carry an IPv4 address (mapped, NAT64, 6to4), which is where such checks are usually got round.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;

/// What an import may fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow loopback, private and other non-public addresses (`IMPORT_ALLOW_PRIVATE`): for
    /// tests and for deployments that import from their own network.
    pub allow_private: bool,
    /// Non-public networks allowed all the same (`IMPORT_ALLOW_ADDRESSES`), e.g. one media
    /// server inside the deployment's network, without opening every private address.
    pub allowed: Arc<Vec<IpNet>>,
}

/// Why a URL may not be fetched: the message a person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAllowed(pub String);

impl AddressPolicy {
    /// Checks what can be checked without resolving the host: the scheme, that there is a
    /// host, no credentials in the URL, and, when the host is an address, that address.
    pub fn check_url(&self, url: &Url) -> Result<(), NotAllowed> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NotAllowed(format!(
                "only http and https URLs can be imported, not `{}:`",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NotAllowed(
                "the URL carries a user name or password; put a token in the query instead, or upload the file"
                    .to_string(),
            ));
        }
        match url.host() {
            None => Err(NotAllowed("the URL has no host".to_string())),
            Some(url::Host::Ipv4(address)) => self.check_address(IpAddr::V4(address)),
            Some(url::Host::Ipv6(address)) => self.check_address(IpAddr::V6(address)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    /// Checks one address the host resolved to, or the one connected to.
    pub fn check_address(&self, address: IpAddr) -> Result<(), NotAllowed> {
        let address = canonical(address);
        if self.allow_private
            || is_public(address)
            || self.allowed.iter().any(|net| net.contains(&address))
        {
            Ok(())
        } else {
            Err(NotAllowed(format!(
                "{address} is not a public internet address (loopback, private, link-local, multicast, reserved or a cloud metadata endpoint); the server does not fetch from it"
            )))
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `address` is a unicast address on the public internet.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(a == 0 // "this network"
        || a == 10 // private
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 169 && b == 254) // link-local, and the cloud metadata endpoint 169.254.169.254
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let segments = address.segments();
    // Forms that carry an IPv4 address are as public as that address.
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 (RFC 6052)
        return is_public_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        // 6to4 (RFC 3056)
        return is_public_v4(embedded_v4(segments[1], segments[2]));
    }
    // Only global unicast (2000::/3) is routed on the internet; inside it, the ranges that
    // are not: Teredo and other IETF assignments (2001::/23), documentation (2001:db8::/32).
    (segments[0] & 0xe000) == 0x2000
        && !(segments[0] == 0x2001 && segments[1] < 0x0200)
        && !(segments[0] == 0x2001 && segments[1] == 0x0db8)
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn allowed_networks_open_only_themselves() {
        let policy = AddressPolicy {
            allow_private: false,
            allowed: Arc::new(vec![
                "127.0.0.1/32".parse().unwrap(),
                "10.8.0.0/16".parse().unwrap(),
            ]),
        };
        for allowed in ["127.0.0.1", "::ffff:127.0.0.1", "10.8.3.4", "8.8.8.8"] {
            assert!(
                policy.check_address(allowed.parse().unwrap()).is_ok(),
                "{allowed}"
            );
        }
        for refused in ["127.0.0.2", "::1", "10.9.0.1", "169.254.169.254"] {
            assert!(
                policy.check_address(refused.parse().unwrap()).is_err(),
                "{refused}"
            );
        }
    }

    use super::*;

    fn public_only() -> AddressPolicy {
        AddressPolicy::default()
    }

    #[test]
    fn addresses_outside_the_public_internet_are_refused() {
        for address in [
            "127.0.0.1",
            "127.8.9.1",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "169.254.1.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2001:db8::1",
            "2001::1",
            "::127.0.0.1",
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert!(!is_public(ip), "{address} counted as public");
            assert!(public_only().check_address(ip).is_err());
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "151.101.1.140",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert!(is_public(ip), "{address} counted as not public");
        }
    }

    #[test]
    fn only_http_and_https_urls_without_credentials_are_fetched() {
        let allowed = |url: &str| public_only().check_url(&Url::parse(url).unwrap());
        assert!(allowed("https://example.com/video.mp4").is_ok());
        assert!(allowed("http://example.com:8080/a?b=c").is_ok());
        for url in [
            "file:///etc/passwd",
            "ftp://example.com/video.mp4",
            "gopher://example.com/",
            "data:video/mp4;base64,AAAA",
            "https://user:secret@example.com/video.mp4",
            "http://127.0.0.1/video.mp4",
            "http://[::1]:8080/video.mp4",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://2130706433/video.mp4",
            "http://0x7f.1/video.mp4",
        ] {
            assert!(allowed(url).is_err(), "{url} was allowed");
        }
    }

    #[test]
    fn private_addresses_are_allowed_when_configured_but_not_other_schemes() {
        let policy = AddressPolicy {
            allow_private: true,
            ..AddressPolicy::default()
        };
        assert!(
            policy
                .check_url(&Url::parse("http://127.0.0.1:9000/v.mp4").unwrap())
                .is_ok()
        );
        assert!(
            policy
                .check_url(&Url::parse("file:///etc/passwd").unwrap())
                .is_err()
        );
    }
}
