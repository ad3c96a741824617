//! Health: the seed's status flags, the per-route health record, and the health JSON, rendered
//! byte for byte as Go's `encoding/json.Marshal` renders the seed's map types.

use crate::error::{Error, Result};
use std::sync::LazyLock;
use std::time::Duration;

/// The seed's health status bit flags. The numbers are the C ABI's `rr_health_status` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HealthStatus {
    /// Never checked (also the status of a route whose health was never set).
    #[default]
    Unknown = 0,
    /// Up.
    Healthy = 1,
    /// Idle-sleeping (e.g. a stopped container that wakes on demand).
    Napping = 2,
    /// Waking up.
    Starting = 4,
    /// Down.
    Unhealthy = 8,
    /// The check itself failed.
    Error = 16,
}

impl HealthStatus {
    /// The status with bit value `v`, or an error naming it.
    pub fn from_u32(v: u32) -> Result<Self> {
        Ok(match v {
            0 => HealthStatus::Unknown,
            1 => HealthStatus::Healthy,
            2 => HealthStatus::Napping,
            4 => HealthStatus::Starting,
            8 => HealthStatus::Unhealthy,
            16 => HealthStatus::Error,
            _ => {
                return Err(Error::invalid(format!(
                    "health status {v} is not one of 0 (unknown), 1 (healthy), 2 (napping), \
                     4 (starting), 8 (unhealthy), 16 (error)"
                )))
            }
        })
    }

    /// The seed's string for the status, as it appears in the health JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Unknown => "unknown",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Napping => "napping",
            HealthStatus::Starting => "starting",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::Error => "error",
        }
    }

    /// HEALTHY, NAPPING or STARTING (the seed's `Good`).
    pub fn is_good(self) -> bool {
        matches!(
            self,
            HealthStatus::Healthy | HealthStatus::Napping | HealthStatus::Starting
        )
    }
}

/// Which of the seed's three health maps to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum HealthFormat {
    /// `map[string]HealthInfo`: status, uptime, latency, detail.
    Full = 0,
    /// `map[string]HealthInfoWithoutDetail`.
    WithoutDetail = 1,
    /// `map[string]HealthStatus`.
    Simple = 2,
}

impl HealthFormat {
    /// The format with number `v`, or an error naming it.
    pub fn from_u32(v: u32) -> Result<Self> {
        match v {
            0 => Ok(HealthFormat::Full),
            1 => Ok(HealthFormat::WithoutDetail),
            2 => Ok(HealthFormat::Simple),
            _ => Err(Error::invalid(format!(
                "health format {v} is not one of 0 (full), 1 (without detail), 2 (simple)"
            ))),
        }
    }
}

/// One route's health as last reported. `detail` is raw bytes, not validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// The status.
    pub status: HealthStatus,
    /// How long the upstream has been up.
    pub uptime: Duration,
    /// The last check's latency.
    pub latency: Duration,
    /// Free text from the checker; any bytes.
    pub detail: Box<[u8]>,
}

impl Health {
    /// What a route whose health was never set reports.
    pub fn never_set() -> Self {
        Health {
            status: HealthStatus::Unknown,
            uptime: Duration::ZERO,
            latency: Duration::ZERO,
            detail: Box::from(&b"n/a"[..]),
        }
    }
}

/// A health record with its JSON value rendered once, when the health is set, so that the
/// health JSON of a large registry is mostly copying (it is asked for far more often than a
/// single route's health changes).
#[derive(Clone, Debug)]
pub struct RenderedHealth {
    health: Health,
    /// `{"status":..,"uptime":..,"latency":..,"detail":..}`
    json: Box<[u8]>,
    /// Where `,"detail":` starts in `json`.
    detail_at: usize,
}

static NEVER_SET: LazyLock<RenderedHealth> =
    LazyLock::new(|| RenderedHealth::new(Health::never_set()));

impl RenderedHealth {
    /// Renders `health`'s JSON value.
    pub fn new(health: Health) -> Self {
        let mut out = Vec::with_capacity(72 + health.detail.len());
        out.extend_from_slice(b"{\"status\":");
        write_status(&mut out, health.status);
        out.extend_from_slice(b",\"uptime\":");
        write_duration(&mut out, health.uptime);
        out.extend_from_slice(b",\"latency\":");
        write_duration(&mut out, health.latency);
        let detail_at = out.len();
        out.extend_from_slice(b",\"detail\":");
        write_go_string(&mut out, &health.detail);
        out.push(b'}');
        RenderedHealth {
            health,
            json: out.into_boxed_slice(),
            detail_at,
        }
    }

    /// What a route whose health was never set reports.
    pub fn never_set() -> &'static RenderedHealth {
        &NEVER_SET
    }

    /// The health record.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Appends the JSON value for `format`.
    pub fn write_value(&self, format: HealthFormat, out: &mut Vec<u8>) {
        match format {
            HealthFormat::Full => out.extend_from_slice(&self.json),
            HealthFormat::WithoutDetail => {
                out.extend_from_slice(&self.json[..self.detail_at]);
                out.push(b'}');
            }
            HealthFormat::Simple => write_status(out, self.health.status),
        }
    }

    /// Heap bytes owned.
    pub fn heap_bytes(&self) -> usize {
        self.json.len() + self.health.detail.len()
    }
}

