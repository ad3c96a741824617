//! Upstream URLs, read exactly as Go's `net/url` (Go 1.26) reads them.
//!
//! The Go side of the project compares what this library reports with what `url.Parse` gives
//! for the same string, so this is a port of `net/url` (and of the `net/netip` address parser
//! that it calls for bracketed hosts), not a WHATWG parser: no default-port dropping, no
//! trailing slash, no IDNA. Only what `Parse`, `Hostname()`, `Port()`, `Host` and `String()`
//! need is ported (`url.rs`; `netip.rs` the address parser). Go strings are bytes, so the port
//! works on `&[u8]` throughout and turns results into `str` at the end.

mod netip;
mod url;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netip::{parse_addr, Addr};
use url::{valid_optional_port, GoUrl};

use crate::error::{quote, Error, Result};
use crate::text::CText;

/// A parsed upstream URL: Go net/url's views of it, each stored NUL-terminated for the C ABI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upstream {
    scheme: CText,
    host: CText,
    port: CText,
    host_port: CText,
    url: CText,
}

impl Upstream {
    /// The upstream of a route with no URL: every view empty.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses `input` as Go's `url.Parse` does. `Err(Error::invalid(msg))` when Go returns an
    /// error; `msg` names the input and gives Go's reason.
    ///
    /// One deliberate difference: Go accepts a host whose percent-decoding is not UTF-8
    /// (`http://%FF/`), but our views are `str`, so such a URL is an error here.
    pub fn parse(input: &str) -> Result<Self> {
        let mut u = GoUrl::parse(input.as_bytes()).map_err(|why| invalid(input, &why))?;
        // Unreachable in practice: String() is built from escaped bytes and from slices of the
        // (UTF-8) input cut at ASCII delimiters. Kept as an error rather than a panic.
        let url = String::from_utf8(u.to_go_string())
            .map_err(|_| invalid(input, "URL does not re-encode as UTF-8"))?;
        let host_port = String::from_utf8(std::mem::take(&mut u.host))
            .map_err(|_| invalid(input, "host is not valid UTF-8 once percent-decoded"))?;
        let (hostname, port) = split_host_port(&host_port);
        let (host, port) = (CText::new(hostname), CText::new(port));
        Ok(Upstream {
            scheme: CText::from(String::from_utf8_lossy(&u.scheme).into_owned()),
            host,
            port,
            host_port: CText::from(host_port),
            url: CText::from(url),
        })
    }

    /// [`parse`](Self::parse), then the proxy acceptance rule: scheme and `Hostname()`
    /// non-empty, and a port, if present, a decimal number in 0..=65535.
    pub fn parse_for_proxy(input: &str) -> Result<Self> {
        let up = Self::parse(input)?;
        if up.scheme.is_empty() {
            return Err(invalid(input, "a proxy upstream needs a scheme"));
        }
        if up.host.is_empty() {
            return Err(invalid(input, "a proxy upstream needs a host"));
        }
        // Port() is all digits when non-empty; only its range is left to check.
        if !up.port.is_empty() && up.port.parse::<u16>().is_err() {
            return Err(invalid(
                input,
                &format!("port {} is not in 0..65535", quote(&up.port)),
            ));
        }
        Ok(up)
    }

    /// `u.Scheme`: lower-cased.
    pub fn scheme(&self) -> &CText {
        &self.scheme
    }

    /// `u.Hostname()`: no port, no brackets.
    pub fn host(&self) -> &CText {
        &self.host
    }

    /// `u.Port()`: empty when absent.
    pub fn port(&self) -> &CText {
        &self.port
    }

    /// `u.Host`: host and port as written, percent-decoded.
    pub fn host_port(&self) -> &CText {
        &self.host_port
    }

    /// `u.String()`.
    pub fn url(&self) -> &CText {
        &self.url
    }

    /// `Hostname()` as an IP address when it is one (IPv4, or IPv6 without a zone), by
    /// `net/netip`'s rules (so `010.0.0.1` is not one).
    pub fn host_ip(&self) -> Option<IpAddr> {
        match parse_addr(self.host.as_bytes()).ok()? {
            Addr::V4(b) => Some(IpAddr::V4(Ipv4Addr::from(b))),
            Addr::V6(b, false) => Some(IpAddr::V6(Ipv6Addr::from(b))),
            Addr::V6(_, true) => None,
        }
    }

    /// One byte of each view's buffer, folded (see `Route::warm_for_drop`).
    pub(crate) fn first_bytes(&self) -> usize {
        [
            &self.scheme,
            &self.host,
            &self.port,
            &self.host_port,
            &self.url,
        ]
        .into_iter()
        .map(|t| usize::from(t.first_byte()))
        .fold(0, usize::wrapping_add)
    }

    /// Heap bytes owned by this value.
    pub fn heap_bytes(&self) -> usize {
        self.scheme.heap_bytes()
            + self.host.heap_bytes()
            + self.port.heap_bytes()
            + self.host_port.heap_bytes()
            + self.url.heap_bytes()
    }
}

fn invalid(input: &str, why: &str) -> Error {
    Error::invalid(format!("invalid upstream URL {}: {why}", quote(input)))
}

