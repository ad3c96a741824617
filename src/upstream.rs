//! Upstream URLs, read exactly as Go's `net/url` (Go 1.26) reads them.
//!
//! The Go side of the project compares what this library reports with what `url.Parse` gives
//! for the same string, so this is a port of `net/url` (and of the `net/netip` address parser
//! that it calls for bracketed hosts), not a WHATWG parser: no default-port dropping, no
//! trailing slash, no IDNA. Only what `Parse`, `Hostname()`, `Port()`, `Host` and `String()`
//! need is ported. Go strings are bytes, so the port works on `&[u8]` throughout and turns
//! results into `str` at the end.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

// ---------------------------------------------------------------------------------------------
// net/url
// ---------------------------------------------------------------------------------------------

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

/// The `net/url` encoding modes that `Parse` and `String` use (Go also has PathSegment and
/// QueryComponent, used only by its escaping helpers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape` (from `gen_encoding_table.go`).
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            // Host and Zone fall through to "escape" (their allowed ones returned above).
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Go's `setPath`/`setFragment`: the decoded form, and the raw form only when re-escaping the
/// decoded form would not give the input back.
fn decode_with_raw(input: &[u8], mode: Mode) -> GoResult<(Vec<u8>, Vec<u8>)> {
    let decoded = unescape(input, mode)?;
    let raw = if escape(&decoded, mode) == input {
        Vec::new()
    } else {
        input.to_vec()
    };
    Ok((decoded, raw))
}

/// Whether the raw form is usable: set, validly encoded, and decoding to `decoded`.
fn raw_matches(raw: &[u8], decoded: &[u8], mode: Mode) -> bool {
    !raw.is_empty() && valid_encoded(raw, mode) && unescape(raw, mode).is_ok_and(|d| d == decoded)
}

/// Go's `EscapedPath`/`EscapedFragment`: the raw form when it matches, else the escaped one.
fn escaped_with_raw(decoded: &[u8], raw: &[u8], mode: Mode) -> Vec<u8> {
    if raw_matches(raw, decoded, mode) {
        raw.to_vec()
    } else {
        escape(decoded, mode)
    }
}

/// Go's `unescape` for the modes above (there `+` stays `+`).
fn unescape(s: &[u8], mode: Mode) -> GoResult<Vec<u8>> {
    let escape_error = |bad: &[u8]| format!("invalid URL escape {}", q(bad));
    let mut n = 0;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'%' {
            n += 1;
            if i + 2 >= s.len() || !s[i + 1].is_ascii_hexdigit() || !s[i + 2].is_ascii_hexdigit() {
                return Err(escape_error(&s[i..s.len().min(i + 3)]));
            }
            let esc = &s[i..i + 3];
            // RFC 3986: a host may %-encode only non-ASCII bytes, except RFC 6874's %25
            // that introduces an IPv6 zone.
            if mode == Mode::Host && unhex(s[i + 1]) < 8 && esc != b"%25" {
                return Err(escape_error(esc));
            }
            // A zone may escape only what it could also hold literally (or a space).
            if mode == Mode::Zone {
                let v = unhex(s[i + 1]) << 4 | unhex(s[i + 2]);
                if esc != b"%25" && v != b' ' && should_escape(v, Mode::Host) {
                    return Err(escape_error(esc));
                }
            }
            i += 3;
        } else {
            if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                return Err(format!("invalid character {} in host name", q(&[c])));
            }
            i += 1;
        }
    }
    if n == 0 {
        return Ok(s.to_vec());
    }
    let mut t = Vec::with_capacity(s.len() - 2 * n);
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            t.push(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 3;
        } else {
            t.push(s[i]);
            i += 1;
        }
    }
    Ok(t)
}

/// Go's `escape` for the modes above.
fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
    const UPPERHEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = Vec::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            t.extend_from_slice(&[
                b'%',
                UPPERHEX[usize::from(c >> 4)],
                UPPERHEX[usize::from(c & 15)],
            ]);
        } else {
            t.push(c);
        }
    }
    t
}

/// Go's `validEncoded`: no byte of `s` would be escaped by `escape` (sub-delims, `:`, `@`,
/// brackets and `%` are let through).
fn valid_encoded(s: &[u8], mode: Mode) -> bool {
    s.iter().all(|&c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, mode)
    })
}

/// Go's `validOptionalPort`: empty, or `:` followed by digits only (maybe none).
fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// Go's `validUserinfo` (RFC 3986 §3.2.1, plus `@`). Non-ASCII is never valid.
fn valid_userinfo(s: &[u8]) -> bool {
    s.iter().all(|&c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b':'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'@'
            )
    })
}

fn find(s: &[u8], c: u8) -> Option<usize> {
    s.iter().position(|&b| b == c)
}

