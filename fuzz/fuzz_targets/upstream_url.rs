//! Upstream URL parser: `Upstream::parse` and `parse_for_proxy` on any UTF-8 text.
//!
//! Properties (a violation aborts, so libFuzzer records it as a crash):
//! - neither function panics; an error message is non-empty and bounded (< 1 KiB);
//! - `parse_for_proxy` accepts exactly what the vectors' rule accepts (restated here from
//!   `shared/testdata/upstream_urls.json`'s `about`): Go parses it, scheme and host are
//!   non-empty, and a port, if present, is decimal in 0..=65535. An accepted URL has the same
//!   views as `parse` gives, a lower-case ASCII scheme and a non-empty host;
//! - `Host` (host_port) is `Hostname()` (bracketed or not), then `:` and `Port()` if any;
//! - `String()` round-trips: parsing `url()` again gives the same five views.
#![no_main]

use libfuzzer_sys::fuzz_target;
use route_registry::Upstream;

fn views(u: &Upstream) -> [&str; 5] {
    [
        u.scheme().as_str(),
        u.host().as_str(),
        u.port().as_str(),
        u.host_port().as_str(),
        u.url().as_str(),
    ]
}

/// The vectors' acceptance rule for the port: empty, or decimal digits with value <= 65535
/// (leading zeros allowed: Go's `Port()` keeps them and `strconv` reads them).
fn port_ok(port: &str) -> bool {
    if port.is_empty() {
        return true;
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let significant = port.trim_start_matches('0');
    significant.len() <= 5 && significant.parse::<u32>().unwrap_or(0) <= 65535
}

fn scheme_ok(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'+' | b'-' | b'.'))
}

fn check_host_port(u: &Upstream) {
    let [_, host, port, host_port, _] = views(u);
    let candidates: Vec<String> = if port.is_empty() {
        // `host:` and `[::1]:` have an empty Port() and keep the colon in Host.
        vec![
            host.to_string(),
            format!("[{host}]"),
            format!("{host}:"),
            format!("[{host}]:"),
        ]
    } else {
        vec![format!("{host}:{port}"), format!("[{host}]:{port}")]
    };
    assert!(
        candidates.iter().any(|c| c == host_port),
        "host_port {host_port:?} does not match host {host:?} and port {port:?}"
    );
    if !port.is_empty() {
        assert!(port.bytes().all(|b| b.is_ascii_digit()), "port {port:?}");
    }
}

/// Whether the host is a bracketed IPv6 address whose zone holds a non-ASCII character.
fn zone_has_non_ascii(u: &Upstream) -> bool {
    u.host_port().starts_with('[')
        && u.host()
            .split_once('%')
            .is_some_and(|(_, zone)| !zone.is_ascii())
}

/// Whether the host is empty and String() (after any `scheme:`) starts with "//" but not
/// "///": a path that Go's String() turns into an authority.
fn path_reads_as_authority(u: &Upstream) -> bool {
    let url = u.url().as_str();
    let rest = url
        .strip_prefix(&format!("{}:", u.scheme().as_str()))
        .unwrap_or(url);
    u.host_port().is_empty() && rest.starts_with("//") && !rest.starts_with("///")
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Upstream::parse(input);
    let proxy = Upstream::parse_for_proxy(input);
    for e in [parsed.as_ref().err(), proxy.as_ref().err()]
        .into_iter()
        .flatten()
    {
        assert!(!e.message().is_empty(), "empty error message for {input:?}");
        assert!(
            e.message().len() < 1024,
            "error message of {} bytes",
            e.message().len()
        );
    }
    let Ok(u) = &parsed else {
        assert!(
            proxy.is_err(),
            "parse_for_proxy accepted what parse rejects: {input:?}"
        );
        return;
    };
    let [scheme, host, port, _, url] = views(u);
    let accept = !scheme.is_empty() && !host.is_empty() && port_ok(port);
    assert_eq!(proxy.is_ok(), accept, "{input:?} -> {:?}", views(u));
    if let Ok(p) = &proxy {
        assert_eq!(p, u, "parse_for_proxy and parse disagree on {input:?}");
        assert!(scheme_ok(scheme), "scheme {scheme:?} of {input:?}");
        assert!(!host.is_empty());
    }
    if !scheme.is_empty() {
        assert!(scheme_ok(scheme), "scheme {scheme:?} of {input:?}");
    }
    check_host_port(u);

    // Go's String() is a fixed point of Parse for what we accept: same views again.
    // Excluded class (Go 1.26 does not round-trip it either, checked with `go run`):
    // a non-ASCII character in an IPv6 zone. String() escapes it as %XX (host mode), but
    // Parse rejects %XX of a non-ASCII byte in a zone ("invalid URL escape"), e.g.
    // "http://[fe80::1%25eé]/" -> "http://[fe80::1%25e%C3%A9]/" -> error.
    //
    // Second excluded class (also checked with Go 1.26): no host, and a path that decodes to
    // something starting with "//" but that String() must re-escape (its raw form is not
    // reused), so String() starts with "//" and reads back as an authority:
    // "%2f%2f``" -> "//%60%60" -> error; "http:/%2f``" -> "http://%60%60" -> error;
    // "/%2fa%3a1`" -> "//a:1%60" -> error.
    if zone_has_non_ascii(u) || path_reads_as_authority(u) {
        return;
    }
    let again = Upstream::parse(url)
        .unwrap_or_else(|e| panic!("url() {url:?} of {input:?} does not re-parse: {e}"));
    assert_eq!(
        views(&again),
        views(u),
        "round trip of {input:?} via {url:?}"
    );
});
