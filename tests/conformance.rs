//! The shared table of bad inputs (tests/conformance/bad_inputs.json) run through the
//! `extern "C"` functions, as the C harness runs it: every case whose `langs` includes "c"
//! (default: all) must give its status category, mention its substring, keep the message
//! short and quote at most `max_quoted_chars` characters of a long bad value.

use route_registry::ffi::batch::*;
use route_registry::ffi::changes::*;
use route_registry::ffi::host::*;
use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::version::rr_string_free;
use route_registry::ffi::*;
use serde_json::Value;

mod common;
use common::last_error;

/// A string argument: a JSON string, `{"hex": ..}` or `{"prefix"?, "repeat", "count"}`.
fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) if o.contains_key("hex") => {
            let h = o["hex"].as_str().expect("hex string");
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex digits"))
                .collect()
        }
        Value::Object(o) if o.contains_key("repeat") => {
            let mut out = o
                .get("prefix")
                .and_then(Value::as_str)
                .unwrap_or("")
                .as_bytes()
                .to_vec();
            let unit = o["repeat"].as_str().expect("repeat string").as_bytes();
            for _ in 0..o["count"].as_u64().expect("count") {
                out.extend_from_slice(unit);
            }
            out
        }
        other => panic!("not a string argument: {other}"),
    }
}

fn u64_arg(args: &Value, k: &str) -> u64 {
    args[k]
        .as_u64()
        .unwrap_or_else(|| panic!("{k}: not a uint64: {}", args[k]))
}

fn u32_arg(args: &Value, k: &str) -> u32 {
    u32::try_from(u64_arg(args, k)).unwrap_or_else(|_| panic!("{k}: not a uint32"))
}

fn i32_arg(args: &Value, k: &str) -> i32 {
    let v = args[k]
        .as_i64()
        .unwrap_or_else(|| panic!("{k}: not an integer"));
    i32::try_from(v).unwrap_or_else(|_| panic!("{k}: not an int32"))
}

/// What a call gave: a status, or a pointer result (`absent` when NULL).
enum Outcome {
    Status(rr_status),
    Absent,
    Present,
}

fn new_conf_route() -> *mut rr_route {
    common::http_route("conf")
}

/// Runs one case; returns its outcome and the string arguments that count as "bad values".
fn run(op: &str, args: &Value) -> (Outcome, Vec<Vec<u8>>) {
    let reg = rr_registry_new();
    let r = new_conf_route();
    let (out, values) = match op {
        "route_new" => {
            let (alias, url) = (bytes_of(&args["alias"]), bytes_of(&args["url"]));
            let mut made = std::ptr::null_mut();
            let st = rr_route_new(
                u32_arg(args, "kind"),
                alias.as_ptr().cast(),
                alias.len(),
                url.as_ptr().cast(),
                url.len(),
                &mut made,
            );
            assert_eq!(
                st == RR_OK,
                !made.is_null(),
                "*out is set exactly on success"
            );
            rr_route_release(made);
            (Outcome::Status(st), vec![alias, url])
        }
        "route_set" => {
            let v = bytes_of(&args["value"]);
            let set = match args["field"].as_str().expect("field") {
                "key" => rr_route_set_key,
                "display_name" => rr_route_set_display_name,
                "provider" => rr_route_set_provider,
                f => panic!("unknown field {f}"),
            };
            (Outcome::Status(set(r, v.as_ptr().cast(), v.len())), vec![v])
        }
        "route_set_priority" => (
            Outcome::Status(rr_route_set_priority(r, i32_arg(args, "priority"))),
            vec![],
        ),
        "route_set_proxmox" => {
            let node = bytes_of(&args["node"]);
            let st =
                rr_route_set_proxmox(r, node.as_ptr().cast(), node.len(), i32_arg(args, "vmid"));
            (Outcome::Status(st), vec![node])
        }
        "route_set_health" => {
            let detail = bytes_of(&args["detail"]);
            let st = rr_route_set_health(
                r,
                u32_arg(args, "status"),
                u64_arg(args, "uptime_ns"),
                u64_arg(args, "latency_ns"),
                detail.as_ptr().cast(),
                detail.len(),
            );
            (Outcome::Status(st), vec![detail])
        }
        "health_json" => {
            let json = rr_health_json(reg, u32_arg(args, "format"));
            let out = if json.is_null() {
                Outcome::Status(RR_INVALID_ARGUMENT)
            } else {
                rr_string_free(json);
                Outcome::Status(RR_OK)
            };
            (out, vec![])
        }
        "del_key" => {
            let key = bytes_of(&args["key"]);
            let st = rr_del_key(reg, u32_arg(args, "kind"), key.as_ptr().cast(), key.len());
            (Outcome::Status(st), vec![key])
        }
        "get" => {
            let key = bytes_of(&args["key"]);
            let got = rr_get(reg, key.as_ptr().cast(), key.len());
            let out = if got.is_null() {
                Outcome::Absent
            } else {
                rr_route_release(got);
                Outcome::Present
            };
            (out, vec![key])
        }
        "proxmox_load_json" => {
            let json = bytes_of(&args["json"]);
            let st = rr_proxmox_load_json(reg, json.as_ptr().cast(), json.len());
            (Outcome::Status(st), vec![json])
        }
        "add" => {
            let st = if args.get("route").is_some_and(Value::is_null) {
                rr_add(reg, std::ptr::null_mut())
            } else if args.get("registry").is_some_and(Value::is_null) {
                rr_add(std::ptr::null_mut(), r)
            } else {
                panic!("add: say which handle is null")
            };
            (Outcome::Status(st), vec![])
        }
        "batch_add" | "batch_del_key" | "batch_replace_provider" | "batch_commit_twice" => {
            let b = rr_batch_new();
            assert!(!b.is_null());
            let mut values = vec![];
            let st = match op {
                "batch_add" => {
                    assert!(args["route"].is_null(), "batch_add: route must be null");
                    rr_batch_add(b, std::ptr::null_mut())
                }
                "batch_del_key" => {
                    let key = bytes_of(&args["key"]);
                    let st =
                        rr_batch_del_key(b, u32_arg(args, "kind"), key.as_ptr().cast(), key.len());
                    values.push(key);
                    st
                }
                "batch_replace_provider" => {
                    let p = bytes_of(&args["provider"]);
                    let st = rr_batch_replace_provider(b, p.as_ptr().cast(), p.len());
                    values.push(p);
                    st
                }
                _ => {
                    assert_eq!(rr_batch_commit(reg, b, std::ptr::null_mut()), RR_OK);
                    rr_batch_commit(reg, b, std::ptr::null_mut())
                }
            };
            rr_batch_free(b);
            (Outcome::Status(st), values)
        }
        "changes_since" => {
            let mut next = 0u64;
            let st = rr_changes_since(
                reg,
                u64_arg(args, "since"),
                None,
                std::ptr::null_mut(),
                &mut next,
            );
            (Outcome::Status(st), vec![])
        }
        "set_change_log_capacity" => (
            Outcome::Status(rr_set_change_log_capacity(
                reg,
                u64_arg(args, "records") as usize,
            )),
            vec![],
        ),
        "set_route_domains" => {
            let values: Vec<Vec<u8>> = args["domains"]
                .as_array()
                .expect("domains list")
                .iter()
                .map(bytes_of)
                .collect();
            let strs: Vec<rr_str> = values
                .iter()
                .map(|v| rr_str {
                    ptr: v.as_ptr().cast(),
                    len: v.len(),
                })
                .collect();
            let st = rr_set_route_domains(reg, strs.as_ptr(), strs.len());
            (Outcome::Status(st), values)
        }
        "find_http_route" => {
            let host = bytes_of(&args["host"]);
            assert_eq!(rr_add(reg, r), RR_OK);
            let got = rr_find_http_route(reg, host.as_ptr().cast(), host.len());
            let out = if got.is_null() {
                Outcome::Absent
            } else {
                rr_route_release(got);
                Outcome::Present
            };
            (out, vec![host])
        }
        other => panic!("unknown op {other:?}: every op of the table must be run"),
    };
    rr_route_release(r);
    rr_registry_free(reg);
    (out, values)
}

