//! Functions beyond the first C ABI: the health detail copy and the tombstone count.

use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::*;

#[test]
fn health_detail_is_copied_like_snprintf() {
    let mut r = std::ptr::null_mut();
    let u = "http://h:1";
    assert_eq!(
        rr_route_new(
            RR_KIND_HTTP,
            "a".as_ptr().cast(),
            1,
            u.as_ptr().cast(),
            u.len(),
            &mut r
        ),
        RR_OK
    );
    let mut buf = [0u8; 8];
    // Never set: "n/a".
    assert_eq!(
        rr_route_health_detail(r, buf.as_mut_ptr().cast(), buf.len()),
        3
    );
    assert_eq!(&buf[..3], b"n/a");
    let detail = b"bad \xff\x00 bytes kept";
    assert_eq!(
        rr_route_set_health(r, 8, 1, 2, detail.as_ptr().cast(), detail.len()),
        RR_OK
    );
    assert_eq!(
        rr_route_health_detail(r, std::ptr::null_mut(), 100),
        detail.len()
    );
    assert_eq!(
        rr_route_health_detail(r, buf.as_mut_ptr().cast(), 0),
        detail.len()
    );
    assert_eq!(
        rr_route_health_detail(r, buf.as_mut_ptr().cast(), buf.len()),
        detail.len()
    );
    assert_eq!(&buf, &detail[..8]);
    let mut all = vec![0u8; detail.len()];
    rr_route_health_detail(r, all.as_mut_ptr().cast(), all.len());
    assert_eq!(&all, detail);
    assert_eq!(
        rr_route_health_detail(std::ptr::null(), buf.as_mut_ptr().cast(), 8),
        0
    );
    rr_route_release(r);
}

#[test]
fn tombstones_are_counted_per_pool() {
    let reg = rr_registry_new();
    let mut r = std::ptr::null_mut();
    let u = "http://h:1";
    assert_eq!(
        rr_route_new(
            RR_KIND_HTTP,
            "a".as_ptr().cast(),
            1,
            u.as_ptr().cast(),
            u.len(),
            &mut r
        ),
        RR_OK
    );
    assert_eq!(rr_add(reg, r), RR_OK);
    assert_eq!(rr_pool_tombstones(reg, RR_KIND_HTTP), 0);
    assert_eq!(rr_del(reg, r), RR_OK);
    assert_eq!(rr_pool_tombstones(reg, RR_KIND_HTTP), 1);
    assert_eq!(rr_pool_tombstones(reg, RR_KIND_STREAM), 0);
    assert_eq!(rr_pool_tombstones(reg, 9), 0);
    assert_eq!(rr_pool_tombstones(std::ptr::null(), RR_KIND_HTTP), 0);
    rr_clear(reg);
    assert_eq!(rr_pool_tombstones(reg, RR_KIND_HTTP), 0);
    rr_route_release(r);
    rr_registry_free(reg);
}

/// Regression for the fuzzer's finding: inventory error messages grew with the input.
#[test]
fn inventory_errors_from_fuzzer_findings_stay_short_and_name_the_field() {
    let reg = rr_registry_new();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/artifacts-found/");
    for (file, field) in [
        ("proxmox_json-long-error-root-string", "proxmox inventory"),
        ("proxmox_json-long-error-ip-array", "nodes[0].ip"),
    ] {
        let json = std::fs::read(format!("{dir}{file}")).unwrap();
        assert_eq!(
            rr_proxmox_load_json(reg, json.as_ptr().cast(), json.len()),
            RR_INVALID_ARGUMENT
        );
        let e = route_registry::ffi::version::rr_last_error();
        // SAFETY: the library returns len valid bytes.
        let msg = unsafe { std::slice::from_raw_parts(e.ptr.cast::<u8>(), e.len) };
        let msg = String::from_utf8_lossy(msg);
        assert!(msg.len() < 300, "{file}: {} bytes", msg.len());
        assert!(msg.contains(field), "{file}: {msg}");
    }
    rr_registry_free(reg);
}