fn rfind(s: &[u8], c: u8) -> Option<usize> {
    s.iter().rposition(|&b| b == c)
}

/// `(before, Some(after))` around the first `c`, or `(s, None)`.
fn cut(s: &[u8], c: u8) -> (&[u8], Option<&[u8]>) {
    match find(s, c) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// Go's `Userinfo`: a username and an optional password, both decoded.
struct Userinfo {
    username: Vec<u8>,
    password: Option<Vec<u8>>,
}

/// Go's `url.URL`, fields decoded or raw as Go keeps them.
#[derive(Default)]
struct GoUrl {
    scheme: Vec<u8>,
    opaque: Vec<u8>,
    user: Option<Userinfo>,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_path: Vec<u8>,
    fragment: Vec<u8>,
    raw_fragment: Vec<u8>,
    raw_query: Vec<u8>,
    force_query: bool,
    omit_host: bool,
}

/// Go's `getScheme`: `scheme:rest` when `raw` starts with `[a-zA-Z][a-zA-Z0-9+.-]*:`.
fn get_scheme(raw: &[u8]) -> GoResult<(&[u8], &[u8])> {
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok((b"", raw)),
        }
    }
    Ok((b"", raw))
}

impl GoUrl {
    /// Go's `url.Parse`.
    fn parse(raw: &[u8]) -> GoResult<GoUrl> {
        let (u, frag) = cut(raw, b'#');
        let mut url = Self::parse_reference(u)?;
        // The fragment is outside the control-character check: Go escapes it instead.
        if let Some(frag) = frag.filter(|f| !f.is_empty()) {
            url.set_fragment(frag)?;
        }
        Ok(url)
    }