/// Whether `msg` holds more than `max` consecutive characters of `value`.
fn quotes_more_than(msg: &str, value: &[u8], max: usize) -> bool {
    let value = String::from_utf8_lossy(value);
    let chars: Vec<char> = msg.chars().collect();
    chars
        .windows(max + 1)
        .any(|w| value.contains(&w.iter().collect::<String>()))
}

#[test]
fn every_c_case_of_the_bad_input_table_holds() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/bad_inputs.json"
    );
    let table: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let max_quoted = table["max_quoted_chars"].as_u64().unwrap() as usize;
    let max_bytes = table["max_message_bytes"].as_u64().unwrap() as usize;
    let mut ran = 0;
    for case in table["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let for_c = case
            .get("langs")
            .and_then(Value::as_array)
            .is_none_or(|l| l.iter().any(|x| x == "c"));
        if !for_c {
            continue;
        }
        let (out, values) = run(case["op"].as_str().unwrap(), &case["args"]);
        let expect = case["expect"].as_str().unwrap();
        let want = match expect {
            "ok" => RR_OK,
            "invalid_argument" => RR_INVALID_ARGUMENT,
            "not_found" => RR_NOT_FOUND,
            "absent" => {
                assert!(matches!(out, Outcome::Absent), "{id}: expected NULL");
                ran += 1;
                continue;
            }
            "present" => {
                assert!(matches!(out, Outcome::Present), "{id}: expected a route");
                ran += 1;
                continue;
            }
            e => panic!("{id}: unknown expectation {e}"),
        };
        let Outcome::Status(st) = out else {
            panic!("{id}: a status was expected")
        };
        let msg = last_error();
        assert_eq!(st, want, "{id}: got status {st} ({msg})");
        if want != RR_OK {
            assert!(
                msg.len() <= max_bytes,
                "{id}: message of {} bytes",
                msg.len()
            );
            if let Some(m) = case.get("mentions").and_then(Value::as_str) {
                assert!(msg.contains(m), "{id}: {msg:?} lacks {m:?}");
            }
            for v in values.iter().filter(|v| v.len() > max_quoted) {
                assert!(
                    !quotes_more_than(&msg, v, max_quoted),
                    "{id}: message quotes more than {max_quoted} characters: {msg:?}"
                );
            }
        }
        ran += 1;
    }
    assert!(ran >= 40, "only {ran} cases ran");
}

#[test]
fn the_quote_check_catches_a_quote_longer_than_the_limit() {
    let value = "q".repeat(200);
    assert!(quotes_more_than(&"q".repeat(65), value.as_bytes(), 64));
    assert!(!quotes_more_than(&"q".repeat(64), value.as_bytes(), 64));
    assert!(!quotes_more_than(
        &format!("\"{}...\"", "q".repeat(64)),
        value.as_bytes(),
        64
    ));
}
