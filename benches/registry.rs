//! Criterion benchmarks: lookups (core vs C ABI), host resolution, churn, iteration, health
//! JSON, change sets (reading one change record, committing a provider reload).
//! Run: `cargo bench --bench registry` (figures in BENCHMARKS.md); one group:
//! `cargo bench --bench registry -- host/`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use route_registry::ffi::changes::{rr_change, rr_changes_since};
use route_registry::ffi::host::{rr_find_http_route, rr_set_route_domains};
use route_registry::ffi::registry::{
    rr_add, rr_get, rr_health_json, rr_iter_all, rr_registry_free, rr_registry_new,
};
use route_registry::ffi::route::{rr_route_new, rr_route_release, rr_route_set_health};
use route_registry::ffi::version::rr_string_free;
use route_registry::ffi::{rr_registry, rr_route, rr_str, RR_HEALTH_FULL, RR_KIND_HTTP, RR_OK};
use route_registry::{Batch, HealthFormat, HealthStatus, Kind, Registry, Route};
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

fn alias(i: usize) -> String {
    format!("app-{i:06}.example")
}

/// A registry filled through the C ABI (so both paths see the same routes).
fn filled(n: usize) -> *mut rr_registry {
    let reg = rr_registry_new();
    for i in 0..n {
        let a = alias(i);
        let url = format!(
            "http://10.{}.{}.{}:8080",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        );
        let mut r: *mut rr_route = std::ptr::null_mut();
        assert_eq!(
            rr_route_new(
                RR_KIND_HTTP,
                a.as_ptr().cast(),
                a.len(),
                url.as_ptr().cast(),
                url.len(),
                &mut r
            ),
            RR_OK
        );
        let detail = b"connection ok";
        rr_route_set_health(
            r,
            1,
            3_600_000_000_000,
            1_500_000,
            detail.as_ptr().cast(),
            detail.len(),
        );
        assert_eq!(rr_add(reg, r), RR_OK);
        rr_route_release(r);
    }
    reg
}

fn core(reg: *mut rr_registry) -> &'static Registry {
    // The bench owns the registry for its whole run.
    unsafe { &*reg.cast::<Registry>() }
}

fn lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup");
    for n in [10usize, 1_000, 100_000] {
        let reg = filled(n);
        let keys: Vec<String> = (0..1024).map(|i| alias(i * 7919 % n)).collect();
        let misses: Vec<String> = (0..1024).map(|i| format!("missing-{i}.example")).collect();
        let mut i = 0;
        g.bench_function(BenchmarkId::new("core_hit", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(core(reg).get(&keys[i]))
            })
        });
        g.bench_function(BenchmarkId::new("abi_hit", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let k = &keys[i];
                let r = rr_get(reg, k.as_ptr().cast(), k.len());
                rr_route_release(black_box(r));
            })
        });
        g.bench_function(BenchmarkId::new("core_miss", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(core(reg).get(&misses[i]))
            })
        });
        g.bench_function(BenchmarkId::new("abi_miss", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let k = &misses[i];
                black_box(rr_get(reg, k.as_ptr().cast(), k.len()))
            })
        });
        rr_registry_free(reg);
    }
    g.finish();
}

/// `rr_find_http_route` against `rr_get` on 10 000 HTTP routes keyed `app<i>`, plus 100
/// wildcard routes `*.zone<j>.example.com`. Targets: a first-label match at most 2× `rr_get`,
/// a wildcard match at most 3×.
fn host_resolution(c: &mut Criterion) {
    let reg = rr_registry_new();
    let url = "http://10.0.0.1:80";
    let add = |key: &str| {
        let mut r: *mut rr_route = std::ptr::null_mut();
        assert_eq!(
            rr_route_new(
                RR_KIND_HTTP,
                key.as_ptr().cast(),
                key.len(),
                url.as_ptr().cast(),
                url.len(),
                &mut r
            ),
            RR_OK
        );
        assert_eq!(rr_add(reg, r), RR_OK);
        rr_route_release(r);
    };
    for i in 0..10_000 {
        add(&format!("app{i}"));
    }
    for j in 0..100 {
        add(&format!("*.zone{j}.example.com"));
    }
    let pick = |i: usize| i * 7919 % 10_000;
    let keys: Vec<String> = (0..1024).map(|i| format!("app{}", pick(i))).collect();
    let label_hosts: Vec<String> = (0..1024)
        .map(|i| format!("app{}.example.com", pick(i)))
        .collect();
    let wildcard_hosts: Vec<String> = (0..1024)
        .map(|i| format!("web{}.zone{}.example.com", pick(i), i % 100))
        .collect();
    let miss_hosts: Vec<String> = (0..1024)
        .map(|i| format!("nope{i}.example.org:443"))
        .collect();
    let mut g = c.benchmark_group("host");
    let mut i = 0;
    let mut bench =
        |g: &mut criterion::BenchmarkGroup<'_, _>, name: &str, set: &[String], find: bool| {
            g.bench_function(name, |b| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    let k = &set[i];
                    let r = if find {
                        rr_find_http_route(reg, k.as_ptr().cast(), k.len())
                    } else {
                        rr_get(reg, k.as_ptr().cast(), k.len())
                    };
                    rr_route_release(black_box(r));
                })
            });
        };
    bench(&mut g, "rr_get_app_10k", &keys, false);
    bench(&mut g, "find_first_label_10k", &label_hosts, true);
    bench(&mut g, "find_wildcard_10k", &wildcard_hosts, true);
    bench(&mut g, "find_miss_10k", &miss_hosts, true);
    let domain = [rr_str {
        ptr: c"example.com".as_ptr(),
        len: 11,
    }];
    assert_eq!(rr_set_route_domains(reg, domain.as_ptr(), 1), RR_OK);
    bench(&mut g, "find_by_domain_10k", &label_hosts, true);
    g.finish();
    rr_registry_free(reg);
}

