//! `churn/add_del_10k` with robust statistics for a shared machine: a registry of 10 000 HTTP
//! routes; one operation is the bench's pair (delete one route, add a new route under its key,
//! `Route::new` included). After 20 000 pairs of warm-up (the change log full, the allocator in
//! its steady state), 400 batches of 500 pairs; prints the 10th, 25th and 50th percentile of the
//! per-pair time over the batches. Other processes preempting the bench only inflate some
//! batches, so the low percentiles stay comparable between runs and between builds.
//! Run: `cargo bench --bench churn_quantiles`; `RR_LOG_CAP=<records>` sets the change log's
//! capacity first (where the registry has one), to separate the cost of the commit from the
//! cost of the log keeping removed routes alive.

use route_registry::{Kind, Registry, Route};
use std::sync::Arc;
use std::time::Instant;

fn alias(i: usize) -> String {
    format!("app-{i:06}.example")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let reg = Registry::new();
    for i in 0..10_000 {
        reg.add(&Arc::new(
            Route::new(Kind::Http, &alias(i), "http://10.0.0.1:80").unwrap(),
        ));
    }
    if let Some(cap) = std::env::var("RR_LOG_CAP")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        reg.set_change_log_capacity(cap).unwrap();
    }
    let mut i = 0usize;
    let mut pair = || {
        i = (i + 1) % 10_000;
        let a = alias(i);
        let _ = reg.del(Kind::Http, &a);
        reg.add(&Arc::new(
            Route::new(Kind::Http, &a, "http://10.0.0.1:80").unwrap(),
        ));
    };
    for _ in 0..20_000 {
        pair();
    }
    let mut per_pair: Vec<f64> = (0..400)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..500 {
                pair();
            }
            t.elapsed().as_nanos() as f64 / 500.0
        })
        .collect();
    per_pair.sort_by(f64::total_cmp);
    let q = |p: usize| per_pair[per_pair.len() * p / 100] / 1000.0;
    println!(
        "churn/add_del_10k per pair: p10 {:.3} µs, p25 {:.3} µs, median {:.3} µs",
        q(10),
        q(25),
        q(50)
    );
}
