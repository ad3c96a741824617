//! A port of Go's `net/url` (Go 1.26): only what `Parse`, `Hostname()`, `Port()`, `Host` and
//! `String()` need. Go strings are bytes, so it works on `&[u8]` throughout.

use super::netip::{parse_addr, Addr};
use super::{find, q, unhex, GoResult};

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
pub(super) fn valid_optional_port(port: &[u8]) -> bool {
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
pub(super) struct GoUrl {
    pub(super) scheme: Vec<u8>,
    opaque: Vec<u8>,
    user: Option<Userinfo>,
    pub(super) host: Vec<u8>,
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
    pub(super) fn parse(raw: &[u8]) -> GoResult<GoUrl> {
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
    pub(super) fn to_go_string(&self) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use crate::error::{quote, Status};
    use crate::upstream::tests::views;
    use crate::upstream::Upstream;

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
        // ../shared/testdata beside the checkout when it exists (CI), else testdata/.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let shared = root.join("../shared/testdata");
        let dir = if shared.is_dir() {
            shared
        } else {
            root.join("testdata")
        };
        let text =
            std::fs::read_to_string(dir.join("upstream_urls.json")).expect("upstream vectors");
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
}
