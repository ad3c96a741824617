//! Health JSON: routes with any aliases, keys, kinds, priorities and health (detail = any
//! bytes) in a `Registry`, rendered in all three formats.
//!
//! Properties: each output parses as JSON; it has exactly one entry per distinct alias of the
//! live routes, sorted, each key equal to the alias; each entry shows the health of the route
//! GoDoxy's map would keep for that alias (the last one in the order HTTP, STREAM, EXCLUDED,
//! ascending key within a pool); the status string, uptime and latency (ns, clamped to int64)
//! match; the detail parses back to the text Go's rule gives (`common::go_decode`, written
//! independently of the library); and no raw `<`, `>`, `&`, U+2028, U+2029 appear.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::{check_health_json, detail_bytes, status_name, Expected, Piece};
use libfuzzer_sys::fuzz_target;
use route_registry::{HealthFormat, HealthStatus, Kind, Registry, Route};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A name: mostly from a small set (so aliases and keys collide), sometimes anything.
#[derive(Arbitrary, Debug)]
enum Name {
    Small(u8),
    Any(String),
}

impl Name {
    fn text(&self) -> String {
        const SMALL: [&str; 10] = [
            "a",
            "b",
            "A",
            "é",
            "<&>",
            "a\u{2028}b",
            "\u{0}",
            "x\"y\\z",
            "日本",
            "\u{7f}\u{80}",
        ];
        match self {
            Name::Small(i) => SMALL[usize::from(*i) % SMALL.len()].to_string(),
            Name::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct HealthSpec {
    /// High bit set: the raw value (mostly not a status); else one of the six statuses.
    status: u8,
    uptime_ns: u64,
    latency_ns: u64,
    detail: Vec<Piece>,
}

#[derive(Arbitrary, Debug)]
struct RouteSpec {
    alias: Name,
    key: Option<Name>,
    kind: u8,
    priority: i8,
    health: Option<HealthSpec>,
}

struct Live {
    alias: String,
    priority: i32,
    expected: Expected,
}

fuzz_target!(|specs: Vec<RouteSpec>| {
    let reg = Registry::new();
    // Model: per pool, key -> the live route's alias, priority and health.
    let mut model: [BTreeMap<String, Live>; 3] = Default::default();
    for spec in specs.iter().take(64) {
        let kind = Kind::ALL[usize::from(spec.kind) % 3];
        let url = if kind == Kind::Excluded && spec.kind & 4 != 0 {
            ""
        } else {
            "http://10.0.0.1:80"
        };
        let alias = spec.alias.text();
        let route = Route::new(kind, &alias, url);
        let alias_ok = !alias.is_empty() && alias.len() <= 255;
        assert_eq!(route.is_ok(), alias_ok, "Route::new with alias {alias:?}");
        let Ok(route) = route else { continue };
        let mut key = alias.clone();
        if let Some(k) = &spec.key {
            let k = k.text();
            let set = route.set_key(&k);
            assert_eq!(set.is_ok(), k.len() <= 255, "set_key({k:?})");
            if set.is_ok() && !k.is_empty() {
                key = k;
            }
        }
        assert_eq!(route.key(), key);
        route
            .set_priority(i32::from(spec.priority))
            .expect("not frozen yet");
        let mut expected = Expected::never_set();
        if let Some(h) = &spec.health {
            let raw = if h.status & 0x80 != 0 {
                u32::from(h.status)
            } else {
                [0, 1, 2, 4, 8, 16][usize::from(h.status) % 6]
            };
            let status = HealthStatus::from_u32(raw);
            assert_eq!(status.is_ok(), status_name(raw).is_some(), "status {raw}");
            if let Ok(status) = status {
                let (up, lat) = (
                    Duration::from_nanos(h.uptime_ns),
                    Duration::from_nanos(h.latency_ns),
                );
                let detail = detail_bytes(&h.detail);
                route.set_health(status, up, lat, &detail);
                expected = Expected {
                    status: status_name(raw).unwrap(),
                    uptime_ns: h.uptime_ns,
                    latency_ns: h.latency_ns,
                    detail,
                };
                assert_eq!(route.health_status(), status);
            }
        }
        let route = Arc::new(route);
        let added = reg.add(&route);
        let pool = &mut model[kind.index()];
        let priority = i32::from(spec.priority);
        let keeps = pool.get(&key).is_some_and(|old| old.priority > priority);
        assert_eq!(
            added.registered(),
            !keeps,
            "add of {key:?} (priority {priority})"
        );
        if !keeps {
            pool.insert(
                key,
                Live {
                    alias,
                    priority,
                    expected,
                },
            );
        }
    }

    // Per alias, the entry shown is the last live route in (pool, key) order.
    let mut want: BTreeMap<String, Expected> = BTreeMap::new();
    for pool in &model {
        for live in pool.values() {
            want.insert(live.alias.clone(), live.expected.clone());
        }
    }
    for (n, format) in [
        HealthFormat::Full,
        HealthFormat::WithoutDetail,
        HealthFormat::Simple,
    ]
    .into_iter()
    .enumerate()
    {
        check_health_json(&reg.health_json(format), n as u32, &want);
    }
});
