//! The Go-generated vectors (testdata/, or ../shared/testdata when CI has it), through the C
//! ABI (called from Rust).

use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::version::rr_string_free;
use route_registry::ffi::*;
use serde_json::Value;
use std::ffi::CStr;

/// A vector file: from `../shared/testdata` beside the checkout when it exists (CI keeps the
/// generator's output there), else the repository's copy in `testdata/`.
fn testdata(name: &str) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/testdata");
    let dir = if shared.is_dir() {
        shared
    } else {
        root.join("testdata")
    };
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn rs(s: rr_str) -> String {
    assert!(!s.ptr.is_null());
    // SAFETY: the library returns len valid bytes followed by a NUL.
    let bytes = unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len + 1) };
    assert_eq!(bytes[s.len], 0, "rr_str must be NUL-terminated");
    String::from_utf8(bytes[..s.len].to_vec()).unwrap()
}

fn take_json(p: *mut std::ffi::c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: a NUL-terminated string from the library, freed once below.
    let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
    rr_string_free(p);
    s
}

fn new_route(kind: rr_kind, alias: &[u8], url: &str) -> (rr_status, *mut rr_route) {
    let mut r = std::ptr::null_mut();
    let st = rr_route_new(
        kind,
        alias.as_ptr().cast(),
        alias.len(),
        url.as_ptr().cast(),
        url.len(),
        &mut r,
    );
    (st, r)
}

#[test]
fn health_json_vectors_match_go_byte_for_byte() {
    let v = testdata("health_json.json");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let mut compared = 0;
    'cases: for (n, case) in cases.iter().enumerate() {
        let reg = rr_registry_new();
        for r in case["routes"].as_array().unwrap() {
            let name = unhex(r["name_hex"].as_str().unwrap());
            let (st, route) = new_route(RR_KIND_HTTP, &name, "http://10.0.0.1:80");
            if name.contains(&0) {
                // Every alias is also read as a C string: a NUL byte is refused, so Go's
                // rendering of such a case cannot be reproduced.
                assert_eq!(st, RR_INVALID_ARGUMENT, "case {n}");
                let e = route_registry::ffi::version::rr_last_error();
                // SAFETY: the library's message is `len` readable bytes.
                let e = unsafe { std::slice::from_raw_parts(e.ptr.cast::<u8>(), e.len) };
                assert!(String::from_utf8_lossy(e).contains("NUL"), "case {n}");
                rr_registry_free(reg);
                continue 'cases;
            }
            assert_eq!(st, RR_OK, "case {n}");
            if !r["no_health"].as_bool().unwrap_or(false) {
                let detail = unhex(r["detail_hex"].as_str().unwrap());
                let st = rr_route_set_health(
                    route,
                    r["status"].as_u64().unwrap() as u32,
                    r["uptime_ns"].as_u64().unwrap(),
                    r["latency_ns"].as_u64().unwrap(),
                    detail.as_ptr().cast(),
                    detail.len(),
                );
                assert_eq!(st, RR_OK);
            }
            assert_eq!(rr_add(reg, route), RR_OK);
            rr_route_release(route);
        }
        for (format, field) in [
            (RR_HEALTH_FULL, "full"),
            (RR_HEALTH_WITHOUT_DETAIL, "without_detail"),
            (RR_HEALTH_SIMPLE, "simple"),
        ] {
            let got = take_json(rr_health_json(reg, format));
            assert_eq!(got, case[field].as_str().unwrap(), "case {n} {field}");
        }
        rr_registry_free(reg);
        compared += 1;
    }
    assert!(
        compared >= cases.len() - 1,
        "only {compared} cases compared"
    );
}

#[test]
fn upstream_url_vectors_match_go_net_url() {
    let v = testdata("upstream_urls.json");
    let vectors = v["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 30);
    let field = |vec: &Value, k: &str| vec[k].as_str().unwrap_or("").to_string();
    for vec in vectors {
        let input = vec["input"].as_str().unwrap();
        for kind in [RR_KIND_HTTP, RR_KIND_STREAM] {
            let (st, r) = new_route(kind, b"a", input);
            if !vec["accept"].as_bool().unwrap() {
                assert_eq!(st, RR_INVALID_ARGUMENT, "{input:?} must be refused");
                assert!(r.is_null());
                let msg = rs(version::rr_last_error());
                if !input.is_empty() {
                    assert!(msg.contains(&input.escape_debug().to_string()), "{msg}");
                }
                continue;
            }
            assert_eq!(st, RR_OK, "{input:?}: {}", rs(version::rr_last_error()));
            assert_eq!(rs(rr_route_upstream_scheme(r)), field(vec, "scheme"));
            assert_eq!(rs(rr_route_upstream_host(r)), field(vec, "host"));
            assert_eq!(rs(rr_route_upstream_port(r)), field(vec, "port"));
            assert_eq!(rs(rr_route_upstream_host_port(r)), field(vec, "host_port"));
            assert_eq!(rs(rr_route_upstream_addr(r)), field(vec, "host_port"));
            assert_eq!(rs(rr_route_upstream_url(r)), field(vec, "url"));
            rr_route_release(r);
        }
        // EXCLUDED routes take any URL Go parses (and the empty one).
        let (st, r) = new_route(RR_KIND_EXCLUDED, b"a", input);
        assert_eq!(st == RR_OK, vec["valid"].as_bool().unwrap(), "{input:?}");
        rr_route_release(r);
    }
}
