//! A port of Go's `net/netip` address parser (`ParseAddr`, Go 1.26), which `net/url` calls for
//! bracketed hosts and [`Upstream::host_ip`](super::Upstream::host_ip) uses.

use super::{find, q, unhex, GoResult};

/// An address as `netip.ParseAddr` returns it; for IPv6, whether it has a zone.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Addr {
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
pub(super) fn parse_addr(s: &[u8]) -> GoResult<Addr> {
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
    use std::net::{Ipv4Addr, Ipv6Addr};

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
