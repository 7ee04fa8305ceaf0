//! Where a webhook may be sent: over HTTPS, to a public address, with no redirect. A
//! playbook's webhook URL comes from an input or a finding; a POST that could reach the
//! instance-metadata service, a loopback admin port or the private network (directly, through a
//! name resolving there, or through a redirect) would let whoever writes that URL use the
//! responder's network position.
//!
//! [`LOCAL_SWITCH`] is for tests only: it lets a webhook be plain `http` to a loopback address
//! (the test suite's own listener). Link-local and private addresses stay refused with it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The environment variable that, set to `1`, lets webhooks go to loopback over plain HTTP
/// (tests only).
pub const LOCAL_SWITCH: &str = "FIREBREAK_TEST_LOCAL_WEBHOOKS";

/// Whether the test-only switch is on.
pub fn local_allowed() -> bool {
    std::env::var(LOCAL_SWITCH).is_ok_and(|v| v == "1")
}

/// Why an address is not one firebreak POSTs to, or `None` when it may.
pub fn refused(ip: IpAddr, local_ok: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4, local_ok),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refused_v4(v4, local_ok),
            None => refused_v6(v6, local_ok),
        },
    }
}

fn refused_v4(ip: Ipv4Addr, local_ok: bool) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        (!local_ok).then_some("a loopback address")
    } else if ip.is_link_local() {
        Some("a link-local address (the instance-metadata service's range)")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("a private address")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 {
        Some("not a host's address")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr, local_ok: bool) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        (!local_ok).then_some("a loopback address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if first & 0xfe00 == 0xfc00 {
        Some("a private (unique local) address")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("not a host's address")
    } else {
        None
    }
}

/// A name resolver that gives only the addresses a webhook may reach: the check holds for the
/// address actually connected to, whatever the name resolved to when it was first checked.
#[derive(Debug)]
struct PublicOnly {
    local_ok: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let local_ok = self.local_ok;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| refused(a.ip(), local_ok).is_none())
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no address a webhook may reach").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client webhooks are sent with: no redirect followed (a 3xx is the receiver's
/// answer, and refused), names resolved to allowed addresses only.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("firebreak/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PublicOnly {
            local_ok: local_allowed(),
        }))
        .build()
        .unwrap_or_default()
}

/// Why `url` may not be sent to, checked before anything is sent: its scheme (`https`, or
/// `http` to loopback with the test switch) and every address its host resolves to. `Ok`
/// with the host to name in records; `Err` with a message that names the host only (the path
/// and query often hold a token).
pub async fn check(url: &reqwest::Url) -> Result<String, Refusal> {
    let host = url.host_str().unwrap_or("").to_string();
    let local_ok = local_allowed();
    let scheme_ok = url.scheme() == "https" || (local_ok && url.scheme() == "http");
    if !scheme_ok {
        return Err(Refusal::Invalid("webhook url must be https".into()));
    }
    if host.is_empty() {
        return Err(Refusal::Invalid("webhook url has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Invalid(format!(
            "webhook url to {host} carries a user name or password; put the secret in the path \
             or a header the receiver expects, not in the URL's user part"
        )));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let found = tokio::net::lookup_host((host.as_str(), port)).await;
            match found {
                Ok(it) => it.map(|a| a.ip()).collect(),
                Err(_) => return Err(Refusal::Unresolved(host.clone())),
            }
        }
    };
    if let Some((ip, why)) = addrs
        .iter()
        .find_map(|ip| refused(*ip, local_ok).map(|why| (ip, why)))
    {
        return Err(Refusal::Address(format!(
            "webhook host {host} is {why} ({ip}), which firebreak does not send to"
        )));
    }
    if addrs.is_empty() {
        return Err(Refusal::Unresolved(host));
    }
    Ok(host)
}

/// Why a webhook URL was refused before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an https URL with a host (and no user part).
    Invalid(String),
    /// Its host is, or resolves to, an address firebreak does not send to.
    Address(String),
    /// Its host does not resolve (now: it may later).
    Unresolved(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_private_and_loopback_addresses_are_refused() {
        for ip in [
            "169.254.169.254",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "::",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(refused(ip, true).is_some(), "{ip}");
            assert!(refused(ip, false).is_some(), "{ip}");
        }
        for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(refused(ip, false).is_some(), "{ip}");
            assert!(
                refused(ip, true).is_none(),
                "{ip}: allowed by the test switch"
            );
        }
        for ip in ["52.94.76.1", "2600:1f18::1", "1.1.1.1"] {
            assert!(refused(ip.parse().unwrap(), false).is_none(), "{ip}");
        }
    }
}
