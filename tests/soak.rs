//! Soak: millions of add/del/get with churn over ever-new keys. Tombstones are purged (the map
//! stays bounded), resident memory stays flat after warm-up, and no route leaks.
//! RR_SOAK_OPS sets the number of operations (`make test`: 600 000; `make soak`: 10 000 000).

use route_registry::clock::ManualClock;
use route_registry::pool::{TOMBSTONE_PURGE_THRESHOLD, TOMBSTONE_TTL};
use route_registry::{Kind, Registry, Route};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn churn_keeps_memory_flat_and_tombstones_bounded() {
    let ops: u64 = std::env::var("RR_SOAK_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600_000);
    let clock = Arc::new(ManualClock::new());
    let reg = Registry::with_clock(clock.clone());
    let start_live = route_registry::route::live_routes();
    // Each round: add a new key, look it and an old one up, delete the oldest live key, so the
    // live set stays at WINDOW routes while keys never repeat. The clock moves 1 ms a round.
    const WINDOW: u64 = 2_000;
    const OPS_PER_ROUND: u64 = 4;
    let rounds = ops / OPS_PER_ROUND;
    let started = Instant::now();
    let mut rss_after_warmup = 0usize;
    let mut max_tombstones = 0usize;
    let mut peak_rss = 0usize;
    for i in 0..rounds {
        let key = format!("soak-{i}");
        let r = Route::new(Kind::Http, &key, "http://10.0.0.1:80").unwrap();
        assert!(reg.add(&Arc::new(r)).registered());
        assert!(reg.get(&key).is_some());
        if i >= WINDOW {
            let old = format!("soak-{}", i - WINDOW);
            assert!(reg.get(&old).is_some());
            assert!(reg.del(Kind::Http, &old).is_ok());
        }
        clock.advance(Duration::from_millis(1));
        max_tombstones = max_tombstones.max(reg.pool(Kind::Http).tombstones());
        if i == rounds / 5 {
            rss_after_warmup = rss_bytes();
        }
        if i % 4096 == 0 {
            peak_rss = peak_rss.max(rss_bytes());
        }
    }
    let rss_end = rss_bytes();
    let elapsed = started.elapsed();
    // At 1 delete per ms, at most 1 000 tombstones are younger than the TTL; purging keeps the
    // rest away (without it there would be `rounds - WINDOW` of them).
    let young = TOMBSTONE_TTL.as_millis() as usize;
    let bound = TOMBSTONE_PURGE_THRESHOLD.max(young) + young + 2;
    assert!(
        max_tombstones <= bound,
        "tombstones reached {max_tombstones} (bound {bound})"
    );
    assert_eq!(reg.pool(Kind::Http).size() as u64, WINDOW.min(rounds));
    let growth = rss_end.saturating_sub(rss_after_warmup);
    assert!(
        growth < 16 << 20,
        "resident memory grew by {growth} bytes after warm-up"
    );
    eprintln!(
        "soak: {ops} operations ({rounds} rounds) in {elapsed:?}; max tombstones {max_tombstones}; \
         RSS after warm-up {} KiB, at end {} KiB, peak {} KiB",
        rss_after_warmup / 1024,
        rss_end / 1024,
        peak_rss / 1024
    );
    reg.clear();
    drop(reg);
    assert_eq!(
        route_registry::route::live_routes(),
        start_live,
        "routes leaked"
    );
}
