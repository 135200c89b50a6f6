#!/usr/bin/env bash
# Instruction counts of the codec, header, handshake and secure-record workloads, under
# valgrind's callgrind: repeatable on a loaded machine, where criterion's times wander.
# Each workload runs once and 1+R times in `target/release/icount`; the difference over R is
# the count of one repetition (process start-up and set-up cancel out).
#
#   bash bench/icount.sh              # every workload, R=4
#   R=10 ONLY=decode_64KiB bash bench/icount.sh
#
# Instructions are not time (a memcpy instruction moves 32 bytes, a cache miss costs 100
# instructions' time): read ratios between rows of one family, next to criterion's times.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${R:-4}
ONLY=${ONLY:-}
if ! command -v valgrind >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >&2
    else
        echo "error: valgrind is missing (apt-get install valgrind)" >&2
        exit 1
    fi
fi
cargo build --release -q -p wirekit-bench --bin icount
BIN=target/release/icount

# count WORKLOAD REPS: instructions of the whole run.
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 >/dev/null |
        awk '/Collected :/ { print $NF }'
}

echo "valgrind: $(valgrind --version); $(rustc --version)"
echo
printf '| workload | instructions per repetition | per byte |\n|---|---:|---:|\n'
"$BIN" list | while read -r name bytes; do
    [ -n "$ONLY" ] && [[ $name != $ONLY* ]] && continue
    one=$(count "$name" 1)
    many=$(count "$name" $((R + 1)))
    per=$(((many - one) / R))
    if [ "$bytes" -gt 0 ]; then
        perbyte=$(awk -v i="$per" -v b="$bytes" 'BEGIN { printf "%.3f", i / b }')
    else
        perbyte="–"
    fi
    printf '| %s | %d | %s |\n' "$name" "$per" "$perbyte"
done