    /// Go's `parse(rawURL, viaRequest=false)`.
    fn parse_reference(raw: &[u8]) -> GoResult<GoUrl> {
        if raw.iter().any(|&b| b < b' ' || b == 0x7f) {
            return Err("net/url: invalid control character in URL".into());
        }
        let mut url = GoUrl::default();
        if raw == b"*" {
            url.path = b"*".to_vec();
            return Ok(url);
        }
        let (scheme, mut rest) = get_scheme(raw)?;
        url.scheme = scheme.to_ascii_lowercase();

        // A lone trailing `?` is kept (ForceQuery) so that String() gives it back.
        if rest.ends_with(b"?") && rest.iter().filter(|&&b| b == b'?').count() == 1 {
            url.force_query = true;
            rest = &rest[..rest.len() - 1];
        } else if let (before, Some(query)) = cut(rest, b'?') {
            url.raw_query = query.to_vec();
            rest = before;
        }

        if !rest.starts_with(b"/") {
            if !url.scheme.is_empty() {
                // Rootless paths are opaque (RFC 3986), e.g. `mailto:x@y`.
                url.opaque = rest.to_vec();
                return Ok(url);
            }
            // Otherwise `cache_object:foo/bar`-like input would be taken for a relative path.
            if cut(rest, b'/').0.contains(&b':') {
                return Err("first path segment in URL cannot contain colon".into());
            }
        }

        if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
            let mut authority = &rest[2..];
            rest = b"";
            if let Some(i) = find(authority, b'/') {
                (authority, rest) = (&authority[..i], &authority[i..]);
            }
            let (user, host) = parse_authority(&url.scheme, authority)?;
            url.user = user;
            url.host = host;
        } else if !url.scheme.is_empty() && rest.starts_with(b"/") {
            // `scheme:/path`: String() must not add `//`.
            url.omit_host = true;
        }
        url.set_path(rest)?;
        Ok(url)
    }

    /// Path decoded; RawPath only when the default re-escaping would differ from the input.
    fn set_path(&mut self, p: &[u8]) -> GoResult<()> {
        (self.path, self.raw_path) = decode_with_raw(p, Mode::Path)?;
        Ok(())
    }

    fn escaped_path(&self) -> Vec<u8> {
        if self.path == b"*" && !raw_matches(&self.raw_path, &self.path, Mode::Path) {
            return b"*".to_vec(); // Go issue 11202
        }
        escaped_with_raw(&self.path, &self.raw_path, Mode::Path)
    }

    fn set_fragment(&mut self, f: &[u8]) -> GoResult<()> {
        (self.fragment, self.raw_fragment) = decode_with_raw(f, Mode::Fragment)?;
        Ok(())
    }

    fn escaped_fragment(&self) -> Vec<u8> {
        escaped_with_raw(&self.fragment, &self.raw_fragment, Mode::Fragment)
    }

    /// Go's `URL.String()`.
    fn to_go_string(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        if !self.scheme.is_empty() {
            buf.extend_from_slice(&self.scheme);
            buf.push(b':');
        }
        if !self.opaque.is_empty() {
            buf.extend_from_slice(&self.opaque);
        } else {
            let has_user = self.user.is_some();
            let authority_form = !self.scheme.is_empty() || !self.host.is_empty() || has_user;
            // `scheme:/path` (OmitHost) gets no `//`.
            let omit = self.omit_host && self.host.is_empty() && !has_user;
            if authority_form && !omit {
                if !self.host.is_empty() || !self.path.is_empty() || has_user {
                    buf.extend_from_slice(b"//");
                }
                if let Some(ui) = &self.user {
                    buf.extend(escape(&ui.username, Mode::UserPassword));
                    if let Some(pw) = &ui.password {
                        buf.push(b':');
                        buf.extend(escape(pw, Mode::UserPassword));
                    }
                    buf.push(b'@');
                }
                buf.extend(escape(&self.host, Mode::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && path[0] != b'/' && !self.host.is_empty() {
                buf.push(b'/');
            }
            // RFC 3986 §4.2: a first segment with a colon would read as a scheme.
            if buf.is_empty() && cut(&path, b'/').0.contains(&b':') {
                buf.extend_from_slice(b"./");
            }
            buf.extend(path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push(b'?');
            buf.extend_from_slice(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push(b'#');
            buf.extend(self.escaped_fragment());
        }
        buf
    }
}

/// Go's `parseAuthority`: `[userinfo@]host[:port]`, split at the last `@`.
fn parse_authority(scheme: &[u8], authority: &[u8]) -> GoResult<(Option<Userinfo>, Vec<u8>)> {
    let at = rfind(authority, b'@');
    let host = parse_host(scheme, at.map_or(authority, |i| &authority[i + 1..]))?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let userinfo = &authority[..i];
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match cut(userinfo, b':') {
        (name, None) => Userinfo {
            username: unescape(name, Mode::UserPassword)?,
            password: None,
        },
        (name, Some(pw)) => Userinfo {
            username: unescape(name, Mode::UserPassword)?,
            password: Some(unescape(pw, Mode::UserPassword)?),
        },
    };
    Ok((Some(user), host))
}

/// Go's `parseHost`: `host[:port]` or `[ipv6[%25zone]][:port]`, decoded.
fn parse_host(scheme: &[u8], host: &[u8]) -> GoResult<Vec<u8>> {
    match rfind(host, b'[') {
        Some(0) => return parse_ip_literal(host),
        Some(_) => return Err("invalid IP-literal".into()),
        None => {}
    }
    if let Some(first) = find(host, b':') {
        // Go 1.26 (`urlstrictcolons=1`, the default) allows more than one colon only outside
        // http and https (e.g. database URLs listing several hosts); there the port is after
        // the last one.
        let mut i = first;
        if scheme != b"http" && scheme != b"https" {
            i = rfind(host, b':').unwrap_or(first);
        }
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", q(colon_port)));
        }
    }
    unescape(host, Mode::Host)
}

/// The `[...]` branch of Go's `parseHost` (RFC 3986 and RFC 6874).
fn parse_ip_literal(host: &[u8]) -> GoResult<Vec<u8>> {
    let Some(close) = rfind(host, b']') else {
        return Err("missing ']' in host".into());
    };
    let colon_port = &host[close + 1..];
    if !valid_optional_port(colon_port) {
        return Err(format!("invalid port {} after host", q(colon_port)));
    }
    let colon_port = unescape(colon_port, Mode::Host)?;

    // After %25 comes the zone, which may %-encode more than a host may.
    let hostname = &host[1..close];
    let mut unescaped = match hostname.windows(3).position(|w| w == b"%25") {
        Some(z) => {
            let mut h = unescape(&hostname[..z], Mode::Host)?;
            h.extend(unescape(&hostname[z..], Mode::Zone)?);
            h
        }
        None => unescape(hostname, Mode::Host)?,
    };

    // Only an IPv6 address may be bracketed (IPv4-mapped IPv6 is still IPv6).
    match parse_addr(&unescaped) {
        Err(why) => return Err(format!("invalid host: {why}")),
        Ok(Addr::V4(_)) => return Err("invalid IP-literal".into()),
        Ok(Addr::V6(..)) => {}
    }
    unescaped.insert(0, b'[');
    unescaped.push(b']');
    unescaped.extend(colon_port);
    Ok(unescaped)
}

// ---------------------------------------------------------------------------------------------
// net/netip's ParseAddr
// ---------------------------------------------------------------------------------------------

/// An address as `netip.ParseAddr` returns it; for IPv6, whether it has a zone.
#[derive(Debug, PartialEq, Eq)]
enum Addr {
    V4([u8; 4]),
    V6([u8; 16], bool),
}

/// `netip.parseAddrError`'s text; `at` is the unparsed rest where Go reports one.
fn addr_error(input: &[u8], msg: &str, at: &[u8]) -> String {
    if at.is_empty() {
        format!("ParseAddr({}): {msg}", q(input))
    } else {
        format!("ParseAddr({}): {msg} (at {})", q(input), q(at))
    }
}

/// Go's `netip.ParseAddr`: the first `.`, `:` or `%` decides the form.
fn parse_addr(s: &[u8]) -> GoResult<Addr> {
    for &c in s {
        match c {
            b'.' => {
                let mut fields = [0u8; 4];
                parse_ipv4_fields(s, 0, s.len(), &mut fields)?;
                return Ok(Addr::V4(fields));
            }
            b':' => return parse_ipv6(s),
            b'%' => return Err(addr_error(s, "missing IPv6 address", b"")),
            _ => {}
        }
    }
    Err(addr_error(s, "unable to parse IP", b""))
}

/// Go's `parseIPv4Fields`: strict dotted decimal (no leading zeros, exactly four fields) in
/// `input[off..end]`.
fn parse_ipv4_fields(input: &[u8], off: usize, end: usize, fields: &mut [u8]) -> GoResult<()> {
    let s = &input[off..end];
    let (mut val, mut pos, mut dig_len) = (0u32, 0usize, 0);
    for (i, &c) in s.iter().enumerate() {
        if c.is_ascii_digit() {
            if dig_len == 1 && val == 0 {
                return Err(addr_error(
                    input,
                    "IPv4 field has octet with leading zero",
                    b"",
                ));
            }
            val = val * 10 + u32::from(c - b'0');
            dig_len += 1;
            if val > 255 {
                return Err(addr_error(input, "IPv4 field has value >255", b""));
            }
        } else if c == b'.' {
            if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' {
                return Err(addr_error(
                    input,
                    "IPv4 field must have at least one digit",
                    &s[i..],
                ));
            }
            if pos == 3 {
                return Err(addr_error(input, "IPv4 address too long", b""));
            }
            fields[pos] = val as u8; // val <= 255, checked above
            pos += 1;
            val = 0;
            dig_len = 0;
        } else {
            return Err(addr_error(input, "unexpected character", &s[i..]));
        }
    }
    if pos < 3 {
        return Err(addr_error(input, "IPv4 address too short", b""));
    }
    fields[3] = val as u8;
    Ok(())
}

/// Go's `parseIPv6`: groups of up to four hex digits, one `::`, an optional embedded IPv4 at
/// the end, and an optional non-empty `%zone`.
fn parse_ipv6(input: &[u8]) -> GoResult<Addr> {
    let mut s = input;
    let mut zone: &[u8] = b"";
    if let Some(i) = find(s, b'%') {
        (s, zone) = (&s[..i], &s[i + 1..]);
        if zone.is_empty() {
            return Err(addr_error(input, "zone must be a non-empty string", b""));
        }
    }
    let has_zone = !zone.is_empty();
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;

    if s.starts_with(b"::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Ok(Addr::V6(ip, has_zone));
        }
    }

    let mut i = 0;
    while i < 16 {
        let mut off = 0;
        let mut acc = 0u32;
        while off < s.len() {
            let c = s[off];
            if !c.is_ascii_hexdigit() {
                break;
            }
            acc = (acc << 4) + u32::from(unhex(c));
            if off > 3 {
                return Err(addr_error(
                    input,
                    "each group must have 4 or less digits",
                    s,
                ));
            }
            if acc > 0xffff {
                return Err(addr_error(input, "IPv6 field has value >=2^16", s));
            }
            off += 1;
        }
        if off == 0 {
            return Err(addr_error(
                input,
                "each colon-separated field must have at least one digit",
                s,
            ));
        }

        if off < s.len() && s[off] == b'.' {
            if ellipsis.is_none() && i != 12 {
                return Err(addr_error(
                    input,
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    s,
                ));
            }
            if i + 4 > 16 {
                return Err(addr_error(
                    input,
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    s,
                ));
            }
            let end = if has_zone {
                input.len() - zone.len() - 1
            } else {
                input.len()
            };
            parse_ipv4_fields(input, end - s.len(), end, &mut ip[i..i + 4])?;
            s = b"";
            i += 4;
            break;
        }

        ip[i] = (acc >> 8) as u8;
        ip[i + 1] = acc as u8;
        i += 2;

        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' {
            return Err(addr_error(input, "unexpected character, want colon", s));
        } else if s.len() == 1 {
            return Err(addr_error(
                input,
                "colon must be followed by more characters",
                s,
            ));
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return Err(addr_error(input, "multiple :: in address", s));
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }

    if !s.is_empty() {
        return Err(addr_error(input, "trailing garbage after address", s));
    }
    if i < 16 {
        let Some(e) = ellipsis else {
            return Err(addr_error(input, "address string too short", b""));
        };
        let n = 16 - i;
        ip.copy_within(e..i, e + n);
        ip[e..e + n].fill(0);
    } else if ellipsis.is_some() {
        return Err(addr_error(
            input,
            "the :: must expand to at least one field of zeros",
            b"",
        ));
    }
    Ok(Addr::V6(ip, has_zone))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;

    /// Go 1.26's answer for a valid URL: [scheme, Hostname(), Port(), Host, String()], the
    /// Hostname as netip prints it when it is an address without zone (else ""), and whether
    /// the proxy accepts it.
    enum Go {
        Ok([&'static str; 5], &'static str, bool),
        /// Go's reason (the `url.Error`'s inner error text).
        Err(&'static str),
    }

    fn ok(views: [&'static str; 5], ip: &'static str, accept: bool) -> Go {
        Go::Ok(views, ip, accept)
    }

    fn err(reason: &'static str) -> Go {
        Go::Err(reason)
    }

    fn views(u: &Upstream) -> [&str; 5] {
        [
            u.scheme().as_str(),
            u.host().as_str(),
            u.port().as_str(),
            u.host_port().as_str(),
            u.url().as_str(),
        ]
    }

    fn check(input: &str, want: Go) {
        let named = quote(input);
        match want {
            Go::Ok(want_views, ip, accept) => {
                let u = Upstream::parse(input).unwrap_or_else(|e| panic!("{named}: {e}"));
                assert_eq!(views(&u), want_views, "{named}");
                let got_ip = u.host_ip().map(|a| a.to_string()).unwrap_or_default();
                assert_eq!(got_ip, ip, "{named}");
                match Upstream::parse_for_proxy(input) {
                    Ok(p) => {
                        assert!(accept, "{named} accepted");
                        assert_eq!(p, u);
                    }
                    Err(e) => {
                        assert!(!accept, "{named} rejected: {e}");
                        assert!(e.message().contains(&named), "{e}");
                        assert_eq!(e.status(), Status::InvalidArgument);
                    }
                }
            }
            Go::Err(reason) => {
                let e = Upstream::parse(input).expect_err(&named);
                assert_eq!(e.status(), Status::InvalidArgument);
                let want = format!("invalid upstream URL {named}: {reason}");
                assert_eq!(e.message(), want);
                assert_eq!(Upstream::parse_for_proxy(input), Err(e));
            }
        }
    }

    /// One `#[test]` per case, named after the rule it shows.
    macro_rules! go_cases {
        ($($name:ident: $input:expr => $want:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    check($input, $want);
                }
            )*
        };
    }

    // Expectations printed by Go 1.26 (`url.Parse`, then Scheme, Hostname(), Port(), Host,
    // String(); netip.ParseAddr(Hostname()); the proxy rule).
    go_cases! {
        userinfo_escapes_are_decoded_then_reescaped: "http://us%65r:p%61ss@h/" => ok(["http", "h", "", "h", "http://user:pass@h/"], "", true);
        at_sign_in_password_splits_at_last_at: "http://u:p@ss@host.lan:81/" => ok(["http", "host.lan", "81", "host.lan:81", "http://u:p%40ss@host.lan:81/"], "", true);
        escaped_at_in_username_stays_escaped: "http://u%40x@h/" => ok(["http", "h", "", "h", "http://u%40x@h/"], "", true);
        colon_in_password_is_reescaped: "http://u:p:q@h/" => ok(["http", "h", "", "h", "http://u:p%3Aq@h/"], "", true);
        empty_userinfo_is_kept: "http://@h/" => ok(["http", "h", "", "h", "http://@h/"], "", true);
        port_like_userinfo_is_userinfo: "http://h:80@x/" => ok(["http", "x", "", "x", "http://h:80@x/"], "", true);
        space_in_userinfo_is_invalid: "http://u p@h/" => err("net/url: invalid userinfo");
        bad_escape_in_userinfo_is_invalid: "http://%zz@h/" => err("invalid URL escape \"%zz\"");
        userinfo_ipv6_port_path_query_fragment: "http://a:b@[::1]:80/p?q#f" => ok(["http", "::1", "80", "[::1]:80", "http://a:b@[::1]:80/p?q#f"], "::1", true);
        ipv6_zone_and_port: "http://[fe80::1%25eth0]:8080/x" => ok(["http", "fe80::1%eth0", "8080", "[fe80::1%eth0]:8080", "http://[fe80::1%25eth0]:8080/x"], "", true);
        ipv6_zone_may_escape_a_space: "http://[fe80::1%25a%20b]/" => ok(["http", "fe80::1%a b", "", "[fe80::1%a b]", "http://[fe80::1%25a%20b]/"], "", true);
        ipv6_zone_may_not_escape_a_slash: "http://[fe80::1%25a%2Fb]/" => err("invalid URL escape \"%2F\"");
        ipv6_empty_zone_is_invalid: "http://[fe80::1%25]/" => err("invalid host: ParseAddr(\"fe80::1%\"): zone must be a non-empty string");
        ipv6_zone_needs_percent_25: "http://[fe80::1%eth0]/" => err("invalid URL escape \"%et\"");
        ipv6_uppercase_is_kept: "http://[FE80::A]:1" => ok(["http", "FE80::A", "1", "[FE80::A]:1", "http://[FE80::A]:1"], "fe80::a", true);
        ipv6_group_of_five_digits_is_invalid: "http://[12345::]" => err("invalid host: ParseAddr(\"12345::\"): each group must have 4 or less digits (at \"12345::\")");
        ipv6_two_ellipses_are_invalid: "http://[1::2::3]" => err("invalid host: ParseAddr(\"1::2::3\"): multiple :: in address (at \":3\")");
        ipv6_empty_port: "http://[::1]:" => ok(["http", "::1", "", "[::1]:", "http://[::1]:"], "::1", true);
        ipv4_mapped_ipv6_may_be_bracketed: "http://[::ffff:10.0.0.1]" => ok(["http", "::ffff:10.0.0.1", "", "[::ffff:10.0.0.1]", "http://[::ffff:10.0.0.1]"], "::ffff:10.0.0.1", true);
        ipv4_may_not_be_bracketed: "http://[10.0.0.1]" => err("invalid IP-literal");
        bracket_after_start_of_host_is_invalid: "http://a[::1]/" => err("invalid IP-literal");
        missing_close_bracket_is_invalid: "http://[::1/x" => err("missing ']' in host");
        text_after_bracket_must_be_a_port: "http://[::1]x/" => err("invalid port \"x\" after host");
        empty_port_after_name: "http://host:" => ok(["http", "host", "", "host:", "http://host:"], "", true);
        port_with_leading_zeros_is_kept: "http://h:0080" => ok(["http", "h", "0080", "h:0080", "http://h:0080"], "", true);
        port_above_65535_parses_but_is_not_accepted: "http://h:99999" => ok(["http", "h", "99999", "h:99999", "http://h:99999"], "", false);
        port_with_letters_is_invalid: "http://h:8a/" => err("invalid port \":8a\" after host");
        second_colon_is_invalid_for_http: "http://a:1:2" => err("invalid port \":1:2\" after host");
        second_colon_is_invalid_for_https_after_lowercasing: "HTTPS://a:1:2" => err("invalid port \":1:2\" after host");
        other_schemes_take_the_port_after_the_last_colon: "postgres://a:1,b:2/db" => ok(["postgres", "a:1,b", "2", "a:1,b:2", "postgres://a:1,b:2/db"], "", true);
        escaped_ascii_in_host_is_invalid: "http://%31%30.0.0.1" => err("invalid URL escape \"%31\"");
        escaped_non_ascii_in_host_is_decoded: "http://h%C3%A9llo.lan/" => ok(["http", "héllo.lan", "", "héllo.lan", "http://h%C3%A9llo.lan/"], "", true);
        raw_non_ascii_host_is_escaped_in_string: "http://日本.jp:80/" => ok(["http", "日本.jp", "80", "日本.jp:80", "http://%E6%97%A5%E6%9C%AC.jp:80/"], "", true);
        escaped_percent_in_host_is_decoded_and_reescaped: "http://a%25b/" => ok(["http", "a%b", "", "a%b", "http://a%25b/"], "", true);
        host_may_hold_sub_delims: "http://a!$&'()*+,;=b/" => ok(["http", "a!$&'()*+,;=b", "", "a!$&'()*+,;=b", "http://a!$&'()*+,;=b/"], "", true);
        host_may_hold_angle_brackets_and_quote: "http://a<b>\"c/" => ok(["http", "a<b>\"c", "", "a<b>\"c", "http://a<b>\"c/"], "", true);
        space_in_host_is_invalid: "http://a b/" => err("invalid character \" \" in host name");
        trailing_dot_in_host_is_kept: "http://host.lan.:80" => ok(["http", "host.lan.", "80", "host.lan.:80", "http://host.lan.:80"], "", true);
        uppercase_scheme_is_lowercased_host_is_not: "HTTPS://Example.COM" => ok(["https", "Example.COM", "", "Example.COM", "https://Example.COM"], "", true);
        mixed_case_scheme_is_lowercased: "hTtP://x" => ok(["http", "x", "", "x", "http://x"], "", true);
        scheme_may_hold_plus_dot_dash: "x+y.z-w://h" => ok(["x+y.z-w", "h", "", "h", "x+y.z-w://h"], "", true);
        escaped_slash_in_path_is_kept_raw: "http://h/a%2Fb/c" => ok(["http", "h", "", "h", "http://h/a%2Fb/c"], "", true);
        lowercase_escape_in_path_is_kept_raw: "http://h/a%2fb" => ok(["http", "h", "", "h", "http://h/a%2fb"], "", true);
        needless_escape_in_path_is_kept_raw: "http://h/%7Euser" => ok(["http", "h", "", "h", "http://h/%7Euser"], "", true);
        space_in_path_is_escaped: "http://h/a b" => ok(["http", "h", "", "h", "http://h/a%20b"], "", true);
        unicode_in_path_is_escaped: "http://h/日本" => ok(["http", "h", "", "h", "http://h/%E6%97%A5%E6%9C%AC"], "", true);
        backslash_in_path_is_escaped: "http://h/a\\b" => ok(["http", "h", "", "h", "http://h/a%5Cb"], "", true);
        dot_segments_are_not_cleaned: "http://h/a/../b" => ok(["http", "h", "", "h", "http://h/a/../b"], "", true);
        bad_escape_in_path_is_invalid: "http://h/a%2" => err("invalid URL escape \"%2\"");
        query_with_spaces_is_kept_raw: "http://h/p?a b=c d" => ok(["http", "h", "", "h", "http://h/p?a b=c d"], "", true);
        query_with_unicode_and_bad_escape_is_kept_raw: "http://h/p?é=%zz" => ok(["http", "h", "", "h", "http://h/p?é=%zz"], "", true);
        lone_question_mark_is_kept: "http://h/p?" => ok(["http", "h", "", "h", "http://h/p?"], "", true);
        second_question_mark_belongs_to_query: "http://h/p??" => ok(["http", "h", "", "h", "http://h/p??"], "", true);
        query_without_path: "http://h?q#f" => ok(["http", "h", "", "h", "http://h?q#f"], "", true);
        second_hash_in_fragment_is_escaped: "http://h/#a#b" => ok(["http", "h", "", "h", "http://h/#a%23b"], "", true);
        escaped_hash_in_fragment_is_kept: "http://h/#a%23b" => ok(["http", "h", "", "h", "http://h/#a%23b"], "", true);
        space_in_fragment_is_escaped: "http://h/#a b" => ok(["http", "h", "", "h", "http://h/#a%20b"], "", true);
        fragment_keeps_some_sub_delims_but_escapes_quote: "http://h/#!()*'" => ok(["http", "h", "", "h", "http://h/#!()*'"], "", true);
        empty_fragment_is_dropped: "http://h/p#" => ok(["http", "h", "", "h", "http://h/p"], "", true);
        bad_escape_in_fragment_is_invalid: "http://h/#%zz" => err("invalid URL escape \"%zz\"");
        control_character_in_fragment_is_escaped: "http://h/#a\u{1}" => ok(["http", "h", "", "h", "http://h/#a%01"], "", true);
        control_character_in_path_is_invalid: "http://h/a\u{1}" => err("net/url: invalid control character in URL");
        del_is_a_control_character: "http://h/\u{7f}" => err("net/url: invalid control character in URL");
        tab_in_host_is_invalid: "http://h\t/" => err("net/url: invalid control character in URL");
        newline_is_invalid: "http://h/\n" => err("net/url: invalid control character in URL");
        opaque_mailto: "mailto:x@y" => ok(["mailto", "", "", "", "mailto:x@y"], "", false);
        opaque_with_query: "urn:a:b?x=1#f" => ok(["urn", "", "", "", "urn:a:b?x=1#f"], "", false);
        scheme_only: "scheme:" => ok(["scheme", "", "", "", "scheme:"], "", false);
        scheme_and_query_only: "http:?x" => ok(["http", "", "", "", "http:?x"], "", false);
        opaque_with_lone_question_mark: "http:x?" => ok(["http", "", "", "", "http:x?"], "", false);
        scheme_with_single_slash_has_no_host: "http:/path" => ok(["http", "", "", "", "http:/path"], "", false);
        scheme_with_triple_slash_has_empty_host: "file:///etc/passwd" => ok(["file", "", "", "", "file:///etc/passwd"], "", false);
        no_scheme_double_slash_has_host: "//host:80/p" => ok(["", "host", "80", "host:80", "//host:80/p"], "", false);
        no_scheme_triple_slash_is_a_path: "///a/b" => ok(["", "", "", "", "///a/b"], "", false);
        colon_in_first_relative_segment_is_invalid: "1a:b/c" => err("first path segment in URL cannot contain colon");
        scheme_starting_with_digit_is_not_a_scheme: "1http://h" => err("first path segment in URL cannot contain colon");
        missing_scheme_before_colon_is_invalid: "://nohost" => err("missing protocol scheme");
        star_is_a_path: "*" => ok(["", "", "", "", "*"], "", false);
        empty_input_is_an_empty_url: "" => ok(["", "", "", "", ""], "", false);
        relative_path: "a/b?c" => ok(["", "", "", "", "a/b?c"], "", false);
        zero_address_is_an_ip: "tcp://0.0.0.0:53" => ok(["tcp", "0.0.0.0", "53", "0.0.0.0:53", "tcp://0.0.0.0:53"], "0.0.0.0", true);
        ipv4_with_leading_zero_is_not_an_ip: "http://010.0.0.1/" => ok(["http", "010.0.0.1", "", "010.0.0.1", "http://010.0.0.1/"], "", true);
    }

    #[test]
    fn shared_vectors() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/testdata/upstream_urls.json"
        );
        let text = std::fs::read_to_string(path).expect("shared upstream vectors");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("vectors are JSON");
        let vectors = doc["vectors"].as_array().expect("a vectors array");
        assert!(!vectors.is_empty());
        for v in vectors {
            let input = v["input"].as_str().expect("input");
            let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
            let named = quote(input);
            let parsed = Upstream::parse(input);
            assert_eq!(parsed.is_ok(), v["valid"] == true, "{named}: {parsed:?}");
            if let Ok(u) = &parsed {
                let want = ["scheme", "host", "port", "host_port", "url"].map(field);
                assert_eq!(views(u), want, "{named}");
            }
            let accepted = Upstream::parse_for_proxy(input);
            assert_eq!(
                accepted.is_ok(),
                v["accept"] == true,
                "{named}: {accepted:?}"
            );
            match accepted {
                Ok(p) => assert_eq!(Ok(p), parsed),
                Err(e) => assert!(e.message().contains(&named), "{e}"),
            }
        }
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
    fn very_long_input_round_trips() {
        // Checked against Go 1.26 (part of the differential run).
        let input = format!(
            "http://{}:80/{}?{}#{}",
            "a".repeat(5000),
            "p%20".repeat(2000),
            "q".repeat(3000),
            "f ".repeat(1000)
        );
        let u = Upstream::parse(&input).unwrap();
        let host_port = format!("{}:80", "a".repeat(5000));
        assert_eq!(u.host().as_str(), "a".repeat(5000));
        assert_eq!(u.port().as_str(), "80");
        assert_eq!(u.host_port().as_str(), host_port);
        let url = input.replace("f ", "f%20");
        assert_eq!(u.url().as_str(), url);
        assert!(Upstream::parse_for_proxy(&input).is_ok());
    }

    #[test]
    fn very_long_invalid_input_gives_a_short_message() {
        let bad = "a b".repeat(10_000);
        let e = Upstream::parse(&format!("http://[::1]/#%zz{bad}")).unwrap_err();
        assert!(e.message().len() < 300, "{}", e.message().len());
        let e = Upstream::parse(&format!("http://[{bad}]/")).unwrap_err();
        assert!(e.message().len() < 300, "{}", e.message().len());
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

    #[test]
    fn netip_port_matches_go_on_edge_addresses() {
        // (input, Go's netip.ParseAddr result: Some(String()) or None), from Go 1.26.
        let cases: &[(&str, Option<&str>)] = &[
            ("::", Some("::")),
            ("::%z", Some("::%z")),
            ("1:2:3:4:5:6:7:8", Some("1:2:3:4:5:6:7:8")),
            ("1:2:3:4:5:6:7::", Some("1:2:3:4:5:6:7:0")),
            ("1:2:3:4:5:6:7:8::", None),
            ("::1:2:3:4:5:6:7:8", None),
            ("1:2:3:4:5:6:1.2.3.4", Some("1:2:3:4:5:6:102:304")),
            ("1:2:3:4:5:1.2.3.4", None),
            ("::1.2.3.4", Some("::102:304")),
            ("::ffff:1.2.3.4", Some("::ffff:1.2.3.4")),
            ("::ffff:01.2.3.4", None),
            ("0001:02:3::", Some("1:2:3::")),
            ("1:", None),
            (":1", None),
            ("1.2.3.4", Some("1.2.3.4")),
            ("1.2.3.4.5", None),
            ("1.2.3.", None),
            ("1.2.3.256", None),
            ("0.0.0.0", Some("0.0.0.0")),
            ("%z", None),
            ("1::%", None),
            ("12", None),
        ];
        for &(s, want) in cases {
            let got = parse_addr(s.as_bytes()).ok().map(|a| match a {
                Addr::V4(b) => Ipv4Addr::from(b).to_string(),
                Addr::V6(b, zoned) => {
                    let ip = Ipv6Addr::from(b).to_string();
                    match zoned {
                        true => format!("{ip}%{}", &s[s.find('%').unwrap() + 1..]),
                        false => ip,
                    }
                }
            });
            assert_eq!(got.as_deref(), want, "{s}");
        }
    }
}
