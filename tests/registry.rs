//! Registry rules (docs/BEHAVIOUR.md) through the core API.

mod common;

use parking_lot::Mutex;
use route_registry::clock::ManualClock;
use route_registry::{Added, HealthFormat, HealthStatus, Kind, Registry, Route, Status};
use std::sync::Arc;
use std::time::Duration;

fn route(kind: Kind, alias: &str, url: &str) -> Arc<Route> {
    Arc::new(Route::new(kind, alias, url).unwrap())
}

fn http(alias: &str) -> Arc<Route> {
    route(Kind::Http, alias, "http://10.0.0.1:80")
}

fn keys(v: &[Arc<Route>]) -> Vec<String> {
    v.iter().map(|r| r.key()).collect()
}

#[test]
fn get_searches_http_then_stream_never_excluded() {
    let reg = Registry::new();
    let s = route(Kind::Stream, "a", "tcp://10.0.0.1:5432");
    let e = route(Kind::Excluded, "b", "");
    reg.add(&s);
    reg.add(&e);
    assert!(Arc::ptr_eq(&reg.get("a").unwrap(), &s));
    assert!(reg.get("b").is_none());
    assert!(Arc::ptr_eq(&reg.get_include_excluded("b").unwrap(), &e));
    let h = http("a");
    reg.add(&h);
    assert!(Arc::ptr_eq(&reg.get("a").unwrap(), &h));
}

#[test]
fn get_http_route_or_exact_tries_alias_then_host() {
    let reg = Registry::new();
    let app = http("app");
    let exact = http("app.example.com");
    reg.add(&app);
    reg.add(&exact);
    assert!(Arc::ptr_eq(
        &reg.get_http_route_or_exact("app", "x").unwrap(),
        &app
    ));
    assert!(Arc::ptr_eq(
        &reg.get_http_route_or_exact("nope", "app.example.com")
            .unwrap(),
        &exact
    ));
    assert!(reg.get_http_route_or_exact("nope", "nope").is_none());
    // Only the HTTP pool.
    reg.add(&route(Kind::Stream, "s", "tcp://h:1"));
    assert!(reg.get_http_route_or_exact("s", "s").is_none());
}

#[test]
fn counts_cover_active_and_all_pools_and_ignore_tombstones() {
    let reg = Registry::new();
    reg.add(&http("a"));
    reg.add(&http("b"));
    reg.add(&route(Kind::Stream, "s", "udp://h:53"));
    reg.add(&route(Kind::Excluded, "x", ""));
    assert_eq!(reg.num_active_routes(), 3);
    assert_eq!(reg.num_all_routes(), 4);
    reg.del(Kind::Http, "b").unwrap();
    assert_eq!(reg.pool(Kind::Http).size(), 1);
    assert_eq!(reg.num_active_routes(), 2);
    reg.clear();
    assert_eq!(reg.num_all_routes(), 0);
}

#[test]
fn a_kept_route_is_not_frozen_and_not_registered() {
    let reg = Registry::new();
    let high = http("a");
    high.set_priority(10).unwrap();
    reg.add(&high);
    let low = http("a");
    match reg.add(&low) {
        Added::Kept(k) => assert!(Arc::ptr_eq(&k, &high)),
        other => panic!("{other:?}"),
    }
    assert!(!low.is_frozen());
    low.set_priority(11).unwrap();
    assert!(matches!(reg.add(&low), Added::Replaced(_)));
    assert!(low.is_frozen());
}

#[test]
fn add_if_not_exists_keeps_the_existing_route_and_reloads_tombstones() {
    let clock = Arc::new(ManualClock::new());
    let reg = Registry::with_clock(clock.clone());
    let a = http("a");
    assert!(matches!(reg.add_if_not_exists(&a), Added::Added));
    let b = http("a");
    b.set_priority(100).unwrap();
    match reg.add_if_not_exists(&b) {
        Added::Kept(k) => assert!(Arc::ptr_eq(&k, &a)),
        other => panic!("{other:?}"),
    }
    reg.del(Kind::Http, "a").unwrap();
    clock.advance(Duration::from_millis(500));
    assert!(matches!(reg.add_if_not_exists(&b), Added::Reloaded));
}

