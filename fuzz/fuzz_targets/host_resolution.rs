//! `rr_find_http_route` and `rr_set_route_domains` against a straightforward model: the input
//! decodes to a sequence of adds, deletes, domain lists and Host headers (tokens chosen so
//! that keys, domains and hosts collide: case, trailing dots, ports, brackets, wildcards, stray
//! bytes), run through the C ABI and the model side by side; any difference in the route found,
//! or in what an add, delete or domain list returns, is a crash. The model and the decoder are
//! tests/common/host_model.rs, which the Rust test suite also runs on random sequences.
#![no_main]

#[path = "../../tests/common/host_model.rs"]
mod host_model;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    host_model::check(&host_model::decode(data));
});
