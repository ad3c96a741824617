//! Generates the C header from src/ffi with cbindgen into OUT_DIR. With RR_BLESS_HEADER=1 it
//! also writes include/route_registry.h; otherwise a differing committed header only warns here
//! and fails the `header_is_current` test (tests/header.rs).

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("route_registry.h");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=RR_BLESS_HEADER");
    // The shared library's soname carries the ABI version (docs/ABI.md).
    let ffi = std::fs::read_to_string(crate_dir.join("src/ffi/mod.rs")).expect("src/ffi/mod.rs");
    let abi = ffi
        .lines()
        .find_map(|l| l.strip_prefix("pub const RR_ABI_VERSION: u32 = "))
        .and_then(|v| v.trim_end_matches(';').parse::<u32>().ok())
        .expect("RR_ABI_VERSION in src/ffi/mod.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libroute_registry.so.{abi}");
    }
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header");
    bindings.write_to_file(&out);
    let committed = crate_dir.join("include/route_registry.h");
    let generated = std::fs::read(&out).expect("generated header");
    if std::env::var_os("RR_BLESS_HEADER").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(crate_dir.join("include")).expect("include/");
        if std::fs::read(&committed).ok().as_ref() != Some(&generated) {
            std::fs::write(&committed, &generated).expect("write include/route_registry.h");
        }
    } else if std::fs::read(&committed).ok().as_ref() != Some(&generated) {
        println!("cargo:warning=include/route_registry.h is out of date: run `make header`");
    }
}
