//! Read scaling: lookups per second with 1 and 2 reader threads while a writer does 1 000
//! add/del per second, for a 32-shard pool (the default) and a single-lock pool (the design
//! card's starting point). Also: memory per route.
//! Run: `cargo bench --bench scaling` (figures in BENCHMARKS.md).

use route_registry::clock::SystemClock;
use route_registry::{Kind, Registry, Route};
use std::alloc::{GlobalAlloc, Layout, System};
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

/// Aggregate lookups per second of `readers` threads over `secs`, with the writer running.
fn throughput(reg: &Arc<Registry>, readers: usize, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let writer = {
        let (reg, stop) = (reg.clone(), stop.clone());
        std::thread::spawn(move || {
            // 1 000 operations per second: 500 del + 500 add, in 10 ms batches.
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                for _ in 0..5 {
                    i = (i + 1) % ROUTES;
                    reg.del(Kind::Http, &alias(i));
                    reg.add(&route(i));
                }
                std::thread::sleep(Duration::from_millis(10).saturating_sub(t.elapsed()));
            }
        })
    };
    let keys: Arc<Vec<String>> = Arc::new((0..4096).map(|i| alias(i * 7919 % ROUTES)).collect());
    let threads: Vec<_> = (0..readers)
        .map(|t| {
            let (reg, stop, total, keys) = (reg.clone(), stop.clone(), total.clone(), keys.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let mut i = t * 1013;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        i = (i + 1) & 4095;
                        std::hint::black_box(reg.get(&keys[i]));
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
}

fn main() {
    let secs: f64 = std::env::var("RR_SCALING_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    println!("read scaling, {ROUTES} routes, writer at 1000 add/del per second, {secs} s per run");
    for shards in [32usize, 1] {
        let reg = filled(shards);
        let one = throughput(&reg, 1, secs);
        let two = throughput(&reg, 2, secs);
        println!(
            "  shards={shards:>2}: 1 reader {:>6.1} M lookups/s, 2 readers {:>6.1} M lookups/s, ratio {:.2}x",
            one / 1e6,
            two / 1e6,
            two / one
        );
    }

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