#[test]
fn a_deleted_route_stays_valid_while_held() {
    let reg = Registry::new();
    reg.add(&http("a"));
    let held = reg.get("a").unwrap();
    reg.del(Kind::Http, "a").unwrap();
    reg.clear();
    assert_eq!(held.alias(), "a");
    held.with_identity(|i| assert_eq!(i.upstream().host().as_str(), "10.0.0.1"));
}

#[test]
fn generation_changes_on_mutations_only() {
    let reg = Registry::new();
    let g0 = reg.generation();
    let a = http("a");
    reg.add(&a);
    let g1 = reg.generation();
    assert_ne!(g0, g1);
    reg.get("a");
    a.set_health(HealthStatus::Healthy, Duration::ZERO, Duration::ZERO, b"");
    reg.health_json(HealthFormat::Full);
    assert_eq!(reg.generation(), g1);
    let low = http("a");
    low.set_priority(-1).unwrap();
    reg.add(&low); // kept: no change
    assert_eq!(reg.generation(), g1);
    reg.del(Kind::Http, "a").unwrap();
    let g2 = reg.generation();
    assert_ne!(g1, g2);
    assert!(reg.del(Kind::Http, "a").is_err()); // absent: no change
    assert_eq!(reg.generation(), g2);
    reg.load_proxmox_json(br#"{"nodes":[]}"#).unwrap();
    let g3 = reg.generation();
    assert_ne!(g2, g3);
    assert!(reg.load_proxmox_json(b"nope").is_err());
    assert_eq!(reg.generation(), g3);
    reg.clear(); // nothing live: no change
    assert_eq!(reg.generation(), g3);
    reg.add(&http("b"));
    let g4 = reg.generation();
    reg.clear();
    assert_eq!(reg.generation(), g4 + 1);
}

#[test]
fn iteration_visits_live_routes_in_pool_order_and_stops_early() {
    let reg = Registry::new();
    reg.add(&http("h1"));
    reg.add(&http("h2"));
    reg.add(&route(Kind::Stream, "s1", "tcp://h:1"));
    reg.add(&route(Kind::Excluded, "x1", ""));
    reg.add(&http("dead"));
    reg.del(Kind::Http, "dead").unwrap();
    let mut seen = Vec::new();
    assert_eq!(
        reg.iter_all(|r| {
            seen.push((r.kind(), r.alias()));
            true
        }),
        4
    );
    let kinds: Vec<Kind> = seen.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [Kind::Http, Kind::Http, Kind::Stream, Kind::Excluded]
    );
    assert_eq!(reg.iter_active(|_| true), 3);
    assert_eq!(reg.iter_all(|_| false), 1);
}

#[test]
fn a_visitor_may_add_and_delete_without_deadlock() {
    let reg = Registry::new();
    for i in 0..50 {
        reg.add(&http(&format!("r{i}")));
    }
    let mut n = 0;
    reg.iter_all(|r| {
        n += 1;
        reg.del(Kind::Http, &r.key()).unwrap();
        reg.add(&http(&format!("new{n}")));
        reg.get("r1");
        let _ = reg.health_json(HealthFormat::Simple);
        true
    });
    assert_eq!(n, 50, "the snapshot is fixed when the pool's visit starts");
    assert_eq!(reg.num_all_routes(), 50);
    assert!(reg.get("r0").is_none());
}

#[test]
fn sorted_listing_is_by_alias_then_key() {
    let reg = Registry::new();
    for (alias, key) in [("b", "b"), ("a", "p2:a"), ("a", "p1:a")] {
        let r = http(alias);
        r.set_key(key).unwrap();
        reg.add(&r);
    }
    assert_eq!(keys(&reg.pool(Kind::Http).sorted()), ["p1:a", "p2:a", "b"]);
}

