#!/usr/bin/env bash
# Run every wirekit fuzz target for a while; fail on any crash or property violation.
#
#   fuzz/run.sh [seconds-per-target] [target...]      (default: 30 s, every target)
#
# Environment:
#   FUZZ_SANITIZER  address | none (default none: wirekit-core is `#![deny(unsafe_code)]`, so
#                   ASan finds nothing the Rust checks miss, and `none` runs 2-3x faster;
#                   overflow checks stay on through cargo-fuzz's -Cdebug-assertions)
#   FUZZ_JOBS       targets run in parallel (default 1)
#   FUZZ_ARGS       extra libFuzzer flags (e.g. "-runs=10000000")
#
# Only the stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets it take the -Z sanitizer flags
# cargo-fuzz passes. New inputs go to fuzz/work/<target>/ (git-ignored); the committed seed
# corpus in fuzz/corpus/<target>/ is only read. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail

secs="${1:-30}"
shift || true
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
san="${FUZZ_SANITIZER:-none}"
jobs="${FUZZ_JOBS:-1}"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --sanitizer "$san"

dict_for() {
    case "$1" in
        session) echo dict/session.dict ;;
        auth_*) echo dict/auth.dict ;;
        header_decode | transfer_receiver | file_receive) echo dict/header.dict ;;
        *) echo "" ;;
    esac
}

# The frame targets decode every input five ways, byte-sized deliveries included; inputs
# up to 1 KiB cover every branch (limits are reached through small configured maxima) at
# four times the speed.
extra_for() {
    case "$1" in
        frame_*) echo "-max_len=1024" ;;
        *) echo "" ;;
    esac
}

mkdir -p logs
run_one() {
    local t="$1" dict extra
    dict="$(dict_for "$t")"
    extra="$(extra_for "$t")"
    mkdir -p "work/$t" "corpus/$t"
    # shellcheck disable=SC2086
    if cargo fuzz run --sanitizer "$san" "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        ${dict:+-dict=$dict} $extra ${FUZZ_ARGS:-} >"logs/$t.log" 2>&1; then
        echo "ok    $t: $(grep -E '^#[0-9]+.*DONE' "logs/$t.log" | tail -1)"
    else
        echo "FAIL  $t (see fuzz/logs/$t.log, fuzz/artifacts/$t/)"
        grep -E "panicked at|assertion|Test unit written" -A2 "logs/$t.log" | head -8
        return 1
    fi
}

failed=0
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        # Whichever target finishes first frees its slot.
        wait -n || failed=1
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done

if [ "$failed" -ne 0 ]; then
    echo "fuzzing found failures"
    exit 1
fi
echo "all ${#targets[@]} targets ran ${secs}s without findings"