/// Builds a health JSON object entry by entry. Entries must come sorted by alias with no
/// alias twice (the order Go's encoder gives map keys).
pub struct HealthJsonWriter {
    out: Vec<u8>,
    format: HealthFormat,
    empty: bool,
}

impl HealthJsonWriter {
    /// A writer for about `entries` entries.
    pub fn new(format: HealthFormat, entries: usize) -> Self {
        let per = if format == HealthFormat::Simple {
            24
        } else {
            96
        };
        let mut out = Vec::with_capacity(2 + entries * per);
        out.push(b'{');
        HealthJsonWriter {
            out,
            format,
            empty: true,
        }
    }

    /// Appends `"<alias>":<health>`.
    pub fn entry(&mut self, alias: &str, h: &Health) {
        let out = &mut self.out;
        if !std::mem::take(&mut self.empty) {
            out.push(b',');
        }
        write_go_string(out, alias.as_bytes());
        out.push(b':');
        if self.format == HealthFormat::Simple {
            write_status(out, h.status);
            return;
        }
        out.extend_from_slice(b"{\"status\":");
        write_status(out, h.status);
        out.extend_from_slice(b",\"uptime\":");
        write_duration(out, h.uptime);
        out.extend_from_slice(b",\"latency\":");
        write_duration(out, h.latency);
        if self.format == HealthFormat::Full {
            out.extend_from_slice(b",\"detail\":");
            write_go_string(out, &h.detail);
        }
        out.push(b'}');
    }

    /// Appends `<alias_json>:<value>`, where `alias_json` is the alias already rendered as a
    /// JSON string.
    pub fn entry_rendered(&mut self, alias_json: &[u8], h: &RenderedHealth) {
        if !std::mem::take(&mut self.empty) {
            self.out.push(b',');
        }
        self.out.extend_from_slice(alias_json);
        self.out.push(b':');
        h.write_value(self.format, &mut self.out);
    }

    /// The JSON text.
    pub fn finish(mut self) -> String {
        self.out.push(b'}');
        into_string(self.out)
    }
}

/// Renders `{"<alias>":...}` for `entries`, sorted by alias with no alias twice.
pub fn render(format: HealthFormat, entries: &[(&str, &Health)]) -> String {
    let mut w = HealthJsonWriter::new(format, entries.len());
    for (alias, h) in entries {
        w.entry(alias, h);
    }
    w.finish()
}

/// Renders `{"<name>":["<item>",...],...}`: `groups` sorted by name, each list already in the
/// order wanted.
pub fn render_string_lists(groups: &[(&str, Vec<&str>)]) -> String {
    let mut out = Vec::with_capacity(16 + groups.len() * 64);
    out.push(b'{');
    for (i, (name, items)) in groups.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_go_string(&mut out, name.as_bytes());
        out.extend_from_slice(b":[");
        for (j, item) in items.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            write_go_string(&mut out, item.as_bytes());
        }
        out.push(b']');
    }
    out.push(b'}');
    into_string(out)
}

fn into_string(out: Vec<u8>) -> String {
    // write_go_string only emits valid UTF-8 (invalid bytes become \ufffd escapes).
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn write_status(out: &mut Vec<u8>, s: HealthStatus) {
    out.push(b'"');
    out.extend_from_slice(s.as_str().as_bytes());
    out.push(b'"');
}

/// A `time.Duration` is an int64 of nanoseconds; larger values are clamped to `INT64_MAX`.
fn write_duration(out: &mut Vec<u8>, d: Duration) {
    let mut nanos = u64::try_from(d.as_nanos())
        .unwrap_or(u64::MAX)
        .min(i64::MAX as u64);
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (nanos % 10) as u8;
        nanos /= 10;
        if nanos == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Writes `s` as a JSON string exactly as Go's `encoding/json` (HTML escaping on, Go ≥ 1.22):
/// each byte that does not start a valid UTF-8 sequence becomes `\ufffd` on its own, as Go's
/// `utf8.DecodeRune` walk does.
pub fn write_go_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut start = 0; // start of the pending run of bytes copied verbatim
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if SAFE[usize::from(b)] {
            i += 1;
            continue;
        }
        if b < 0x80 {
            out.extend_from_slice(&s[start..i]);
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
            i += 1;
            start = i;
            continue;
        }
        match decode_rune(&s[i..]) {
            None => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(b"\\ufffd");
                i += 1;
                start = i;
            }
            Some(('\u{2028}', n)) | Some(('\u{2029}', n)) => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(if s[i + 2] == 0xa8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += n;
                start = i;
            }
            Some((_, n)) => i += n,
        }
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// ASCII bytes Go writes as they are (HTML-safe, not a quote, backslash or control).
const SAFE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x80 {
        t[b] = !matches!(b as u8, b'"' | b'\\' | b'<' | b'>' | b'&');
        b += 1;
    }
    t
};

