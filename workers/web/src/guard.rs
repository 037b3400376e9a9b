//! The SSRF guard: which addresses the fetcher may connect to, and a DNS resolver that
//! hands the HTTP client only addresses it has checked.
//!
//! Refused unless listed in `allow_networks`: loopback, private (RFC 1918), CGNAT
//! (100.64/10), link-local (169.254/16, fe80::/10), unique-local (fc00::/7), site-local,
//! multicast, unspecified, broadcast, reserved and documentation ranges, and the
//! cloud-metadata addresses (169.254.169.254, fd00:ec2::254). IPv6 addresses that embed
//! an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the address
//! they embed; Teredo is refused outright.
//!
//! No DNS-rebinding window: host names are resolved by `GuardedResolver`, the resolver
//! installed in the HTTP client, so the addresses checked are the very addresses the
//! connector connects to. A name with any refused address is refused as a whole. IP
//! literals never reach a resolver; [`AddrPolicy::check_url`] refuses them before any
//! connection is attempted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Parse `allow_networks` entries (CIDR or a single address).
pub(crate) fn parse_networks(list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| {
                    format!(
                        "[agents.web] allow_networks: {s:?} is not a CIDR network or an IP address"
                    )
                })
        })
        .collect()
}

/// Why an address or URL is refused: always a permanent failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Which addresses may be connected to.
#[derive(Debug, Clone, Default)]
pub struct AddrPolicy {
    allow: Vec<IpNet>,
}

impl AddrPolicy {
    /// A policy refusing every non-public address except those in `allow`.
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// `None` when `ip` may be connected to, else the kind of address it is.
    pub fn refuse_reason(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = canonical(ip);
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return None;
        }
        match ip {
            IpAddr::V4(v4) => v4_reason(v4),
            IpAddr::V6(v6) => v6_reason(v6),
        }
    }

    /// Check a URL before any connection: scheme http(s), a host, and an IP-literal host
    /// must be allowed (host names are checked when they are resolved).
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Refusal(format!(
                    "refused to fetch {url}: only http and https URLs are fetched, not {other}:"
                )))
            }
        }
        let ip = match url.host() {
            None => {
                return Err(Refusal(format!(
                    "refused to fetch {url}: the URL has no host"
                )))
            }
            Some(url::Host::Domain(_)) => return Ok(()),
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        };
        match self.refuse_reason(ip) {
            None => Ok(()),
            Some(why) => Err(Refusal(format!(
                "refused to fetch {url}: {ip} is {why} (SSRF guard; an operator can allow \
                 networks with [agents.web] allow_networks)"
            ))),
        }
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let reason = if ip == Ipv4Addr::new(169, 254, 169, 254) {
        "a cloud metadata address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_private() {
        "a private address"
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        "a carrier-grade NAT (shared) address"
    } else if ip.is_link_local() {
        "a link-local address"
    } else if ip.is_broadcast() {
        "the broadcast address"
    } else if o[0] == 0 {
        "an unspecified (this-network) address"
    } else if ip.is_multicast() {
        "a multicast address"
    } else if o[0] >= 240 {
        "a reserved address"
    } else if ip.is_documentation() {
        "a documentation address"
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        "an IETF protocol assignment address"
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        "a benchmarking address"
    } else {
        return None;
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    let reason = if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        "a cloud metadata address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if ip.is_unspecified() {
        "the unspecified address"
    } else if s[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated): judged by the embedded address.
        return v4_reason(embedded(s[6], s[7])).or(Some("an IPv4-compatible IPv6 address"));
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix: the embedded IPv4 address is what is reached.
        return v4_reason(embedded(s[6], s[7]));
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        "a local-use NAT64 address"
    } else if s[0] == 0x2002 {
        // 6to4: the embedded IPv4 address is what is reached.
        return v4_reason(embedded(s[1], s[2]));
    } else if s[0] == 0x2001 && s[1] == 0 {
        "a Teredo tunnel address"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "a unique-local address"
    } else if (s[0] & 0xffc0) == 0xfe80 {
        "a link-local address"
    } else if (s[0] & 0xffc0) == 0xfec0 {
        "a site-local address"
    } else if (s[0] & 0xff00) == 0xff00 {
        "a multicast address"
    } else if s[0] == 0x2001 && s[1] == 0xdb8 {
        "a documentation address"
    } else if s[..4] == [0x100, 0, 0, 0] {
        "a discard-only address"
    } else {
        return None;
    };
    Some(reason)
}

/// Name-resolution failure (not a refusal): a temporary failure.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {message}")]
pub struct DnsFailure {
    /// The host name.
    pub host: String,
    /// What the system resolver said.
    pub message: String,
}

/// The HTTP client's resolver: resolves with the system resolver, then refuses the name
/// when any of its addresses is refused by the policy.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    policy: Arc<AddrPolicy>,
}

impl GuardedResolver {
    pub(crate) fn new(policy: Arc<AddrPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let looked_up: Result<Vec<SocketAddr>, String> =
                tokio::net::lookup_host((host.as_str(), 0))
                    .await
                    .map(|a| a.collect())
                    .map_err(|e| e.to_string());
            let addrs = match looked_up {
                Ok(a) => a,
                Err(message) => {
                    return Err(Box::new(DnsFailure { host, message })
                        as Box<dyn std::error::Error + Send + Sync>)
                }
            };
            if addrs.is_empty() {
                return Err(Box::new(DnsFailure {
                    host,
                    message: "no addresses".into(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            if let Some((ip, why)) = addrs
                .iter()
                .find_map(|a| policy.refuse_reason(a.ip()).map(|w| (a.ip(), w)))
            {
                return Err(Box::new(Refusal(format!(
                    "refused to fetch from {host}: {host} resolves to {ip}, {why} (SSRF guard; an \
                     operator can allow networks with [agents.web] allow_networks)"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(p: &AddrPolicy, s: &str) -> bool {
        p.refuse_reason(s.parse().unwrap()).is_some()
    }

    #[test]
    fn non_public_addresses_are_refused() {
        let p = AddrPolicy::default();
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "169.254.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.0.192",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:0a00:0001::1",
            "2001:0:1::1",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(refused(&p, a), "{a} should be refused");
        }
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "2606:2800:220:1:248:1893:25c8:1946",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert!(!refused(&p, a), "{a} should be allowed");
        }
        assert_eq!(
            p.refuse_reason("169.254.169.254".parse().unwrap()),
            Some("a cloud metadata address")
        );
    }

    #[test]
    fn allow_list_lets_listed_networks_through() {
        let nets = parse_networks(&["127.0.0.0/8".into(), "::1".into()]).unwrap();
        let p = AddrPolicy::new(nets);
        assert!(!refused(&p, "127.0.0.1"));
        assert!(!refused(&p, "::ffff:127.0.0.1"));
        assert!(!refused(&p, "::1"));
        assert!(refused(&p, "10.0.0.1"));
        assert!(parse_networks(&["nonsense".into()]).is_err());
    }

    #[test]
    fn urls_are_checked_before_connecting() {
        let p = AddrPolicy::default();
        for u in [
            "http://127.0.0.1/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://[::ffff:7f00:1]/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0/",
            "ftp://example.com/",
            "file:///etc/passwd",
        ] {
            let url = Url::parse(u).unwrap();
            assert!(p.check_url(&url).is_err(), "{u} should be refused");
        }
        assert!(p
            .check_url(&Url::parse("https://example.com/x").unwrap())
            .is_ok());
    }
}