#[test]
fn by_provider_lists_keys_sorted_over_all_pools() {
    let reg = Registry::new();
    for (kind, alias, provider) in [
        (Kind::Http, "b", "docker"),
        (Kind::Http, "a", "docker"),
        (Kind::Stream, "a", "docker"),
        (Kind::Excluded, "z", "file"),
        (Kind::Http, "n", ""),
    ] {
        let url = match kind {
            Kind::Http => "http://h:1",
            Kind::Stream => "tcp://h:1",
            Kind::Excluded => "",
        };
        let r = route(kind, alias, url);
        r.set_provider(provider).unwrap();
        reg.add(&r);
    }
    let map = reg.by_provider();
    assert_eq!(map["docker"], ["a", "a", "b"]);
    assert_eq!(map["file"], ["z"]);
    assert_eq!(map[""], ["n"]);
    assert_eq!(
        reg.by_provider_json(),
        r#"{"":["n"],"docker":["a","a","b"],"file":["z"]}"#
    );
    let order: Vec<(String, String, Kind)> = reg
        .by_provider_routes()
        .iter()
        .map(|r| r.with_identity(|i| (i.provider().to_string(), i.key().to_string(), i.kind())))
        .collect();
    let expected = [
        ("", "n", Kind::Http),
        ("docker", "a", Kind::Http),
        ("docker", "a", Kind::Stream),
        ("docker", "b", Kind::Http),
        ("file", "z", Kind::Excluded),
    ];
    assert_eq!(
        order,
        expected.map(|(p, k, kind)| (p.to_string(), k.to_string(), kind))
    );
}

#[test]
fn health_winner_for_a_shared_alias_is_the_last_in_http_stream_excluded_key_order() {
    let reg = Registry::new();
    let mk = |kind: Kind, key: &str, detail: &str| {
        let url = if kind == Kind::Stream {
            "tcp://h:1"
        } else {
            "http://h:1"
        };
        let r = route(kind, "same", url);
        r.set_key(key).unwrap();
        r.set_health(
            HealthStatus::Healthy,
            Duration::ZERO,
            Duration::ZERO,
            detail.as_bytes(),
        );
        reg.add(&r);
    };
    mk(Kind::Http, "k2", "http-k2");
    mk(Kind::Http, "k1", "http-k1");
    assert_eq!(
        reg.health_json(HealthFormat::Full),
        r#"{"same":{"status":"healthy","uptime":0,"latency":0,"detail":"http-k2"}}"#
    );
    mk(Kind::Stream, "k0", "stream-k0");
    assert!(reg.health_json(HealthFormat::Full).contains("stream-k0"));
    mk(Kind::Excluded, "a", "excluded-a");
    assert!(reg.health_json(HealthFormat::Full).contains("excluded-a"));
}

#[test]
fn proxmox_link_is_found_on_first_add_only() {
    let reg = Registry::new();
    reg.load_proxmox_json(
        br#"{"nodes":[{"name":"pve1","ip":"10.0.0.2"}],
             "resources":[{"node":"pve1","vmid":100,"name":"web","ips":["10.0.0.50"]}]}"#,
    )
    .unwrap();
    let r = route(Kind::Http, "site", "http://10.0.0.50:8080");
    reg.add(&r);
    r.with_identity(|i| {
        let l = i.proxmox().unwrap();
        assert_eq!(
            (l.node.as_str(), l.vmid, l.vmname.as_str()),
            ("pve1", 100, "web")
        );
    });
    let explicit = route(Kind::Http, "x", "http://h:1");
    explicit.set_proxmox("pve1", 100).unwrap();
    reg.add(&explicit);
    explicit.with_identity(|i| assert_eq!(i.proxmox().unwrap().vmname.as_str(), "web"));
    // A kept-out route is not linked (not frozen).
    let low = route(Kind::Http, "site", "http://10.0.0.2:8006");
    low.set_priority(-5).unwrap();
    reg.add(&low);
    low.with_identity(|i| assert!(i.proxmox().is_none()));
}