/// The non-ASCII character at the start of `s` and its length, or None where Go's
/// `utf8.DecodeRune` would return `(RuneError, 1)`.
fn decode_rune(s: &[u8]) -> Option<(char, usize)> {
    let width = match s[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let candidate = s.get(..width)?;
    std::str::from_utf8(candidate)
        .ok()
        .and_then(|t| t.chars().next())
        .map(|c| (c, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(s: &[u8]) -> String {
        let mut v = Vec::new();
        write_go_string(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn html_characters_are_escaped_like_go() {
        assert_eq!(go(b"<a>&"), r#""\u003ca\u003e\u0026""#);
    }

    #[test]
    fn short_escapes_for_b_f_n_r_t_since_go_1_22() {
        assert_eq!(go(b"\x08\x0c\n\r\t"), r#""\b\f\n\r\t""#);
    }

    #[test]
    fn other_control_characters_are_u00xx_lowercase() {
        assert_eq!(go(b"\x00\x1f\x1b"), r#""\u0000\u001f\u001b""#);
    }

    #[test]
    fn del_is_written_raw() {
        assert_eq!(go(b"\x7f"), "\"\x7f\"");
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped() {
        assert_eq!(go("a\u{2028}b\u{2029}c".as_bytes()), r#""a\u2028b\u2029c""#);
    }

    #[test]
    fn each_invalid_byte_becomes_one_replacement_character() {
        // A truncated 3-byte sequence is two bad bytes, so two U+FFFD (from_utf8_lossy gives one).
        assert_eq!(go(b"\xe2\x82 x"), r#""\ufffd\ufffd x""#);
        assert_eq!(go(b"\xff\xfe"), r#""\ufffd\ufffd""#);
        // A surrogate encoded in UTF-8 is invalid in Go too: three bytes, three replacements.
        assert_eq!(go(b"\xed\xa0\x80"), r#""\ufffd\ufffd\ufffd""#);
        // Overlong encoding of '/'.
        assert_eq!(go(b"\xc0\xaf"), r#""\ufffd\ufffd""#);
        // Truncated at the end of input.
        assert_eq!(go(b"a\xf0\x9f\x98"), r#""a\ufffd\ufffd\ufffd""#);
    }

    #[test]
    fn valid_multibyte_text_is_copied() {
        assert_eq!(go("café 中文 😀".as_bytes()), "\"café 中文 😀\"");
    }

    #[test]
    fn durations_above_int64_max_are_clamped() {
        let h = Health {
            status: HealthStatus::Healthy,
            uptime: Duration::from_nanos(u64::MAX),
            latency: Duration::from_secs(u64::MAX),
            detail: Box::from(&b""[..]),
        };
        assert_eq!(
            render(HealthFormat::WithoutDetail, &[("a", &h)]),
            r#"{"a":{"status":"healthy","uptime":9223372036854775807,"latency":9223372036854775807}}"#
        );
    }

    #[test]
    fn rendered_health_gives_the_same_bytes_as_rendering_each_time() {
        let h = Health {
            status: HealthStatus::Napping,
            uptime: Duration::from_nanos(12),
            latency: Duration::from_nanos(u64::MAX),
            detail: Box::from(&b"<x>\xff\n"[..]),
        };
        let rendered = RenderedHealth::new(h.clone());
        let mut alias_json = Vec::new();
        write_go_string(&mut alias_json, "a&b".as_bytes());
        for format in [
            HealthFormat::Full,
            HealthFormat::WithoutDetail,
            HealthFormat::Simple,
        ] {
            let mut w = HealthJsonWriter::new(format, 1);
            w.entry_rendered(&alias_json, &rendered);
            assert_eq!(w.finish(), render(format, &[("a&b", &h)]));
        }
        assert_eq!(RenderedHealth::never_set().health(), &Health::never_set());
    }

    #[test]
    fn status_values_are_the_seeds_bit_flags() {
        for (v, s) in [
            (0, "unknown"),
            (1, "healthy"),
            (2, "napping"),
            (4, "starting"),
            (8, "unhealthy"),
            (16, "error"),
        ] {
            assert_eq!(HealthStatus::from_u32(v).unwrap().as_str(), s);
            assert_eq!(HealthStatus::from_u32(v).unwrap() as u32, v);
        }
        for bad in [3, 5, 32, u32::MAX] {
            let e = HealthStatus::from_u32(bad).unwrap_err();
            assert!(e.message().contains(&bad.to_string()));
        }
    }

    #[test]
    fn good_is_healthy_napping_or_starting() {
        assert!(HealthStatus::Healthy.is_good());
        assert!(HealthStatus::Napping.is_good());
        assert!(HealthStatus::Starting.is_good());
        assert!(!HealthStatus::Unknown.is_good());
        assert!(!HealthStatus::Unhealthy.is_good());
        assert!(!HealthStatus::Error.is_good());
    }

    #[test]
    fn string_lists_render_as_go_map_of_slices() {
        let groups = vec![("", vec!["a"]), ("docker", vec!["b", "c<"])];
        assert_eq!(
            render_string_lists(&groups),
            r#"{"":["a"],"docker":["b","c\u003c"]}"#
        );
    }
}
