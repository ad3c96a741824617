//! Health: GoDoxy's status flags, the per-route health record, and the health JSON, rendered
//! byte for byte as Go's `encoding/json.Marshal` renders GoDoxy's map types.

use crate::error::{Error, Result};
use std::sync::LazyLock;
use std::time::Duration;

/// GoDoxy's health status bit flags. The numbers are the C ABI's `rr_health_status` values.
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

    /// GoDoxy's string for the status, as it appears in the health JSON.
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

    /// HEALTHY, NAPPING or STARTING (GoDoxy's `Good`).
    pub fn is_good(self) -> bool {
        matches!(
            self,
            HealthStatus::Healthy | HealthStatus::Napping | HealthStatus::Starting
        )
    }
}

/// Which of GoDoxy's three health maps to render.
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

/// A health record with its JSON rendered once, when the health is set, so that the health
/// JSON of a large registry is mostly copying (it is asked for far more often than a single
/// route's health changes). Rendered for a route, the text is the whole entry
/// `"<alias>":{...}`, so the health JSON reads one buffer per route.
#[derive(Clone, Debug)]
pub struct RenderedHealth {
    health: Health,
    /// `<key>:{"status":..,"uptime":..,"latency":..,"detail":..}`, or only the value when
    /// rendered without a key.
    json: Box<str>,
    /// Where the value starts in `json` (0 without a key).
    value_at: usize,
    /// Where `,"detail":` starts in `json`.
    detail_at: usize,
}

static NEVER_SET: LazyLock<RenderedHealth> =
    LazyLock::new(|| RenderedHealth::new(Health::never_set()));

impl RenderedHealth {
    /// Renders `health`'s JSON value.
    pub fn new(health: Health) -> Self {
        Self::with_key("", health)
    }

    /// Renders the entry `<key_json>:<value>`; `key_json` is a JSON string, quotes included
    /// (see [`go_string`]). An empty `key_json` renders the value alone.
    pub fn with_key(key_json: &str, health: Health) -> Self {
        let mut out = Vec::with_capacity(key_json.len() + 73 + health.detail.len());
        out.extend_from_slice(key_json.as_bytes());
        if !key_json.is_empty() {
            out.push(b':');
        }
        let value_at = out.len();
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
            json: into_string(out).into_boxed_str(),
            value_at,
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

    /// Whether this was rendered with a key (`with_key`), so `write_entry` can be used.
    pub fn has_key(&self) -> bool {
        self.value_at > 0
    }

    /// Appends the JSON value for `format`.
    pub fn write_value(&self, format: HealthFormat, out: &mut String) {
        match format {
            HealthFormat::Full => out.push_str(&self.json[self.value_at..]),
            HealthFormat::WithoutDetail => {
                out.push_str(&self.json[self.value_at..self.detail_at]);
                out.push('}');
            }
            HealthFormat::Simple => write_status_str(out, self.health.status),
        }
    }

    /// Appends `<key>:<value>` for `format`; only for a record rendered with a key.
    fn write_entry(&self, format: HealthFormat, out: &mut String) {
        match format {
            HealthFormat::Full => out.push_str(&self.json),
            HealthFormat::WithoutDetail => {
                out.push_str(&self.json[..self.detail_at]);
                out.push('}');
            }
            HealthFormat::Simple => {
                out.push_str(&self.json[..self.value_at]);
                write_status_str(out, self.health.status);
            }
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
    out: String,
    format: HealthFormat,
    empty: bool,
}

impl HealthJsonWriter {
    /// A writer for about `entries` entries.
    pub fn new(format: HealthFormat, entries: usize) -> Self {
        let per = match format {
            HealthFormat::Simple => 24,
            HealthFormat::WithoutDetail => 80,
            HealthFormat::Full => 112,
        };
        Self::with_capacity(format, 2 + entries * per)
    }

    /// A writer whose buffer starts with `bytes` of room (one more is kept for a C string's
    /// terminating NUL, so handing the text to C does not copy it).
    pub fn with_capacity(format: HealthFormat, bytes: usize) -> Self {
        let mut out = String::with_capacity(bytes + 1);
        out.push('{');
        HealthJsonWriter {
            out,
            format,
            empty: true,
        }
    }

    /// Appends `"<alias>":<health>`.
    pub fn entry(&mut self, alias: &str, h: &Health) {
        self.entry_rendered(
            &go_string(alias.as_bytes()),
            &RenderedHealth::new(h.clone()),
        );
    }

    fn comma(&mut self) {
        if !std::mem::take(&mut self.empty) {
            self.out.push(',');
        }
    }

    /// Appends `<alias_json>:<value>`, where `alias_json` is the alias already rendered as a
    /// JSON string.
    pub fn entry_rendered(&mut self, alias_json: &str, h: &RenderedHealth) {
        self.comma();
        self.out.push_str(alias_json);
        self.out.push(':');
        h.write_value(self.format, &mut self.out);
    }

    /// Appends the entry `h` was rendered as (see [`RenderedHealth::with_key`]); an `h`
    /// rendered without a key is written under `alias_json`.
    pub fn entry_keyed(&mut self, alias_json: &str, h: &RenderedHealth) {
        if !h.has_key() {
            return self.entry_rendered(alias_json, h);
        }
        self.comma();
        h.write_entry(self.format, &mut self.out);
    }

    /// The JSON text.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
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

fn write_status_str(out: &mut String, s: HealthStatus) {
    out.push('"');
    out.push_str(s.as_str());
    out.push('"');
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

/// `s` as a JSON string, as [`write_go_string`] writes it.
pub fn go_string(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    write_go_string(&mut out, s);
    into_string(out)
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
        let alias_json = go_string("a&b".as_bytes());
        let keyed = RenderedHealth::with_key(&alias_json, h.clone());
        assert!(keyed.has_key() && !rendered.has_key());
        for format in [
            HealthFormat::Full,
            HealthFormat::WithoutDetail,
            HealthFormat::Simple,
        ] {
            let want = render(format, &[("a&b", &h), ("c", &h)]);
            let mut w = HealthJsonWriter::new(format, 2);
            w.entry_rendered(&alias_json, &rendered);
            w.entry_rendered("\"c\"", &rendered);
            assert_eq!(w.finish(), want);
            // Keyed: its own key is used; unkeyed: the one given.
            let mut w = HealthJsonWriter::new(format, 2);
            w.entry_keyed("\"ignored\"", &keyed);
            w.entry_keyed("\"c\"", &rendered);
            assert_eq!(w.finish(), want);
            let (mut a, mut b) = (String::new(), String::new());
            rendered.write_value(format, &mut a);
            keyed.write_value(format, &mut b);
            assert_eq!(a, b);
        }
        assert_eq!(RenderedHealth::never_set().health(), &Health::never_set());
    }

    #[test]
    fn status_values_are_godoxys_bit_flags() {
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
