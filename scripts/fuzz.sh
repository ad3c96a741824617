#!/usr/bin/env bash
# Runs every cargo-fuzz (libFuzzer) target of fuzz/ for a bounded time, one after the other.
#
#   FUZZ_SECS=60 ./scripts/fuzz.sh            # all targets, 60 s each (the default)
#   FUZZ_SECS=30 ./scripts/fuzz.sh abi_sequence health_json
#
# libFuzzer needs nightly-only rustc flags (-Zsanitizer=address, sancov passes). The stable
# toolchain accepts them with RUSTC_BOOTSTRAP=1, which is set for the fuzz build only (its own
# target dir, fuzz/target); the library's own builds never see it.
# Installs cargo-fuzz if missing. Prints the executions per target; exits non-zero if any
# target crashed (the input is in fuzz/artifacts/<target>/).
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
FUZZ_SECS="${FUZZ_SECS:-60}"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(upstream_url proxmox_json health_json abi_sequence host_resolution)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
cargo fuzz build

# Inputs up to this size; proxmox_json needs room for messages past 1 KiB.
max_len() {
    case "$1" in
        proxmox_json) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

failed=()
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t"
    log="target/fuzz-$t.log"
    echo "== $t: ${FUZZ_SECS}s" >&2
    set +e
    # A scratch corpus dir first: libFuzzer writes new inputs there, so the committed corpus
    # (fuzz/corpus/<target>, read as seeds) changes only by hand (fuzz/README.md: cmin).
    mkdir -p "target/corpus-$t"
    cargo fuzz run "$t" "target/corpus-$t" "corpus/$t" -- \
        -max_total_time="$FUZZ_SECS" -max_len="$(max_len "$t")" -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        summary+=("$t: FAILED (exit $rc) after ${execs:-?} executions; input: ${crash:-see $log}")
        grep -A3 "panicked at" "$log" | head -8 >&2 || tail -20 "$log" >&2
    else
        summary+=("$t: ${execs:-?} executions in ${FUZZ_SECS}s, no crash")
    fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz.sh: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: ${#TARGETS[@]} targets, no crash"
