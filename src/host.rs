//! Host resolution: a request's `Host` header to an HTTP route, with the rules of GoDoxy's
//! entrypoint (`findRouteAnyDomain`, `findRouteByDomains`, its wildcard index):
//!
//! 1. The port is removed as Go's `net.SplitHostPort` does ([`strip_port`]); when that fails
//!    the host is used as it is. Then one trailing dot is removed. Empty: a miss.
//! 2. No domains configured: the route whose key is the host; else the one whose key is the
//!    host's first label (`app1.sub.example.com` → `app1`). Domains configured: for each
//!    domain in order that the host ends with, the route whose key is the part before it
//!    (`a.b.example.com` → `a.b`); else the route whose key is the whole host.
//! 3. Else the wildcard: the route whose key is `*.<suffix>`, where `<suffix>` is the part of
//!    the host after its first label (and contains no `*`).
//!
//! Hosts, keys and domains compare ASCII-case-insensitively, and keys ignore one trailing dot
//! as hosts do (GoDoxy compares exactly, except for wildcard keys). Several routes whose keys
//! are equal that way compete by priority, then the later-added wins (see `host_index.rs`).
//! A header that is not valid UTF-8, contains a NUL byte, or is longer than
//! [`MAX_HOST_HEADER_LEN`] is a miss. Only the HTTP pool is searched.

use crate::error::{quote, Error, Result};
use crate::host_index::Reader;
use crate::route::Route;
use std::sync::Arc;

/// The longest domain accepted by [`RouteDomains::parse`] (a DNS name is at most 253 bytes,
/// 255 with the leading and trailing dots).
pub const MAX_DOMAIN_LEN: usize = 255;

/// The longest `Host` header that can match: a DNS name is at most 253 bytes, so anything
/// longer than this (with a port, brackets, a trailing dot) is hostile and is a miss without
/// being scanned.
pub const MAX_HOST_HEADER_LEN: usize = 1024;

/// The host part of `hostport` as Go's `net.SplitHostPort` returns it (`app:8080` → `app`,
/// `[::1]:80` → `::1`), or `hostport` unchanged when Go would return an error (no port, too
/// many colons, misplaced brackets: `[::1]`, `::1`, `a]:1`).
pub fn strip_port(hostport: &[u8]) -> &[u8] {
    split_host(hostport).unwrap_or(hostport)
}

fn find(s: &[u8], b: u8) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// Go 1.26's `net.SplitHostPort`, host part only; `None` where Go returns an error.
fn split_host(hp: &[u8]) -> Option<&[u8]> {
    // The port starts after the last colon.
    let i = hp.iter().rposition(|&c| c == b':')?;
    let (host, j, k) = if hp[0] == b'[' {
        // Expect the first ']' just before the last ':'.
        let end = find(hp, b']')?;
        if end + 1 != i {
            return None;
        }
        (&hp[1..end], 1, end + 1)
    } else {
        let host = &hp[..i];
        if find(host, b':').is_some() {
            return None;
        }
        (host, 0, 0)
    };
    if find(&hp[j..], b'[').is_some() || find(&hp[k..], b']').is_some() {
        return None;
    }
    Some(host)
}

/// The host a `Host` header names, before matching: port removed as Go does, then one
/// trailing dot removed. Empty when nothing is left.
pub fn normalize_host(header: &[u8]) -> &[u8] {
    let host = strip_port(header);
    host.strip_suffix(b".").unwrap_or(host)
}

/// The configured domain suffixes, each stored ASCII-lowercased with one leading dot and
/// without a trailing dot (`Example.com.` → `.example.com`), in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteDomains {
    list: Vec<Box<str>>,
}

impl RouteDomains {
    /// Checks and normalizes `domains` (each with or without its leading dot). Empty, not
    /// UTF-8, containing a NUL byte, longer than [`MAX_DOMAIN_LEN`], or nothing but dots:
    /// `RR_INVALID_ARGUMENT` naming the value.
    pub fn parse<S: AsRef<[u8]>>(domains: &[S]) -> Result<Self> {
        let mut list = Vec::with_capacity(domains.len());
        for (i, d) in domains.iter().enumerate() {
            list.push(Self::parse_one(i, d.as_ref())?);
        }
        Ok(RouteDomains { list })
    }

