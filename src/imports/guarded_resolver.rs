//! The import client's DNS: resolves a host, then drops every address the
//! [`AddressPolicy`] refuses. The client connects only to addresses this returns, so a name
//! that resolves to a private address (or starts to, between two lookups: DNS rebinding)
//! is never connected to.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address_policy::{AddressPolicy, NotAllowed};

/// A resolver that keeps only the addresses `policy` allows.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    /// What may be connected to.
    pub policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            // The port is the client's to choose; 0 here is replaced by it.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|address| policy.check_address(address.ip()).is_ok())
                .collect();
            if allowed.is_empty() {
                let refused = resolved.first().map_or_else(
                    || NotAllowed(format!("{host} resolves to no address")),
                    |first| {
                        let reason = policy
                            .check_address(first.ip())
                            .expect_err("every address was refused");
                        NotAllowed(format!("{host}: {}", reason.0))
                    },
                );
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