/// Go's `splitHostPort` (the one behind `Hostname()` and `Port()`): a trailing `:digits` is
/// the port, and one pair of enclosing brackets is removed.
fn split_host_port(host_port: &str) -> (&str, &str) {
    let (mut host, mut port) = (host_port, "");
    if let Some(colon) = host.rfind(':') {
        if valid_optional_port(&host.as_bytes()[colon..]) {
            (host, port) = (&host_port[..colon], &host_port[colon + 1..]);
        }
    }
    if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        host = &host[1..host.len() - 1];
    }
    (host, port)
}

/// Go's reason for rejecting a URL (the text after `parse "<url>": `).
type GoResult<T> = std::result::Result<T, String>;

/// Quotes bytes for a reason as Go's `strconv.Quote` does (bytes that are not UTF-8 as `\xNN`;
/// non-ASCII characters are all taken as printable), cut like [`quote`] so that a hostile
/// input cannot make a message huge.
fn q(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let mut out = String::from("\"");
    let mut n = 0;
    'all: for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().chars().map(Ok);
        for item in valid.chain(chunk.invalid().iter().map(|&b| Err(b))) {
            if n == MAX {
                out.push_str("...");
                break 'all;
            }
            n += 1;
            let _ = match item {
                Ok('"') => write!(out, "\\\""),
                Ok('\\') => write!(out, "\\\\"),
                Ok('\x07') => write!(out, "\\a"),
                Ok('\x08') => write!(out, "\\b"),
                Ok('\x0c') => write!(out, "\\f"),
                Ok('\n') => write!(out, "\\n"),
                Ok('\r') => write!(out, "\\r"),
                Ok('\t') => write!(out, "\\t"),
                Ok('\x0b') => write!(out, "\\v"),
                Ok(c) if c < ' ' || c == '\x7f' => write!(out, "\\x{:02x}", c as u32),
                Ok(c) => write!(out, "{c}"),
                Err(b) => write!(out, "\\x{b:02x}"),
            };
        }
    }
    out.push('"');
    out
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

fn find(s: &[u8], c: u8) -> Option<usize> {
    s.iter().position(|&b| b == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The five views Go gives: scheme, Hostname(), Port(), Host, String().
    pub(in crate::upstream) fn views(u: &Upstream) -> [&str; 5] {
        [
            u.scheme().as_str(),
            u.host().as_str(),
            u.port().as_str(),
            u.host_port().as_str(),
            u.url().as_str(),
        ]
    }

    #[test]
    fn error_messages_name_the_input_and_the_reason() {
        let e = Upstream::parse("http://10.0.0.5:8a").unwrap_err();
        assert_eq!(
            e.message(),
            r#"invalid upstream URL "http://10.0.0.5:8a": invalid port ":8a" after host"#
        );
        let e = Upstream::parse_for_proxy("http://10.0.0.5:99999").unwrap_err();
        assert!(e.message().contains(r#""http://10.0.0.5:99999""#), "{e}");
        assert!(e.message().contains("0..65535"), "{e}");
        let e = Upstream::parse_for_proxy("http://:8080").unwrap_err();
        assert!(e.message().contains("host"), "{e}");
        let e = Upstream::parse_for_proxy("//h:80").unwrap_err();
        assert!(e.message().contains("scheme"), "{e}");
    }

    #[test]
    fn host_that_decodes_to_non_utf8_is_rejected() {
        // Go accepts these (Host "\xff"), but a view that is not UTF-8 cannot be a str.
        for input in ["http://%FF/", "http://h%C3/x"] {
            let e = Upstream::parse(input).unwrap_err();
            assert!(e.message().contains("UTF-8"), "{e}");
            assert!(e.message().contains(&quote(input)), "{e}");
        }
    }

    #[test]
    fn host_ip_reads_ipv4_and_ipv6_but_not_zones_or_names() {
        let ip = |s: &str| Upstream::parse(s).unwrap().host_ip();
        assert_eq!(ip("http://10.0.0.5:80"), Some(IpAddr::from([10, 0, 0, 5])));
        assert_eq!(ip("http://[::1]:80"), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(
            ip("http://[2001:db8::1:2.3.4.5]"),
            Some("2001:db8::1:203:405".parse().unwrap())
        );
        assert_eq!(ip("http://[fe80::1%25eth0]:80"), None);
        assert_eq!(ip("http://host.lan"), None);
        assert_eq!(ip("http://1.2.3"), None);
        assert_eq!(Upstream::empty().host_ip(), None);
    }

    #[test]
    fn empty_upstream_has_empty_views() {
        let e = Upstream::empty();
        assert_eq!(views(&e), [""; 5]);
        assert_eq!(e, Upstream::default());
        assert_eq!(e.heap_bytes(), 5); // five lone NULs
    }

    #[test]
    fn heap_bytes_counts_every_view_and_its_nul() {
        let u = Upstream::parse("http://h:1/p").unwrap();
        // "http" + "h" + "1" + "h:1" + "http://h:1/p", each with a NUL.
        assert_eq!(u.heap_bytes(), 5 + 2 + 2 + 4 + 13);
    }

    #[test]
    fn views_are_nul_terminated_for_c() {
        let u = Upstream::parse("https://Example.COM:8443/base").unwrap();
        assert_eq!(u.host().heap_bytes(), u.host().len() + 1);
        assert_eq!(u.url().heap_bytes(), u.url().len() + 1);
    }
}
