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
    /// UTF-8, containing a NUL byte, longer than [`MAX_DOMAIN_LEN`], nothing but dots, an
    /// empty label, or an ASCII character other than letters, digits, `-`, `_` and `.` (a
    /// scheme, port, path, space or wildcard): `RR_INVALID_ARGUMENT` naming the value.
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
        let lead = usize::from(s.starts_with('.'));
        let body = &s[lead..];
        let body = body.strip_suffix('.').unwrap_or(body);
        if body.bytes().all(|b| b == b'.') {
            return Err(bad("names no domain"));
        }
        // A domain name: labels of letters, digits, '-' and '_' (and non-ASCII, for names
        // written in UTF-8), so a URL, a port, a path or a wildcard is refused rather than
        // silently matching nothing.
        if let Some((at, c)) = body
            .char_indices()
            .find(|&(_, c)| c.is_ascii() && !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        {
            return Err(bad(&format!(
                "is not a domain name: {} at offset {} (give a name such as example.com, \
                 without scheme, port, path or wildcard)",
                quote(c.encode_utf8(&mut [0; 4])),
                lead + at
            )));
        }
        if body.split('.').any(str::is_empty) {
            return Err(bad("has an empty label (two dots in a row)"));
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

/// What one pass over a header found (see [`scan`]).
struct Scan {
    /// Every byte is ASCII and none is NUL: the header is valid UTF-8 without NUL.
    clean: bool,
    /// The header has a `:` (only then can a port be stripped).
    colon: bool,
    /// The header has a `*` (only then can a wildcard suffix be refused for one).
    star: bool,
    /// The first `.` in the header.
    first_dot: Option<usize>,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = ONES * 0x80;

/// The high bit of each byte of `w` that equals `c` (exact: no borrow crosses bytes).
#[inline(always)]
fn eq_mask(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    !(((x & !HIGH) + !HIGH) | x) & HIGH
}

/// One pass over a non-empty `header`, eight bytes at a time: whether it is plain ASCII
/// without NUL, whether it has a `:` or a `*`, and where its first `.` is. This replaces a
/// UTF-8 check, a NUL search, the port's colon search and the first-label dot search, each
/// of which walked the header byte by byte.
#[inline(always)]
fn scan(header: &[u8]) -> Scan {
    let len = header.len();
    let (mut bad, mut colon, mut star) = (0u64, 0u64, 0u64);
    let mut first_dot = None;
    let mut visit = |w: u64, valid: u64, at: usize| {
        bad |= ((w & HIGH) | eq_mask(w, 0)) & valid;
        colon |= eq_mask(w, b':') & valid;
        star |= eq_mask(w, b'*') & valid;
        if first_dot.is_none() {
            let dots = eq_mask(w, b'.') & valid;
            if dots != 0 {
                first_dot = Some(at + dots.trailing_zeros() as usize / 8);
            }
        }
    };
    let mut at = 0;
    while at + 8 <= len {
        visit(crate::host_index::word(header, at), HIGH, at);
        at += 8;
    }
    let rest = len - at;
    if rest > 0 {
        // The last `rest` bytes in the low bytes of a word, the rest of it zero and not valid.
        let w = if len >= 8 {
            crate::host_index::word(header, len - 8) >> (8 * (8 - rest))
        } else {
            crate::host_index::short_word(header)
        };
        visit(w, HIGH >> (8 * (8 - rest)), at);
    }
    Scan {
        clean: bad == 0,
        colon: colon != 0,
        star: star != 0,
        first_dot,
    }
}

/// Resolves a `Host` header to a route (see the module docs). Allocates nothing.
pub(crate) fn resolve(index: &Reader<'_>, header: &[u8]) -> Option<Arc<Route>> {
    if header.is_empty() || header.len() > MAX_HOST_HEADER_LEN {
        return None;
    }
    let scan = scan(header);
    // The whole header must be UTF-8 without NUL, including what a wildcard or the port
    // stripping skips. Plain ASCII (the usual case) is known from the scan; anything else is
    // checked in full before any lookup.
    if !scan.clean && (header.contains(&0) || std::str::from_utf8(header).is_err()) {
        return None;
    }
    let host = if scan.colon {
        strip_port(header)
    } else {
        header
    };
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    // The host's first dot: the header's when the host starts the header (no brackets).
    let dot = if host.as_ptr() == header.as_ptr() {
        scan.first_dot.filter(|&d| d < host.len())
    } else {
        find(host, b'.')
    };
    by_key(index, index.domains(), host, dot).or_else(|| {
        let dot = dot?;
        index.get_wildcard(&host[dot + 1..], scan.star)
    })
}

fn by_key(
    index: &Reader<'_>,
    domains: &RouteDomains,
    host: &[u8],
    dot: Option<usize>,
) -> Option<Arc<Route>> {
    if domains.is_empty() {
        return index.get(host).or_else(|| {
            // No dot: the first label is the host itself, already tried.
            index.get(&host[..dot?])
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
    fn one_pass_scan_agrees_with_byte_by_byte_checks() {
        let alphabet = [b'a', b'.', b':', b'*', 0, 0x80, 0xff, b'Z', b'[', b']'];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in 1..=40 {
            for _ in 0..300 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Mostly plain letters and dots, so that clean headers are common.
                        let r = (state % 40) as usize;
                        if r < alphabet.len() {
                            alphabet[r]
                        } else if r % 3 == 0 {
                            b'.'
                        } else {
                            b'x'
                        }
                    })
                    .collect();
                let got = scan(&bytes);
                assert_eq!(
                    got.clean,
                    bytes.iter().all(|&b| b != 0 && b < 0x80),
                    "{bytes:?}"
                );
                assert_eq!(got.colon, bytes.contains(&b':'), "{bytes:?}");
                assert_eq!(got.star, bytes.contains(&b'*'), "{bytes:?}");
                assert_eq!(got.first_dot, find(&bytes, b'.'), "{bytes:?}");
            }
        }
    }

    #[test]
    fn domains_are_normalized_and_checked() {
        let d = RouteDomains::parse(&[
            "example.com",
            ".Sub.Example.COM.",
            "x.",
            "my_lan",
            "bücher.de",
        ])
        .unwrap();
        assert_eq!(
            d.iter().collect::<Vec<_>>(),
            [
                ".example.com",
                ".sub.example.com",
                ".x",
                ".my_lan",
                ".bücher.de"
            ]
        );
        for (bad, why) in [
            (&b""[..], "is empty"),
            (b".", "names no domain"),
            (b"..", "names no domain"),
            (b"...", "names no domain"),
            (b".....", "names no domain"),
            (b"a\0b", "NUL"),
            (b"\xff", "not valid UTF-8"),
            (b"example.com:443", "\":\" at offset 11"),
            (b"exa mple.com", "\" \" at offset 3"),
            (b"*.example.com", "\"*\" at offset 0"),
            (b"example.com/", "\"/\" at offset 11"),
            (b"http://example.com", "\":\" at offset 4"),
            (b"a..b", "empty label"),
            (b"..a", "empty label"),
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