#[test]
fn logging_reports_added_reloaded_replaced_removed_and_cleared() {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    route_registry::log::set_sink(
        route_registry::log::LevelFilter::Debug,
        Some(Arc::new(move |_level, msg: &str| {
            if msg.to_lowercase().contains("logtest") {
                sink.lock().push(msg.to_string());
            }
        })),
    );
    let clock = Arc::new(ManualClock::new());
    let reg = Registry::with_clock(clock);
    let a = http("logtest");
    a.set_display_name("LogTest").unwrap();
    reg.add(&a);
    reg.add(&http("logtest"));
    reg.del(Kind::Http, "logtest").unwrap();
    reg.add(&http("logtest"));
    reg.add(&http("logtest-kept-out-never"));
    let low = http("logtest");
    low.set_priority(-1).unwrap();
    reg.add(&low);
    route_registry::log::set_sink(route_registry::log::LevelFilter::Off, None);
    let got = lines.lock().clone();
    assert_eq!(
        got,
        [
            "http_routes: added LogTest",
            "http_routes: replaced logtest",
            "http_routes: removed logtest",
            "http_routes: reloaded logtest",
            "http_routes: added logtest-kept-out-never",
        ]
    );
}

#[test]
fn health_json_shows_new_health_at_once_and_never_holds_deleted_routes() {
    let reg = Registry::new();
    let a = http("a");
    reg.add(&a);
    reg.add(&http("b"));
    assert!(reg
        .health_json(HealthFormat::Simple)
        .contains(r#""a":"unknown""#));
    // The order is cached per generation; the health values are not.
    a.set_health(HealthStatus::Healthy, Duration::ZERO, Duration::ZERO, b"");
    assert!(reg
        .health_json(HealthFormat::Simple)
        .contains(r#""a":"healthy""#));
    a.set_health(HealthStatus::Error, Duration::ZERO, Duration::ZERO, b"boom");
    assert!(reg.health_json(HealthFormat::Full).contains("boom"));
    // A delete drops the index's references (the change log keeps one, in its REMOVED
    // record, until the record is dropped: capacity 1, so at the next commit).
    reg.set_change_log_capacity(1).unwrap();
    reg.del(Kind::Http, "a").unwrap();
    assert_eq!(
        Arc::strong_count(&a),
        2,
        "the test and the change log hold the deleted route"
    );
    reg.add(&http("z"));
    reg.del(Kind::Http, "z").unwrap();
    assert_eq!(
        Arc::strong_count(&a),
        1,
        "only the test holds the deleted route"
    );
    assert_eq!(reg.health_json(HealthFormat::Simple), r#"{"b":"unknown"}"#);
    reg.add(&http("c"));
    assert_eq!(
        reg.health_json(HealthFormat::Simple),
        r#"{"b":"unknown","c":"unknown"}"#
    );
}

#[test]
fn health_routes_follow_replacement_key_changes_and_pool_clears() {
    let reg = Registry::new();
    // Two routes under one key with different aliases: the replaced alias leaves the JSON.
    let old = http("old-name");
    old.set_key("k").unwrap();
    let new = http("new-name");
    new.set_key("k").unwrap();
    reg.add(&old);
    reg.add(&new);
    assert_eq!(
        reg.health_json(HealthFormat::Simple),
        r#"{"new-name":"unknown"}"#
    );
    // The change log holds the routes its records name; keep none of them.
    reg.set_change_log_capacity(1).unwrap();
    reg.add(&http("other"));
    assert_eq!(
        Arc::strong_count(&old),
        1,
        "the replaced route is let go of"
    );
    // The same alias in each pool: the EXCLUDED one wins; clearing that pool falls back.
    let s = route(Kind::Stream, "new-name", "tcp://10.0.0.1:5432");
    s.set_key("s").unwrap();
    let e = route(Kind::Excluded, "new-name", "");
    reg.add(&s);
    reg.add(&e);
    common::assert_health_matches_recount(&reg);
    assert!(Arc::ptr_eq(&reg.health_routes()[0], &e));
    reg.pool_clear(Kind::Excluded);
    assert_eq!(Arc::strong_count(&e), 1, "a cleared route is let go of");
    assert!(Arc::ptr_eq(&reg.health_routes()[0], &s));
    reg.del(Kind::Stream, "s").unwrap();
    assert!(Arc::ptr_eq(&reg.health_routes()[0], &new));
    reg.clear();
    assert_eq!(reg.health_json(HealthFormat::Full), "{}");
    for r in [&old, &new, &s, &e] {
        assert_eq!(Arc::strong_count(r), 1);
    }
}

#[test]
fn health_routes_equal_a_recount_after_every_change() {
    // Aliases share long prefixes (the index compares 16 bytes inline, then the text), keys
    // differ from aliases, and priorities make some adds keep the old route.
    let aliases: Vec<String> = (0..6)
        .map(|i| format!("a-very-long-common-prefix-{i}"))
        .chain(["x".to_string(), "y".to_string()])
        .collect();
    let reg = Registry::new();
    let mut made = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..3000 {
        let kind = Kind::ALL[next(3)];
        let key = format!("key-{}", next(12));
        match next(10) {
            0..=5 => {
                let url = match kind {
                    Kind::Http => "http://10.0.0.1:80",
                    Kind::Stream => "tcp://10.0.0.1:53",
                    Kind::Excluded => "",
                };
                let r = route(kind, &aliases[next(aliases.len())], url);
                made.push(Arc::downgrade(&r));
                r.set_key(&key).unwrap();
                r.set_priority(next(3) as i32).unwrap();
                if next(4) == 0 {
                    reg.add_if_not_exists(&r);
                } else {
                    reg.add(&r);
                }
            }
            6..=8 => {
                let _ = reg.del(kind, &key);
            }
            _ if step % 50 == 0 => reg.pool_clear(kind),
            _ => {}
        }
        common::assert_health_matches_recount(&reg);
    }
    drop(reg);
    assert!(
        made.iter().all(|w| w.upgrade().is_none()),
        "no route outlives the registry"
    );
}

#[test]
fn a_kept_add_is_the_kept_error_naming_both_routes_decided_by_the_core() {
    let reg = Registry::new();
    let high = http("a");
    high.set_priority(10).unwrap();
    reg.add(&high);
    let low = http("a");
    let added = reg.add(&low);
    assert!(Arc::ptr_eq(&added.holder(&low), &high));
    let e = added.into_result(&low).unwrap_err();
    assert_eq!(e.status(), Status::Kept);
    assert_eq!(
        e.message(),
        "route \"a\" was not added: the route with key \"a\" (priority 10) stays (new priority 0)"
    );
    let fresh = http("b");
    let added = reg.add(&fresh);
    assert!(Arc::ptr_eq(&added.holder(&fresh), &fresh));
    assert!(matches!(added.into_result(&fresh), Ok(Added::Added)));
}

#[test]
fn deleting_an_absent_key_is_not_found_quoting_at_most_64_characters() {
    let reg = Registry::new();
    let e = reg.del(Kind::Stream, "gone").unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(e.message(), "no route with key \"gone\" in stream_routes");
    let huge = "z".repeat(1 << 20);
    let e = reg.del(Kind::Http, &huge).unwrap_err();
    assert!(e.message().contains(&format!("\"{}...\"", "z".repeat(64))));
    assert!(!e.message().contains(&"z".repeat(65)));
    let r = http("here");
    reg.add(&r);
    assert!(Arc::ptr_eq(&reg.del_route(&r).unwrap(), &r));
    assert_eq!(reg.del_route(&r).unwrap_err().status(), Status::NotFound);
}

#[test]
fn sorted_and_by_provider_iteration_count_the_call_that_stops() {
    let reg = Registry::new();
    for a in ["c", "a", "b"] {
        let r = http(a);
        r.set_provider(if a == "a" { "p2" } else { "p1" }).unwrap();
        reg.add(&r);
    }
    let mut seen = Vec::new();
    let n = reg.iter_sorted(Kind::Http, |r| {
        seen.push(r.key());
        seen.len() < 2
    });
    assert_eq!((n, seen), (2, vec!["a".to_string(), "b".to_string()]));
    assert_eq!(reg.iter_sorted(Kind::Stream, |_| true), 0);
    let mut seen = Vec::new();
    let n = reg.iter_by_provider(|r| {
        seen.push(r.key());
        true
    });
    assert_eq!((n, seen), (3, vec!["b".into(), "c".into(), "a".into()]));
}

#[test]
fn a_route_without_proxmox_link_is_not_found_in_the_core() {
    let r = http("plain");
    let e = r
        .with_identity(|i| i.proxmox_link().map(|l| l.vmid))
        .unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert_eq!(e.message(), "route \"plain\" has no Proxmox link");
}
