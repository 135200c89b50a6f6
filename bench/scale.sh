#!/usr/bin/env bash
# Server scale: N concurrent clients each authenticate with the seed recipe's HMAC-MD5
# challenge (--key) and send a 1 MiB file to ONE
# `wirekit file recv --listen --key ... --max-connections M` server on 127.0.0.1.
# Rows N:M (default 100:100, 1000:1000, and 1000:64 = the default limit, where the clients
# beyond 64 wait in the accept queue: memory follows M, not N).
#
# Clients: bench/scale_clients.py (one Python asyncio process; all N connections are open
# before any sends). Reports clients completed, files received intact (cmp), wall time from
# "go" to the last client done, and the server's peak RSS (VmHWM from /proc) and thread peak.
#
#   bash bench/scale.sh
#   ROWS="10:10 100:8" bash bench/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-"100:100 1000:1000 1000:64"}
KEY=egg
PY=$(python3 -c 'import sys; print(sys.executable)')
# One fd per connection on the server and on the client side, plus files being written.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --release -q -p wirekit-std --bin wirekit
WK="$PWD/target/release/wirekit"
DATA="$PWD/target/bench-data"
mkdir -p "$DATA"
body="$DATA/random-1MiB.bin"
[ -f "$body" ] || dd if=/dev/urandom of="$body" bs=1M count=1 status=none
if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT=/dev/shm/wirekit-scale.$$; else OUT="$DATA/scale.$$"; fi
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$OUT" "$OUT.err" "$OUT.threads"
}
trap cleanup EXIT

echo "machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), ulimit -n $(ulimit -n)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
printf '| clients | --max-connections | completed | files intact | wall (s) | MiB/s | server peak RSS (MiB) | server peak threads |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|\n'
# Below Linux's ephemeral range (32768-60999).
port=$((20000 + $$ % 10000))
for row in $ROWS; do
    n=${row%%:*} m=${row##*:}
    port=$((port + 1))
    rm -rf "$OUT"
    mkdir -p "$OUT"
    # --max-per-source 0: every simulated device comes from 127.0.0.1, where a fleet's
    # devices come from distinct addresses (the per-source cap would reset all but 8).
    "$WK" file recv --listen "127.0.0.1:$port" --dir "$OUT" --key "$KEY" \
        --max-connections "$m" --max-per-source 0 --quiet 2>"$OUT.err" &
    server_pid=$!
    for _ in $(seq 1 500); do
        ss -Hltn "sport = :$port" | grep -q . && break
        sleep 0.01
    done
    # Sample the thread count while the clients run (VmHWM keeps the RSS peak by itself).
    threads_file="$OUT.threads"
    echo 0 >"$threads_file"
    (
        max=0
        while kill -0 "$server_pid" 2>/dev/null; do
            t=$(awk '/^Threads:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0)
            [ "${t:-0}" -gt "$max" ] && max=$t && echo "$max" >"$threads_file"
            sleep 0.05
        done
    ) &
    sampler=$!
    ok=0 failed=$n secs=0
    read -r ok failed secs < <("$PY" bench/scale_clients.py 127.0.0.1 "$port" "$n" "$body" --key "$KEY" || true) || true
    # The last files are renamed into place just after their client saw the close.
    sleep 0.5
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status")
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    wait "$sampler" 2>/dev/null || true
    intact=0
    for f in "$OUT"/client-*.bin; do
        [ -f "$f" ] && cmp -s "$f" "$body" && intact=$((intact + 1))
    done
    printf '| %d | %d | %d | %d | %.2f | %.0f | %.1f | %s |\n' "$n" "$m" "$ok" "$intact" "$secs" \
        "$(awk -v n="$n" -v s="$secs" 'BEGIN { print (s > 0 ? n / s : 0) }')" \
        "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "$(cat "$threads_file")"
    if [ "$failed" != 0 ] || [ "$intact" != "$n" ]; then
        echo "server errors (first lines):" >&2
        head -n 5 "$OUT.err" >&2
    fi
    rm -f "$OUT.err" "$threads_file"
done
