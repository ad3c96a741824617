//! Lookups through the C ABI take bytes: hits skip the UTF-8 check, misses with bad bytes are
//! reported as bad input, hostile keys are a clean miss.

use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::*;

mod common;
use common::last_error;

#[test]
fn lookups_hit_miss_and_refuse_bad_keys() {
    let reg = rr_registry_new();
    let mut r = std::ptr::null_mut();
    let (a, u) = ("app", "http://10.0.0.1:80");
    assert_eq!(
        rr_route_new(
            RR_KIND_HTTP,
            a.as_ptr().cast(),
            3,
            u.as_ptr().cast(),
            u.len(),
            &mut r
        ),
        RR_OK
    );
    assert_eq!(rr_add(reg, r), RR_OK);

    let hit = rr_get(reg, a.as_ptr().cast(), 3);
    assert_eq!(hit, r);
    rr_route_release(hit);

    // Invalid UTF-8: NULL and a message naming the bytes.
    let bad = b"ap\xffp";
    assert!(rr_get(reg, bad.as_ptr().cast(), bad.len()).is_null());
    assert!(
        last_error().contains(r#"key "ap\xffp" is not valid UTF-8"#),
        "{}",
        last_error()
    );
    assert!(rr_get_http_route_or_exact(reg, a.as_ptr().cast(), 3, bad.as_ptr().cast(), 4) == r);
    rr_route_release(r);
    assert!(
        rr_get_http_route_or_exact(reg, bad.as_ptr().cast(), 4, a.as_ptr().cast(), 0).is_null()
    );
    assert!(last_error().contains("alias"));

    // NULL with a length is bad input; NULL with 0 is the empty key (a miss).
    assert!(rr_get(reg, std::ptr::null(), 5).is_null());
    assert!(last_error().contains("NULL pointer with length 5"));
    assert!(rr_get(reg, std::ptr::null(), 0).is_null());

    // A 1 MiB key with NUL bytes and every byte value: a clean miss.
    let mut big: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    big[0] = 0;
    assert!(rr_get(reg, big.as_ptr().cast(), big.len()).is_null());
    let text = "a\0b".repeat(300_000);
    assert!(rr_get(reg, text.as_ptr().cast(), text.len()).is_null());

    assert!(rr_get(std::ptr::null(), a.as_ptr().cast(), 3).is_null());
    assert!(last_error().contains("registry is NULL"));
    assert!(rr_pool_get(reg, 7, a.as_ptr().cast(), 3).is_null());
    assert!(last_error().contains("route kind 7"));
    rr_route_release(r);
    rr_registry_free(reg);
}