    fn parse_one(i: usize, bytes: &[u8]) -> Result<Box<str>> {
        let s = std::str::from_utf8(bytes).map_err(|e| {
            let shown = &bytes[..bytes.len().min(64)];
            Error::invalid(format!(
                "domain {i} \"{}\"{} is not valid UTF-8 (bad byte at offset {})",
                shown.escape_ascii(),
                if bytes.len() > 64 { "..." } else { "" },
                e.valid_up_to()
            ))
        })?;
        let bad = |why: &str| Error::invalid(format!("domain {i} {} {why}", quote(s)));
        if s.is_empty() {
            return Err(bad("is empty"));
        }
        if let Some(at) = s.find('\0') {
            return Err(bad(&format!("contains a NUL byte (at offset {at})")));
        }
        if s.len() > MAX_DOMAIN_LEN {
            return Err(bad(&format!(
                "is longer than {MAX_DOMAIN_LEN} bytes ({})",
                s.len()
            )));
        }
        let body = s.strip_prefix('.').unwrap_or(s);
        let body = body.strip_suffix('.').unwrap_or(body);
        if body.bytes().all(|b| b == b'.') {
            return Err(bad("names no domain"));
        }
        Ok(format!(".{}", body.to_ascii_lowercase()).into_boxed_str())
    }

    /// The domains as stored (leading dot, lowercase), in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|d| &**d)
    }

    /// Whether no domain is configured.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Resolves a `Host` header to a route (see the module docs). Allocates nothing.
pub(crate) fn resolve(index: &Reader<'_>, header: &[u8]) -> Option<Arc<Route>> {
    if header.len() > MAX_HOST_HEADER_LEN {
        return None;
    }
    let host = normalize_host(header);
    if host.is_empty() {
        return None;
    }
    let found = by_key(index, index.domains(), host).or_else(|| by_wildcard(index, host))?;
    // A hit proves only that the matched part is UTF-8 without NUL (index names are); the
    // whole header must be, including what a wildcard or the port stripping skipped.
    if std::str::from_utf8(header).is_err() || header.contains(&0) {
        return None;
    }
    Some(found)
}

fn by_key(index: &Reader<'_>, domains: &RouteDomains, host: &[u8]) -> Option<Arc<Route>> {
    if domains.is_empty() {
        return index.get(host).or_else(|| {
            // No dot: the first label is the host itself, already tried.
            let dot = find(host, b'.')?;
            index.get(&host[..dot])
        });
    }
    for d in domains.list.iter() {
        let d = d.as_bytes();
        if host.len() > d.len() && host[host.len() - d.len()..].eq_ignore_ascii_case(d) {
            if let Some(r) = index.get(&host[..host.len() - d.len()]) {
                return Some(r);
            }
        }
    }
    index.get(host)
}

fn by_wildcard(index: &Reader<'_>, host: &[u8]) -> Option<Arc<Route>> {
    let dot = find(host, b'.')?;
    index.get_wildcard(&host[dot + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_stripped_as_go_split_host_port_does() {
        let cases: &[(&str, &str)] = &[
            ("app.example.com:8443", "app.example.com"),
            ("app:", "app"),
            ("[::1]:80", "::1"),
            ("[fe80::1%eth0]:80", "fe80::1%eth0"),
            ("[::1]", "[::1]"),
            ("::1", "::1"),
            ("app", "app"),
            (":8080", ""),
            ("a:b:c", "a:b:c"),
            ("[a]b:1", "[a]b:1"),
            ("[a]:1:2", "[a]:1:2"),
            ("a]:1", "a]:1"),
            ("a[:1", "a[:1"),
            ("[[a]:1", "[[a]:1"),
            ("[a]]:1", "[a]]:1"),
            ("[]:1", ""),
        ];
        for (input, want) in cases {
            assert_eq!(
                strip_port(input.as_bytes()),
                want.as_bytes(),
                "strip_port({input:?})"
            );
        }
    }

    #[test]
    fn domains_are_normalized_and_checked() {
        let d = RouteDomains::parse(&["example.com", ".Sub.Example.COM.", "x."]).unwrap();
        assert_eq!(
            d.iter().collect::<Vec<_>>(),
            [".example.com", ".sub.example.com", ".x"]
        );
        for (bad, why) in [
            (&b""[..], "is empty"),
            (b".", "names no domain"),
            (b"..", "names no domain"),
            (b"...", "names no domain"),
            (b".....", "names no domain"),
            (b"a\0b", "NUL"),
            (b"\xff", "not valid UTF-8"),
        ] {
            let e = RouteDomains::parse(&[&b"ok.com"[..], bad]).unwrap_err();
            assert!(
                e.message().starts_with("domain 1 ") && e.message().contains(why),
                "{}",
                e.message()
            );
        }
        let long = "a".repeat(MAX_DOMAIN_LEN + 1);
        assert!(RouteDomains::parse(&[long]).is_err());
    }
}
