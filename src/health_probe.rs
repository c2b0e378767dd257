//! `hls-ladder healthcheck`: asks a running service's `GET /healthz` and exits 0 when it
//! answers 200, 1 otherwise. For container health checks: the image has no shell and no
//! curl, and this asks the address the service itself was told to listen on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

/// `hls-ladder healthcheck` flags: the same `LISTEN` as `serve`, so that a container's one
/// environment serves both.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The address the service listens on (`serve --listen`); 0.0.0.0 and :: are asked on
    /// the loopback address of their family.
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seconds to wait for the whole answer.
    #[arg(long, default_value_t = 3.0, value_parser = positive_seconds)]
    pub timeout_seconds: f64,
}

/// The URL of `/healthz` on the service listening on `listen`.
pub fn healthz_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/healthz", SocketAddr::new(ip, listen.port()))
}

/// `Ok` when the service on `listen` answers `/healthz` with 200 within `timeout`; else why
/// not, in words.
pub async fn check(listen: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let url = healthz_url(listen);
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered {status}");
    }
    Ok(())
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_address_is_asked_on_loopback_of_its_family() {
        let url = |listen: &str| healthz_url(listen.parse().unwrap());
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz");
        assert_eq!(url("[::]:9000"), "http://[::1]:9000/healthz");
        assert_eq!(url("10.1.2.3:80"), "http://10.1.2.3:80/healthz");
        assert_eq!(url("[fd00::7]:8080"), "http://[fd00::7]:8080/healthz");
    }

    #[test]
    fn the_timeout_is_a_positive_number_of_seconds() {
        assert_eq!(positive_seconds("2.5"), Ok(2.5));
        for bad in ["0", "-1", "NaN", "inf", "soon"] {
            assert!(positive_seconds(bad).is_err(), "{bad}");
        }
    }
}
