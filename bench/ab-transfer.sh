#!/usr/bin/env bash
# Paired A/B of two `wirekit` binaries on one file transfer over TCP loopback: did a change
# make `file send`/`file recv` slower? Each round runs A then B (order swapped every round),
# both checked byte for byte; prints each round's B/A wall-time ratio and the median. On
# shared cores a paired ratio is far steadier than two separate best-of figures.
#
#   bash bench/ab-transfer.sh OLD/wirekit NEW/wirekit            # 1 GiB, 7 rounds
#   ROUNDS=11 SIZE_MIB=256 bash bench/ab-transfer.sh A B
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2
ROUNDS=${ROUNDS:-7}
SIZE_MIB=${SIZE_MIB:-1024}
data=target/bench-data/ab-$SIZE_MIB.bin
mkdir -p target/bench-data
[ -f "$data" ] || head -c "$((SIZE_MIB << 20))" /dev/urandom >"$data"
out=$(mktemp -d "${BENCH_OUT:-/dev/shm}/wirekit-ab.XXXXXX")
trap 'rm -rf "$out"' EXIT

# One transfer with binary $1; prints its wall time in seconds.
one() {
    local bin=$1 port log
    rm -f "$out"/*
    log=$(mktemp)
    "$bin" file recv --listen 127.0.0.1:0 --once --quiet --dir "$out" 2>"$log" &
    local recv=$!
    for _ in $(seq 200); do
        port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
        [ -n "$port" ] && break
        sleep 0.05
    done
    local start end
    start=$(date +%s.%N)
    "$bin" file send "$data" --connect "127.0.0.1:$port" --quiet --name ab.bin
    wait "$recv"
    end=$(date +%s.%N)
    rm -f "$log"
    cmp -s "$data" "$out/ab.bin" || { echo "ab: received file differs" >&2; exit 1; }
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }'
}

ratios=()
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then ta=$(one "$a"); tb=$(one "$b"); else tb=$(one "$b"); ta=$(one "$a"); fi
    r=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.4f", b / a }')
    ratios+=("$r")
    printf 'round %d: A %.3f s  B %.3f s  B/A %.3f\n' "$round" "$ta" "$tb" "$r"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
printf 'median B/A over %d rounds (%d MiB): %.3f  (min %.3f, max %.3f)\n' "$ROUNDS" "$SIZE_MIB" \
    "$median" "$(printf '%s\n' "${ratios[@]}" | sort -n | head -1)" "$(printf '%s\n' "${ratios[@]}" | sort -n | tail -1)"
