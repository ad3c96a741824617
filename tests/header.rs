//! The committed header must be exactly what cbindgen generates from the source now.

#[test]
fn header_is_current() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/route_registry.h"));
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/include/route_registry.h"
    ))
    .expect("include/route_registry.h is committed");
    assert!(
        generated == committed,
        "include/route_registry.h differs from what src/ffi generates: run `make header` and commit it"
    );
}

#[test]
fn every_exported_name_has_the_rr_prefix() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/route_registry.h"));
    for line in header.lines() {
        let line = line.trim();
        if line.starts_with("//") || line.starts_with('*') || line.starts_with("/*") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#define ") {
            let name = rest.split_whitespace().next().unwrap();
            assert!(
                name.starts_with("RR_") || name == "ROUTE_REGISTRY_H",
                "{line}"
            );
        }
        if let Some(open) = line.find('(') {
            if line.ends_with(';') || line.ends_with(',') {
                let before = &line[..open];
                let name = before.rsplit([' ', '*']).next().unwrap();
                if !name.is_empty() {
                    assert!(name.starts_with("rr_"), "{line}");
                }
            }
        }
    }
}

#[test]
fn abi_version_macro_equals_the_function() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/route_registry.h"));
    let line = header
        .lines()
        .find(|l| l.starts_with("#define RR_ABI_VERSION "))
        .expect("RR_ABI_VERSION macro");
    let v: u32 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(v, route_registry::ffi::version::rr_abi_version());
}
