//! Read scaling: lookups per second with 1 and 2 reader threads while a writer does 1 000
//! add/del per second, for a 32-shard pool (the default) and a single-lock pool (the design
//! card's starting point). Also: memory per route.
//! Run: `cargo bench --bench scaling` (figures in BENCHMARKS.md).

use arc_swap::ArcSwap;
use route_registry::clock::SystemClock;
use route_registry::{Kind, Registry, Route};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts bytes currently allocated, to measure memory per route.
struct Counting;
static ALLOCATED: AtomicIsize = AtomicIsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

const ROUTES: usize = 100_000;

fn alias(i: usize) -> String {
    format!("app-{i:06}.example")
}

fn route(i: usize) -> Arc<Route> {
    Arc::new(Route::new(Kind::Http, &alias(i), "http://10.0.0.1:8080").unwrap())
}

fn filled(shards: usize) -> Arc<Registry> {
    let reg = Arc::new(Registry::with_clock_and_shards(
        Arc::new(SystemClock),
        shards,
    ));
    for i in 0..ROUTES {
        reg.add(&route(i));
    }
    reg
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The RCU alternative the design card named: readers load an immutable map through
/// `arc-swap`; a writer copies the map, changes the copy and swaps it in. (Bench-only, without
/// tombstones: enough to measure reads and the cost of a write.)
struct RcuPool(ArcSwap<HashMap<Box<str>, Arc<Route>>>);

impl RcuPool {
    fn get(&self, key: &str) -> Option<Arc<Route>> {
        self.0.load().get(key).cloned()
    }
    fn add(&self, key: &str, r: Arc<Route>) {
        self.0.rcu(|m| {
            let mut m = HashMap::clone(m);
            m.insert(key.into(), r.clone());
            m
        });
    }
    fn del(&self, key: &str) {
        self.0.rcu(|m| {
            let mut m = HashMap::clone(m);
            m.remove(key);
            m
        });
    }
}

/// Which keys the readers look up.
#[derive(Clone, Copy, PartialEq)]
enum Keys {
    /// Each reader its own 4 096 routes (as requests for different sites would).
    Own,
    /// Both readers the same 4 096 routes, in the same order: every route's reference count
    /// is written by both cores, so its cache line moves between them on every pass.
    Shared,
}

/// Lookups per second with 1 and 2 readers while `write` runs 1 000 times a second (or as
/// often as it can, if slower). 1- and 2-reader runs of `secs` alternate; the result is the
/// median 1-reader rate, the median 2-reader rate, and the median of the ratios of each
/// 2-reader run to the mean of the 1-reader runs on either side of it (so a change in the
/// VM's speed that outlasts a few runs cancels out).
fn scaling<G, W>(get: G, write: W, keys: Keys, secs: f64) -> (f64, f64, f64)
where
    G: Fn(&str) + Send + Sync + 'static,
    W: Fn(usize) + Send + Sync + 'static,
{
    let (get, write) = (Arc::new(get), Arc::new(write));
    // Two disjoint sets of 4 096 routes spread over the registry.
    let key_sets: Arc<Vec<Vec<String>>> = Arc::new(
        (0..2)
            .map(|set| {
                (0..4096)
                    .map(|i| alias((2 * i + set) * 7919 % ROUTES))
                    .collect()
            })
            .collect(),
    );
    let run = |readers: usize| {
        let stop = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicU64::new(0));
        let writer = {
            let (write, stop) = (write.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    for _ in 0..10 {
                        i = (i + 1) % ROUTES;
                        write(i);
                    }
                    std::thread::sleep(Duration::from_millis(10).saturating_sub(t.elapsed()));
                }
            })
        };
        let threads: Vec<_> = (0..readers)
            .map(|t| {
                let (get, stop, total, key_sets) =
                    (get.clone(), stop.clone(), total.clone(), key_sets.clone());
                std::thread::spawn(move || {
                    let (keys, start) = match keys {
                        Keys::Own => (&key_sets[t], 0),
                        Keys::Shared => (&key_sets[0], t * 1013),
                    };
                    let (mut n, mut i) = (0u64, start);
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..256 {
                            i = (i + 1) & 4095;
                            get(&keys[i]);
                        }
                        n += 256;
                    }
                    total.fetch_add(n, Ordering::Relaxed);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        writer.join().unwrap();
        total.load(Ordering::Relaxed) as f64 / secs
    };
    const PAIRS: usize = 40;
    let mut ones = vec![run(1)];
    let mut twos = Vec::new();
    for _ in 0..PAIRS {
        twos.push(run(2));
        ones.push(run(1));
    }
    let ratios = (0..PAIRS)
        .map(|i| twos[i] / ((ones[i] + ones[i + 1]) / 2.0))
        .collect();
    (median(ones), median(twos), median(ratios))
}

fn report(name: &str, (one, two, ratio): (f64, f64, f64)) {
    println!(
        "  {name:<34} 1 reader {:>6.1} M lookups/s, 2 readers {:>6.1} M lookups/s, ratio {ratio:.2}x",
        one / 1e6,
        two / 1e6,
    );
}

fn main() {
    let secs: f64 = std::env::var("RR_SCALING_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.05);
    println!(
        "read scaling, {ROUTES} routes, a writer doing 1000 operations (500 del + 500 add) per second; \
         1- and 2-reader runs of {secs} s alternate 40 times; median rates, and the median ratio of \
         each 2-reader run to the 1-reader runs beside it"
    );
    // The machine's own ceiling at this moment: the same harness with pure arithmetic instead
    // of lookups (a shared VM may not give two full cores).
    let res = scaling(
        |k| {
            let mut x = k.len() as u64;
            for _ in 0..64 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
            }
            std::hint::black_box(x);
        },
        |_| {},
        Keys::Own,
        secs,
    );
    report("baseline: arithmetic only", res);
    for (shards, keys) in [(32usize, Keys::Own), (1, Keys::Own), (32, Keys::Shared)] {
        let reg = filled(shards);
        let (r, w) = (reg.clone(), reg.clone());
        let res = scaling(
            move |k| drop(std::hint::black_box(r.get(k))),
            move |i| {
                if i % 2 == 0 {
                    let _ = w.del(Kind::Http, &alias(i));
                } else {
                    w.add(&route(i - 1));
                }
            },
            keys,
            secs,
        );
        let name = match keys {
            Keys::Own => format!("pool, {shards} shard(s)"),
            Keys::Shared => format!("pool, {shards} shard(s), same keys"),
        };
        report(&name, res);
    }
    let rcu = Arc::new(RcuPool(ArcSwap::from_pointee(
        (0..ROUTES)
            .map(|i| (alias(i).into_boxed_str(), route(i)))
            .collect(),
    )));
    let t = Instant::now();
    for i in 0..100 {
        if i % 2 == 0 {
            rcu.del(&alias(i));
        } else {
            rcu.add(&alias(i - 1), route(i - 1));
        }
    }
    let per_write = t.elapsed() / 100;
    println!(
        "  RCU (arc-swap) map:          one add or del copies the map: {per_write:?} per write at {ROUTES} routes \
         (1 000 writes/s would need {:.1} s of CPU per second)",
        per_write.as_secs_f64() * 1000.0
    );
    let (r, w) = (rcu.clone(), rcu.clone());
    let res = scaling(
        move |k| drop(std::hint::black_box(r.get(k))),
        move |i| {
            if i % 2 == 0 {
                w.del(&alias(i));
            } else {
                w.add(&alias(i - 1), route(i - 1));
            }
        },
        Keys::Own,
        secs,
    );
    report("RCU (arc-swap) map", res);

    // Memory per route: bytes allocated per registered route, and how much of it is strings.
    let before = ALLOCATED.load(Ordering::Relaxed);
    let reg = Registry::new();
    let mut string_bytes = 0usize;
    for i in 0..ROUTES {
        let r = route(i);
        string_bytes += r.heap_bytes();
        reg.add(&r);
    }
    let used = (ALLOCATED.load(Ordering::Relaxed) - before) as usize;
    println!(
        "memory: {ROUTES} routes take {} bytes: {} per route, of which {} are the route's strings and {} the rest (Route struct, Arc, map entry and key copy)",
        used,
        used / ROUTES,
        string_bytes / ROUTES,
        (used - string_bytes) / ROUTES
    );
    println!(
        "size_of::<Route>() = {} bytes",
        std::mem::size_of::<Route>()
    );
}
