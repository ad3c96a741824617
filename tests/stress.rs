//! A bounded multi-threaded stress test: threads mix add, del, get, iterate, set_health and
//! health_json on one registry and check invariants as they go. Duration: RR_STRESS_MS
//! (default 3000 ms).

mod common;

use route_registry::{HealthFormat, HealthStatus, Kind, Registry, Route};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const THREADS: usize = 6;
const SHARED_KEYS: usize = 64;
const OWN_KEYS: usize = 32;

/// A small deterministic PRNG (xorshift), so failures can be replayed from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn make(kind: Kind, key: &str, prio: i32) -> Arc<Route> {
    let url = if kind == Kind::Http {
        "http://10.1.2.3:80"
    } else {
        "tcp://10.1.2.3:5432"
    };
    let r = Route::new(kind, key, url).unwrap();
    r.set_priority(prio).unwrap();
    Arc::new(r)
}

#[test]
fn concurrent_mixed_operations_keep_invariants() {
    let ms: u64 = std::env::var("RR_STRESS_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let reg = Arc::new(Registry::new());
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let start_live = route_registry::route::live_routes();
    let shared: Vec<String> = (0..SHARED_KEYS).map(|i| format!("shared-{i}")).collect();
    let shared = Arc::new(shared);

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (reg, stop, ops, shared) = (reg.clone(), stop.clone(), ops.clone(), shared.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                // Keys only this thread touches: it knows exactly what get must return.
                let own: Vec<String> = (0..OWN_KEYS).map(|i| format!("own-{t}-{i}")).collect();
                let mut model: Vec<Option<Arc<Route>>> = vec![None; OWN_KEYS];
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    match rng.below(10) {
                        0 | 1 => {
                            let i = rng.below(OWN_KEYS);
                            let r = make(Kind::Http, &own[i], 0);
                            assert!(reg.add(&r).registered());
                            model[i] = Some(r);
                        }
                        2 => {
                            let i = rng.below(OWN_KEYS);
                            let removed = reg.del(Kind::Http, &own[i]).ok();
                            assert_eq!(removed.is_some(), model[i].is_some());
                            if let (Some(a), Some(b)) = (&removed, &model[i]) {
                                assert!(Arc::ptr_eq(a, b));
                            }
                            model[i] = None;
                        }
                        3 => {
                            let i = rng.below(OWN_KEYS);
                            let got = reg.get(&own[i]);
                            match (&got, &model[i]) {
                                (Some(a), Some(b)) => assert!(Arc::ptr_eq(a, b)),
                                (None, None) => {}
                                _ => panic!("thread {t}: get({}) disagrees with the model", own[i]),
                            }
                        }
                        4 => {
                            let key = &shared[rng.below(SHARED_KEYS)];
                            let kind = if rng.below(2) == 0 {
                                Kind::Http
                            } else {
                                Kind::Stream
                            };
                            let r = make(kind, key, rng.below(3) as i32);
                            reg.add(&r);
                        }
                        5 => {
                            let key = &shared[rng.below(SHARED_KEYS)];
                            let _ = reg.del(
                                if rng.below(2) == 0 {
                                    Kind::Http
                                } else {
                                    Kind::Stream
                                },
                                key,
                            );
                        }
                        6 => {
                            let key = &shared[rng.below(SHARED_KEYS)];
                            if let Some(r) = reg.get(key) {
                                assert_eq!(&r.key(), key);
                                assert!(r.is_frozen());
                            }
                        }
                        7 => {
                            let mut seen = HashSet::new();
                            let mut kind_seen = Kind::Http;
                            reg.iter_active(|r| {
                                let k = r.kind();
                                if k != kind_seen {
                                    assert_eq!((kind_seen, k), (Kind::Http, Kind::Stream));
                                    kind_seen = k;
                                    seen.clear();
                                }
                                assert!(seen.insert(r.key()), "a key twice in one pool snapshot");
                                true
                            });
                            let cap = SHARED_KEYS + THREADS * OWN_KEYS;
                            assert!(reg.pool(Kind::Http).size() <= cap);
                            assert!(reg.pool(Kind::Stream).size() <= SHARED_KEYS);
                        }
                        8 => {
                            if let Some(r) = reg.get(&shared[rng.below(SHARED_KEYS)]) {
                                let s =
                                    [HealthStatus::Healthy, HealthStatus::Unhealthy][rng.below(2)];
                                r.set_health(
                                    s,
                                    Duration::from_secs(1),
                                    Duration::from_millis(2),
                                    b"d\xff",
                                );
                            }
                        }
                        _ => {
                            let json = reg.health_json(HealthFormat::Full);
                            let v: serde_json::Value =
                                serde_json::from_str(&json).expect("valid JSON");
                            let obj = v.as_object().unwrap();
                            assert!(obj.len() <= SHARED_KEYS + THREADS * OWN_KEYS);
                            for h in obj.values() {
                                assert!(h["status"].is_string());
                            }
                        }
                    }
                }
                // The final state of this thread's keys is exactly its model.
                for (i, key) in own.iter().enumerate() {
                    assert_eq!(reg.pool(Kind::Http).get(key).is_some(), model[i].is_some());
                }
                ops.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("a stress thread failed");
    }
    // Sizes agree with a recount by iteration once quiet.
    for kind in Kind::ALL {
        assert_eq!(reg.pool(kind).size(), reg.pool(kind).snapshot().len());
    }
    // The health index, kept up to date by every thread's changes, agrees with a recount.
    common::assert_health_matches_recount(&reg);
    let total = ops.load(Ordering::Relaxed);
    assert!(total > 1000, "only {total} operations ran");
    eprintln!("stress: {total} operations in {ms} ms over {THREADS} threads");
    reg.clear();
    drop(reg);
    assert_eq!(
        route_registry::route::live_routes(),
        start_live,
        "routes leaked"
    );
}
