//! Helpers shared by the health_json and abi_sequence targets: an independent reference for
//! Go's string decoding, and a checker for the health JSON.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// What Go's `encoding/json` shows for `s`: it walks the bytes with `utf8.DecodeRune`, so every
/// byte that does not start a well-formed UTF-8 sequence (Unicode Table 3-7: no overlongs, no
/// surrogates, nothing above U+10FFFF) becomes U+FFFD on its own, and decoding goes on at the
/// next byte. Written from the table, independently of the library's encoder.
pub fn go_decode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b0 = s[i];
        if b0 < 0x80 {
            out.push(char::from(b0));
            i += 1;
            continue;
        }
        // (sequence length, allowed range of the second byte)
        let (n, lo, hi) = match b0 {
            0xC2..=0xDF => (2, 0x80, 0xBF),
            0xE0 => (3, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF),
            0xED => (3, 0x80, 0x9F),
            0xF0 => (4, 0x90, 0xBF),
            0xF1..=0xF3 => (4, 0x80, 0xBF),
            0xF4 => (4, 0x80, 0x8F),
            _ => (0, 0, 0),
        };
        let well_formed = n > 0
            && i + n <= s.len()
            && (lo..=hi).contains(&s[i + 1])
            && s[i + 2..i + n].iter().all(|b| (0x80..=0xBF).contains(b));
        if !well_formed {
            out.push('\u{FFFD}');
            i += 1;
            continue;
        }
        let mut cp = u32::from(b0) & (0x7F >> n);
        for &b in &s[i + 1..i + n] {
            cp = (cp << 6) | (u32::from(b) & 0x3F);
        }
        out.push(char::from_u32(cp).expect("well-formed UTF-8 decodes to a scalar value"));
        i += n;
    }
    out
}

/// A JSON object read with its entries in document order, duplicates kept.
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered<T>, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = m.next_entry::<String, T>()? {
                    v.push(entry);
                }
                Ok(Ordered(v))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// What one alias's entry must show.
#[derive(Clone, Debug)]
pub struct Expected {
    pub status: &'static str,
    pub uptime_ns: u64,
    pub latency_ns: u64,
    pub detail: Vec<u8>,
}

impl Expected {
    /// A route whose health was never set.
    pub fn never_set() -> Self {
        Expected {
            status: "unknown",
            uptime_ns: 0,
            latency_ns: 0,
            detail: b"n/a".to_vec(),
        }
    }
}

/// GoDoxy's string for a status bit value (None: not a status).
pub fn status_name(v: u32) -> Option<&'static str> {
    Some(match v {
        0 => "unknown",
        1 => "healthy",
        2 => "napping",
        4 => "starting",
        8 => "unhealthy",
        16 => "error",
        _ => return None,
    })
}

/// A `time.Duration` in the JSON: nanoseconds, clamped to int64.
pub fn go_duration(ns: u64) -> u64 {
    ns.min(i64::MAX as u64)
}

/// Checks a health JSON text in `format` (0 full, 1 without detail, 2 simple) against the
/// expected entry per alias.
pub fn check_health_json(text: &str, format: u32, want: &BTreeMap<String, Expected>) {
    // Go's encoder escapes <, >, & and U+2028/U+2029 everywhere (HTML-safe output).
    for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
        assert!(!text.contains(bad), "raw {bad:?} in health JSON {text:?}");
    }
    let keys: Vec<String> = match format {
        2 => {
            let obj: Ordered<Value> = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("simple health JSON does not parse: {e}: {text:?}"));
            for (alias, v) in &obj.0 {
                let w = want
                    .get(alias)
                    .unwrap_or_else(|| panic!("unexpected alias {alias:?}"));
                assert_eq!(v.as_str(), Some(w.status), "status of {alias:?}");
            }
            obj.0.into_iter().map(|(k, _)| k).collect()
        }
        0 | 1 => {
            let obj: Ordered<Ordered<Value>> = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("health JSON does not parse: {e}: {text:?}"));
            for (alias, fields) in &obj.0 {
                let w = want
                    .get(alias)
                    .unwrap_or_else(|| panic!("unexpected alias {alias:?}"));
                let names: Vec<&str> = fields.0.iter().map(|(k, _)| k.as_str()).collect();
                let want_names: &[&str] = if format == 0 {
                    &["status", "uptime", "latency", "detail"]
                } else {
                    &["status", "uptime", "latency"]
                };
                assert_eq!(names, want_names, "fields of {alias:?}");
                let f = |i: usize| &fields.0[i].1;
                assert_eq!(f(0).as_str(), Some(w.status), "status of {alias:?}");
                assert_eq!(
                    f(1).as_u64(),
                    Some(go_duration(w.uptime_ns)),
                    "uptime of {alias:?}"
                );
                assert_eq!(
                    f(2).as_u64(),
                    Some(go_duration(w.latency_ns)),
                    "latency of {alias:?}"
                );
                if format == 0 {
                    let detail = go_decode(&w.detail);
                    assert_eq!(f(3).as_str(), Some(detail.as_str()), "detail of {alias:?}");
                }
            }
            obj.0.into_iter().map(|(k, _)| k).collect()
        }
        _ => unreachable!("format {format}"),
    };
    // One entry per alias, sorted by alias bytes (Go sorts map keys), none missing.
    assert!(
        keys.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()),
        "aliases not strictly sorted: {keys:?}"
    );
    let want_keys: Vec<String> = want.keys().cloned().collect();
    assert_eq!(keys, want_keys, "aliases in health JSON");
}

/// Edge cases of UTF-8 decoding and of JSON escaping, for `Piece::Edge`.
const EDGES: [&[u8]; 32] = [
    b"\xE0\x80\x80",     // overlong 3-byte
    b"\xE0\xA0\x80",     // smallest valid 3-byte
    b"\xE0\x9F\xBF",     // overlong (second byte just below A0)
    b"\xED\x9F\xBF",     // U+D7FF
    b"\xED\xA0\x80",     // surrogate U+D800
    b"\xED\xBF\xBF",     // surrogate U+DFFF
    b"\xF0\x80\x80\x80", // overlong 4-byte
    b"\xF0\x90\x80\x80", // U+10000
    b"\xF4\x8F\xBF\xBF", // U+10FFFF
    b"\xF4\x90\x80\x80", // above U+10FFFF
    b"\xF5\x80\x80\x80", // never a lead byte
    b"\xC0\x80",         // overlong NUL
    b"\xC1\xBF",         // overlong
    b"\xC2\x80",         // U+0080
    b"\xDF\xBF",         // U+07FF
    b"\xE2\x80\xA8",     // U+2028 (Go escapes it)
    b"\xE2\x80\xA9",     // U+2029
    b"\xE2\x80",         // truncated 3-byte
    b"\xF0\x9F\x98",     // truncated 4-byte
    b"\x80",             // lone continuation
    b"\xBF",
    b"\xFF",
    b"\xFE",
    b"<",
    b">",
    b"&",
    b"\\",
    b"\"",
    b"\x00",
    b"\x7F",
    b"\n\r\t\x08\x0C",
    b"\x1F",
];

/// A piece of a health detail: any byte, an edge case from [`EDGES`], or any text.
#[derive(arbitrary::Arbitrary, Debug)]
pub enum Piece {
    Byte(u8),
    Edge(u8),
    Text(String),
}

/// The detail bytes made of `pieces`.
pub fn detail_bytes(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Byte(b) => out.push(*b),
            Piece::Edge(i) => out.extend_from_slice(EDGES[usize::from(*i) % EDGES.len()]),
            Piece::Text(s) => out.extend_from_slice(s.as_bytes()),
        }
    }
    out
}