fn churn(c: &mut Criterion) {
    let reg = Registry::new();
    for i in 0..10_000 {
        reg.add(&Arc::new(
            Route::new(Kind::Http, &alias(i), "http://10.0.0.1:80").unwrap(),
        ));
    }
    let mut i = 0usize;
    churn_on(c, "churn/add_del_10k", &reg, &mut i);
    // The same with a change log of 16 records instead of 4096: what keeping 4096 routes
    // referenced (and releasing each, cold, 4096 commits later) costs.
    reg.set_change_log_capacity(16).unwrap();
    churn_on(c, "churn/add_del_10k_log_16", &reg, &mut i);
}

fn churn_on(c: &mut Criterion, name: &str, reg: &Registry, i: &mut usize) {
    c.bench_function(name, |b| {
        b.iter(|| {
            *i = (*i + 1) % 10_000;
            let a = alias(*i);
            let _ = reg.del(Kind::Http, &a);
            reg.add(&Arc::new(
                Route::new(Kind::Http, &a, "http://10.0.0.1:80").unwrap(),
            ));
        })
    });
}

unsafe extern "C" fn count(_r: *const rr_route, ud: *mut c_void) -> bool {
    *ud.cast::<usize>() += 1;
    true
}

fn iteration_and_health(c: &mut Criterion) {
    let reg = filled(10_000);
    c.bench_function("iter/abi_10k", |b| {
        b.iter(|| {
            let mut n = 0usize;
            rr_iter_all(reg, Some(count), (&mut n as *mut usize).cast());
            black_box(n)
        })
    });
    c.bench_function("iter/core_10k", |b| {
        b.iter(|| black_box(core(reg).iter_all(|_| true)))
    });
    let mut g = c.benchmark_group("health_json");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("abi_full_10k", |b| {
        b.iter(|| rr_string_free(black_box(rr_health_json(reg, RR_HEALTH_FULL))))
    });
    // After a mutation the order is recomputed (snapshot, winners, sort) before rendering.
    let mut i = 0usize;
    g.bench_function("abi_full_10k_after_a_change", |b| {
        b.iter(|| {
            i = (i + 1) % 10_000;
            let a = alias(i);
            let r = core(reg).del(Kind::Http, &a).unwrap();
            core(reg).add(&r);
            rr_string_free(black_box(rr_health_json(reg, RR_HEALTH_FULL)))
        })
    });
    g.bench_function("core_simple_10k", |b| {
        b.iter(|| black_box(core(reg).health_json(HealthFormat::Simple)))
    });
    g.finish();
    let _ = HealthStatus::Healthy;
    rr_registry_free(reg);
}

unsafe extern "C" fn count_change(_c: *const rr_change, ud: *mut c_void) -> bool {
    *ud.cast::<usize>() += 1;
    true
}

fn file_route(key: &str) -> Arc<Route> {
    let r = Route::new(Kind::Http, key, "http://10.0.0.1:80").unwrap();
    r.set_provider("file").unwrap();
    Arc::new(r)
}

fn change_sets(c: &mut Criterion) {
    // One record after `since`, read through the C ABI, in a registry of 10 000 routes whose
    // log is full (4096 records).
    let reg = filled(10_000);
    let r = file_route("one-more");
    core(reg).add(&r);
    let since = core(reg).generation() - 1;
    c.bench_function("changes/since_one_record_abi", |b| {
        b.iter(|| {
            let mut n = 0usize;
            let mut next = 0u64;
            rr_changes_since(
                reg,
                black_box(since),
                Some(count_change),
                (&mut n as *mut usize).cast(),
                &mut next,
            );
            assert_eq!(n, 1);
            next
        })
    });
    rr_registry_free(reg);

    // A provider reload: 9 000 routes of other providers, 1 000 of "file"; each commit replaces
    // "file" with 1 000 routes, half under the keys of the previous set (REPLACED), half new
    // (ADDED or RELOADED), so 500 are removed. Building the batch is not timed.
    let reg = Registry::new();
    for i in 0..9_000 {
        reg.add(&Arc::new(
            Route::new(Kind::Http, &alias(i), "http://10.0.0.1:80").unwrap(),
        ));
    }
    let mut round = 0usize;
    let set = |round: usize| {
        let b = Batch::new();
        b.replace_provider("file").unwrap();
        for i in 0..1_000 {
            b.add(file_route(&format!("file-{}", (i + round * 500) % 3_000)))
                .unwrap();
        }
        b
    };
    reg.commit_batch(&set(0)).unwrap();
    assert_eq!(reg.num_all_routes(), 10_000);
    c.bench_function("batch/replace_provider_1000_into_10k", |b| {
        b.iter_batched(
            || {
                round += 1;
                set(round)
            },
            |batch| {
                reg.commit_batch(&batch).unwrap();
                batch
            },
            BatchSize::PerIteration,
        )
    });
    assert_eq!(reg.num_all_routes(), 10_000);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = lookups, host_resolution, churn, iteration_and_health, change_sets
}
criterion_main!(benches);
