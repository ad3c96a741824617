//! Times the pieces of the health JSON for 10 000 routes (a quick profile, not a benchmark).
use route_registry::{HealthFormat, HealthStatus, Kind, Registry, Route};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let reg = Registry::new();
    for i in 0..10_000 {
        let r = Route::new(
            Kind::Http,
            &format!("app-{i:06}.example"),
            "http://10.0.0.1:80",
        )
        .unwrap();
        r.set_health(
            HealthStatus::Healthy,
            Duration::from_secs(3600),
            Duration::from_micros(1500),
            b"connection ok",
        );
        reg.add(&Arc::new(r));
    }
    for _ in 0..20 {
        let t = Instant::now();
        let s = reg.pool(Kind::Http).snapshot();
        let t1 = t.elapsed();
        drop(s);
        let t = Instant::now();
        let r = reg.health_routes();
        let t2 = t.elapsed();
        drop(r);
        let t = Instant::now();
        let j = reg.health_json(HealthFormat::Full);
        let t3 = t.elapsed();
        println!(
            "snapshot {t1:?} health_routes {t2:?} health_json {t3:?} ({} bytes)",
            j.len()
        );
    }
}
