//! The client address of a request: the TCP peer, or — only when the peer is one of the
//! configured trusted proxies (`ISKRA_TRUSTED_PROXIES`, IPs and CIDRs) — the address the proxies
//! name in `X-Forwarded-For`. Anyone can send that header, so it is read from trusted peers
//! only: the hops are walked from the right (the nearest proxy's entry) past the trusted ones,
//! and the first address that is not a trusted proxy is the client.

use std::net::IpAddr;

/// One trusted network: an address and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `bits` bits of `a` and `b` are equal.
fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xff_u8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

/// A configured trusted proxy list could not be read.
#[derive(Debug, thiserror::Error)]
#[error("ISKRA_TRUSTED_PROXIES: `{entry}` is not an IP address or CIDR ({reason})")]
pub struct ProxyListError {
    entry: String,
    reason: &'static str,
}

/// The proxies whose `X-Forwarded-For` is believed (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Net>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses (`10.0.0.1`, `::1`) and CIDRs (`10.0.0.0/8`).
    pub fn parse(list: &str) -> Result<Self, ProxyListError> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |reason| ProxyListError {
                entry: entry.to_owned(),
                reason,
            };
            let (addr, prefix) = match entry.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (entry, None),
            };
            let addr: IpAddr = addr.parse().map_err(|_| bad("bad address"))?;
            let addr = addr.to_canonical();
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| bad("bad prefix length"))?,
            };
            nets.push(Net { addr, prefix });
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request from `peer` carrying the `X-Forwarded-For` values `forwarded`
    /// (each header line may list several hops). A malformed hop ends the walk at the last
    /// address known good.
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_cidrs() {
        let p = TrustedProxies::parse(" 10.0.0.0/8, 127.0.0.1 ,::1, fd00::/8").unwrap();
        assert!(p.trusts(ip("10.200.3.4")));
        assert!(p.trusts(ip("127.0.0.1")));
        assert!(p.trusts(ip("::ffff:127.0.0.1")));
        assert!(p.trusts(ip("::1")));
        assert!(p.trusts(ip("fd12::1")));
        assert!(!p.trusts(ip("11.0.0.1")));
        assert!(!p.trusts(ip("127.0.0.2")));
        assert!(!p.trusts(ip("fe00::1")));
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        for bad in ["10.0.0.0/33", "::/129", "localhost", "10.0.0.1/x", "1.2.3"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        let odd = TrustedProxies::parse("192.168.0.0/23").unwrap();
        assert!(odd.trusts(ip("192.168.1.200")));
        assert!(!odd.trusts(ip("192.168.2.1")));
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let p = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap();
        let xff = ["203.0.113.9, 198.51.100.2, 10.1.1.1"];
        // The nearest untrusted hop is the client (a client-written left part is not believed).
        assert_eq!(
            p.client(ip("127.0.0.1"), xff.into_iter()),
            ip("198.51.100.2")
        );
        // From an untrusted peer the header is ignored.
        assert_eq!(p.client(ip("192.0.2.1"), xff.into_iter()), ip("192.0.2.1"));
        // Several header lines are one list; all-trusted chains end at the leftmost hop.
        assert_eq!(
            p.client(ip("127.0.0.1"), ["10.0.0.7", "10.0.0.8"].into_iter()),
            ip("10.0.0.7")
        );
        // A malformed hop stops the walk at the last good address.
        assert_eq!(
            p.client(ip("127.0.0.1"), ["203.0.113.9, junk"].into_iter()),
            ip("127.0.0.1")
        );
        assert_eq!(
            p.client(ip("127.0.0.1"), std::iter::empty()),
            ip("127.0.0.1")
        );
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), xff.into_iter()),
            ip("127.0.0.1")
        );
    }
}
