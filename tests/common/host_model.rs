//! A straightforward model of host resolution (allocating, string-based, written from the
//! rules rather than from the library's code), and a checker that runs a sequence of
//! operations through the C ABI and the model side by side. Used by tests/host.rs (random
//! sequences) and by the `host_resolution` fuzz target (fuzz/, which includes this file).
#![allow(dead_code)]

use route_registry::ffi::host::{rr_find_http_route, rr_set_route_domains};
use route_registry::ffi::registry::{rr_add, rr_del_key, rr_registry_free, rr_registry_new};
use route_registry::ffi::route::{
    rr_route_key, rr_route_new, rr_route_release, rr_route_set_priority,
};
use route_registry::ffi::{
    rr_str, RR_INVALID_ARGUMENT, RR_KEPT, RR_KIND_HTTP, RR_KIND_STREAM, RR_NOT_FOUND, RR_OK,
};

/// One step of a sequence.
#[derive(Debug, Clone)]
pub enum Op {
    /// Add a route keyed `key` (HTTP, or STREAM when `http` is false).
    Add {
        key: Vec<u8>,
        priority: i32,
        http: bool,
    },
    /// Delete the HTTP route keyed so.
    Del(Vec<u8>),
    /// Set the route domains.
    Domains(Vec<Vec<u8>>),
    /// Resolve a Host header.
    Find(Vec<u8>),
}

/// The first six are drawn most often, so keys and hosts meet.
const TOKENS: [&str; 17] = [
    "app", "*", "example", "APP", "com", "a", "App", "Example", "x", "", "ä", "Ä", "::1", "[::1]",
    "10", "0", "a*b",
];

fn next(data: &mut impl Iterator<Item = u8>) -> u8 {
    data.next().unwrap_or(0)
}

/// A dotted name built from a few tokens, sometimes with a trailing dot, a port, brackets or
/// a stray byte, so that keys, domains and hosts collide often.
fn name(data: &mut impl Iterator<Item = u8>) -> Vec<u8> {
    let labels = next(data) % 3 + 1;
    let mut out: Vec<u8> = Vec::new();
    for i in 0..labels {
        if i > 0 {
            out.push(b'.');
        }
        let t = next(data);
        let t = if t < 192 {
            t % 6
        } else {
            t % TOKENS.len() as u8
        };
        out.extend_from_slice(TOKENS[t as usize].as_bytes());
    }
    match next(data) % 14 {
        0 => out.push(b'.'),
        1 => out.extend_from_slice(b":8080"),
        2 => out.push(b':'),
        3 => {
            out.insert(0, b'[');
            out.extend_from_slice(b"]:80");
        }
        4 => out.push(next(data)),
        5 => out.extend_from_slice(b".:443"),
        _ => {}
    }
    out
}

/// Decodes a sequence of operations from bytes (any bytes decode).
pub fn decode(bytes: &[u8]) -> Vec<Op> {
    let mut data = bytes.iter().copied();
    let mut ops = Vec::new();
    while let Some(b) = data.next() {
        ops.push(match b % 8 {
            0..=2 => Op::Add {
                key: name(&mut data),
                priority: i32::from(next(&mut data) % 3),
                http: next(&mut data) % 5 != 0,
            },
            3 => Op::Del(name(&mut data)),
            4 => {
                let n = next(&mut data) % 3;
                Op::Domains((0..n).map(|_| name(&mut data)).collect())
            }
            _ => Op::Find(name(&mut data)),
        });
    }
    ops
}

/// The model: the HTTP pool as a list of (key, priority, order added), and the domains.
#[derive(Default)]
pub struct Model {
    routes: Vec<(String, i32, u64)>,
    domains: Vec<String>,
    order: u64,
}

/// Go's net.SplitHostPort, host part, or None on error (written from Go's documentation and
/// source comments: `host:port`, `[host]:port`; the port is whatever follows the last colon).
fn go_split_host(s: &str) -> Option<&str> {
    let colon = s.rfind(':')?;
    let (host, rest_from) = if let Some(stripped) = s.strip_prefix('[') {
        let close = s.find(']')?;
        if close + 1 != colon {
            return None;
        }
        (&stripped[..close - 1], close + 1)
    } else {
        let host = &s[..colon];
        if host.contains(':') {
            return None;
        }
        (host, 0)
    };
    let after_open = s.strip_prefix('[').unwrap_or(s);
    if after_open.contains('[') || s[rest_from..].contains(']') {
        return None;
    }
    Some(host)
}

fn host_name(key: &str) -> String {
    key.strip_suffix('.').unwrap_or(key).to_ascii_lowercase()
}

impl Model {
    fn add(&mut self, key: &str, priority: i32) -> bool {
        if let Some(i) = self.routes.iter().position(|(k, _, _)| k == key) {
            if priority < self.routes[i].1 {
                return false;
            }
            self.routes.remove(i);
        }
        self.order += 1;
        self.routes.push((key.to_string(), priority, self.order));
        true
    }

    fn del(&mut self, key: &str) -> bool {
        let before = self.routes.len();
        self.routes.retain(|(k, _, _)| k != key);
        self.routes.len() != before
    }

    fn set_domains(&mut self, domains: &[Vec<u8>]) -> bool {
        let mut new = Vec::new();
        for d in domains {
            let Ok(d) = std::str::from_utf8(d) else {
                return false;
            };
            let body = d.strip_prefix('.').unwrap_or(d);
            let body = body.strip_suffix('.').unwrap_or(body);
            // A domain that is nothing but dots (".", "..", "...") names no domain: refused.
            let no_name = body.bytes().all(|b| b == b'.');
            if d.is_empty() || d.contains('\0') || d.len() > 255 || no_name {
                return false;
            }
            // Labels of letters, digits, '-', '_' or non-ASCII; none empty.
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.bytes()
                        .all(|b| b >= 0x80 || b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            if !body.split('.').all(label_ok) {
                return false;
            }
            new.push(format!(".{}", body.to_ascii_lowercase()));
        }
        self.domains = new;
        true
    }

    /// The best route among those `matches` accepts: highest priority, then added last.
    fn best(&self, matches: impl Fn(&str) -> bool) -> Option<String> {
        self.routes
            .iter()
            .filter(|(k, _, _)| matches(&host_name(k)))
            .max_by_key(|(_, p, o)| (*p, *o))
            .map(|(k, _, _)| k.clone())
    }

    fn by_name(&self, name: &str) -> Option<String> {
        if name.is_empty() {
            return None;
        }
        self.best(|n| n == name)
    }

    /// The key of the route the rules pick for `header`, or None.
    pub fn find(&self, header: &[u8]) -> Option<String> {
        if header.len() > 1024 {
            return None;
        }
        let s = std::str::from_utf8(header).ok()?;
        if s.contains('\0') {
            return None;
        }
        let host = go_split_host(s).unwrap_or(s);
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        let by_key = if self.domains.is_empty() {
            self.by_name(&host).or_else(|| {
                let (label, _) = host.split_once('.')?;
                self.by_name(label)
            })
        } else {
            self.domains
                .iter()
                .filter_map(|d| host.strip_suffix(d.as_str()))
                .find_map(|part| self.by_name(part))
                .or_else(|| self.by_name(&host))
        };
        by_key.or_else(|| {
            let (_, suffix) = host.split_once('.')?;
            self.best(|n| {
                n.strip_prefix("*.")
                    .is_some_and(|w| !w.is_empty() && !w.contains('*') && w == suffix)
            })
        })
    }
}

/// Runs `ops` through a new registry (C ABI) and the model; panics on the first difference.
/// Returns how many lookups found a route (for tests that the sequences exercise hits).
pub fn check(ops: &[Op]) -> usize {
    let mut hits = 0;
    let reg = rr_registry_new();
    let mut model = Model::default();
    let url = "http://10.0.0.1:80";
    for op in ops {
        match op {
            Op::Add {
                key,
                priority,
                http,
            } => {
                let mut r = std::ptr::null_mut();
                let kind = if *http { RR_KIND_HTTP } else { RR_KIND_STREAM };
                let st = rr_route_new(
                    kind,
                    key.as_ptr().cast(),
                    key.len(),
                    url.as_ptr().cast(),
                    url.len(),
                    &mut r,
                );
                if st != RR_OK {
                    continue; // not a valid alias (empty, NUL, not UTF-8): nothing to model
                }
                assert_eq!(rr_route_set_priority(r, *priority), RR_OK);
                let st = rr_add(reg, r);
                rr_route_release(r);
                if *http {
                    let key = std::str::from_utf8(key).unwrap();
                    let want = if model.add(key, *priority) {
                        RR_OK
                    } else {
                        RR_KEPT
                    };
                    assert_eq!(st, want, "add {key:?}");
                }
            }
            Op::Del(key) => {
                let st = rr_del_key(reg, RR_KIND_HTTP, key.as_ptr().cast(), key.len());
                match std::str::from_utf8(key) {
                    // A key no route can have is a bad argument.
                    Ok(k) if k.is_empty() || k.len() > 255 || k.contains('\0') => {
                        assert_eq!(st, RR_INVALID_ARGUMENT, "del {k:?}");
                    }
                    Ok(k) => {
                        let want = if model.del(k) { RR_OK } else { RR_NOT_FOUND };
                        assert_eq!(st, want, "del {k:?}");
                    }
                    Err(_) => assert_eq!(st, RR_INVALID_ARGUMENT, "del {key:?}"),
                }
            }
            Op::Domains(list) => {
                let strs: Vec<rr_str> = list
                    .iter()
                    .map(|d| rr_str {
                        ptr: d.as_ptr().cast(),
                        len: d.len(),
                    })
                    .collect();
                let st = rr_set_route_domains(reg, strs.as_ptr(), strs.len());
                assert_eq!(st == RR_OK, model.set_domains(list), "domains {list:?}");
            }
            Op::Find(host) => {
                let r = rr_find_http_route(reg, host.as_ptr().cast(), host.len());
                let got = (!r.is_null()).then(|| {
                    let k = rr_route_key(r);
                    // SAFETY: the route is held; its key is `len` valid bytes.
                    let key = unsafe { std::slice::from_raw_parts(k.ptr.cast::<u8>(), k.len) };
                    let key = String::from_utf8(key.to_vec()).unwrap();
                    rr_route_release(r);
                    key
                });
                let want = model.find(host);
                hits += usize::from(want.is_some());
                assert_eq!(
                    got,
                    want,
                    "host {:?} with domains {:?} and routes {:?}",
                    String::from_utf8_lossy(host),
                    model.domains,
                    model.routes
                );
            }
        }
    }
    rr_registry_free(reg);
    hits
}
