#!/usr/bin/env bash
# End-to-end transfer benchmark: file -> TCP loopback -> file, timed for
#   * wirekit  (`wirekit file recv --listen` + `wirekit file send --connect`, release build)
#   * socat -b 1048576 and socat -b 8192 (raw byte copies, no framing: the baselines)
#   * the seed's Python recipe (tests/python/file_send.py / file_recv.py: struct.pack('i') +
#     json.dumps header, then a 1024-byte read/sendall loop)
# on one 1 GiB file (random bytes, made once and cached under target/bench-data/), then
# wirekit alone at 1 MiB, 64 MiB and 1 GiB to show that its memory does not grow with the file.
#
# Every run is checked byte for byte with `cmp`. Each figure is the best wall time of $REPS runs
# (default 3), measured from starting the sender to both sides having exited; peak RSS
# (/usr/bin/time -f %M) is the largest seen over the runs, per side.
#
#   bash bench/transfer.sh             # everything (about a minute on 2 cores)
#   REPS=1 SIZES_MIB="1 64" bash bench/transfer.sh   # quicker
#   TOOLS="wirekit socat-1M" REPS=7 SIZES_MIB= bash bench/transfer.sh   # just the close race
#   PAIRS=9 bash bench/transfer.sh      # paired runs against socat -b 1048576, with the floors
#
# PAIRS=N runs every tool of $TOOLS once per round, N rounds, the order rotated each round, and
# gives each tool's time as a ratio to socat -b 1048576's *in the same round* (median and range):
# on shared cores a paired ratio is far steadier than two best-of figures. Default tools then:
# wirekit, socat-1M and two floors that are not transfers (not cmp-checked): `cat-floor` (cat FILE
# into the output directory: the file copy alone, no socket) and `socat-null` (socat -b 1048576
# over TCP into /dev/null: the socket alone, no file write).
#
# Received files go to a tmpfs (/dev/shm) when there is one, so that disk writeback does not
# decide the result; set BENCH_OUT to write elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
BIG_MIB=${BIG_MIB:-1024}
SIZES_MIB=${SIZES_MIB-"1 64 1024"}
# The first is the one the ratios are taken against.
if [ -n "${PAIRS:-}" ]; then
    TOOLS=${TOOLS:-"wirekit socat-1M cat-floor socat-null"}
else
    TOOLS=${TOOLS:-"wirekit socat-1M socat-8k python-seed"}
fi

# --- tools -------------------------------------------------------------------------------
need_apt=()
command -v socat >/dev/null 2>&1 || need_apt+=(socat)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v ss >/dev/null 2>&1 || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
    else
        echo "error: missing ${need_apt[*]} (install them, or run as root with apt-get)" >&2
        exit 1
    fi
fi
# The real interpreter, not a pyenv shim: the shim's startup would be timed too.
PY=$(python3 -c 'import sys; print(sys.executable)')

cargo build --release -q -p wirekit-std --bin wirekit
WK="$PWD/target/release/wirekit"

DATA="$PWD/target/bench-data"
mkdir -p "$DATA"
if [ -z "${BENCH_OUT:-}" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then BENCH_OUT=/dev/shm/wirekit-bench.$$; else BENCH_OUT="$DATA/out.$$"; fi
fi
OUT="$BENCH_OUT"
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT

# A random file of $1 MiB, made once.
data_file() {
    local mib=$1 path="$DATA/random-${1}MiB.bin"
    if [ ! -f "$path" ] || [ "$(stat -c %s "$path")" != $((mib * 1048576)) ]; then
        echo "making $path" >&2
        dd if=/dev/urandom of="$path.tmp" bs=1M count="$mib" status=none
        mv "$path.tmp" "$path"
    fi
    # Warm the page cache so every tool reads from memory.
    cat "$path" >/dev/null
    echo "$path"
}

# Below Linux's ephemeral range (32768-60999), where a client socket may hold any port.
port=$((10000 + $$ % 20000))
next_port() { port=$((port + 1)); }

# wait_listening PORT PID: true once PORT listens; false if PID exits first or 5 s pass.
wait_listening() {
    local p=$1 pid=$2 i
    for i in $(seq 1 500); do
        if ss -Hltn "sport = :$p" | grep -q .; then return 0; fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.01
    done
    kill "$pid" 2>/dev/null || true
    return 1
}

now_ns() { date +%s%N; }

# run_once TOOL INPUT: one transfer; sets RUN_SECS, RUN_SEND_KIB, RUN_RECV_KIB.
run_once() {
    local tool=$1 in=$2 name out p
    name=$(basename "$in")
    rm -rf "${OUT:?}"/*
    out="$OUT/$name"
    local recv_cmd send_cmd recv_pid attempt t0 t1
    if [ "$tool" = cat-floor ]; then
        t0=$(now_ns)
        cat "$in" >"$out"
        t1=$(now_ns)
        RUN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
        RUN_SEND_KIB=0 RUN_RECV_KIB=0
        return 0
    fi
    for attempt in 1 2 3 4 5; do
    next_port
    p=$port
    case $tool in
    wirekit)
        recv_cmd=("$WK" file recv --listen "127.0.0.1:$p" --once --quiet --dir "$OUT")
        send_cmd=("$WK" file send "$in" --connect "127.0.0.1:$p" --quiet)
        ;;
    socat-1M)
        recv_cmd=(socat -u -b 1048576 "TCP-LISTEN:$p,reuseaddr" "OPEN:$out,creat,trunc")
        send_cmd=(socat -u -b 1048576 "OPEN:$in" "TCP:127.0.0.1:$p")
        ;;
    socat-null)
        recv_cmd=(socat -u -b 1048576 "TCP-LISTEN:$p,reuseaddr" "OPEN:/dev/null")
        send_cmd=(socat -u -b 1048576 "OPEN:$in" "TCP:127.0.0.1:$p")
        ;;
    socat-8k)
        recv_cmd=(socat -u -b 8192 "TCP-LISTEN:$p,reuseaddr" "OPEN:$out,creat,trunc")
        send_cmd=(socat -u -b 8192 "OPEN:$in" "TCP:127.0.0.1:$p")
        ;;
    python-seed)
        recv_cmd=("$PY" tests/python/file_recv.py listen 127.0.0.1 "$p" "$OUT")
        send_cmd=("$PY" tests/python/file_send.py connect 127.0.0.1 "$p" "$in")
        ;;
    *) echo "unknown tool $tool" >&2; return 1 ;;
    esac
    /usr/bin/time -f %M -o "$OUT/.recv.rss" "${recv_cmd[@]}" >/dev/null 2>"$OUT/.recv.err" &
    recv_pid=$!
    # A port someone else holds: the receiver cannot bind; take the next one.
    wait_listening "$p" "$recv_pid" && break
    wait "$recv_pid" 2>/dev/null || true
    if [ "$attempt" = 5 ]; then
        echo "error: $tool receiver never listened:" >&2
        cat "$OUT/.recv.err" >&2
        return 1
    fi
    done
    t0=$(now_ns)
    if ! /usr/bin/time -f %M -o "$OUT/.send.rss" "${send_cmd[@]}" >/dev/null 2>"$OUT/.send.err"; then
        echo "error: $tool sender failed:" >&2
        cat "$OUT/.send.err" >&2
        kill "$recv_pid" 2>/dev/null || true
        return 1
    fi
    if ! wait "$recv_pid"; then
        echo "error: $tool receiver failed:" >&2
        cat "$OUT/.recv.err" >&2
        return 1
    fi
    t1=$(now_ns)
    if [ "$tool" != socat-null ] && ! cmp -s "$in" "$out"; then
        echo "error: $tool: $out differs from $in" >&2
        return 1
    fi
    # `time -o` puts a "Command exited with non-zero status" line first on failure; take the last.
    RUN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
    RUN_SEND_KIB=$(tail -n 1 "$OUT/.send.rss")
    RUN_RECV_KIB=$(tail -n 1 "$OUT/.recv.rss")
}

# measure TOOL INPUT: best time and largest RSS over $REPS runs; sets M_SECS, M_SEND_KIB,
# M_RECV_KIB. (Globals, not output: the port counter must advance in this shell.)
measure() {
    local tool=$1 in=$2 i
    M_SECS="" M_SEND_KIB=0 M_RECV_KIB=0
    for i in $(seq 1 "$REPS"); do
        run_once "$tool" "$in" || exit 1
        if [ -z "$M_SECS" ] || awk -v a="$RUN_SECS" -v b="$M_SECS" 'BEGIN { exit !(a < b) }'; then
            M_SECS=$RUN_SECS
        fi
        [ "$RUN_SEND_KIB" -gt "$M_SEND_KIB" ] && M_SEND_KIB=$RUN_SEND_KIB
        [ "$RUN_RECV_KIB" -gt "$M_RECV_KIB" ] && M_RECV_KIB=$RUN_RECV_KIB
    done
    return 0
}

mib_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; } # throughput ratio = time b / time a
rss_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(uname -r)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "runs:    best of $REPS; output on $OUT"
echo

big=$(data_file "$BIG_MIB")
bytes=$(stat -c %s "$big")
declare -A T S R

if [ -n "${PAIRS:-}" ]; then
    read -r -a tools <<<"$TOOLS"
    declare -A PT PS PR
    for round in $(seq 1 "$PAIRS"); do
        for k in $(seq 0 $((${#tools[@]} - 1))); do
            tool=${tools[$(((k + round) % ${#tools[@]}))]}
            run_once "$tool" "$big" || exit 1
            PT[$tool,$round]=$RUN_SECS
            [ "$RUN_SEND_KIB" -gt "${PS[$tool]:-0}" ] && PS[$tool]=$RUN_SEND_KIB
            [ "$RUN_RECV_KIB" -gt "${PR[$tool]:-0}" ] && PR[$tool]=$RUN_RECV_KIB
        done
    done
    printf '## %d MiB file -> TCP loopback -> file, %d paired rounds\n\n' "$BIG_MIB" "$PAIRS"
    printf '| tool | median time (s) | time / socat-1M time, same round: median (min-max) | throughput vs socat-1M | send / recv peak RSS (MiB) |\n'
    printf '|---|---:|---:|---:|---:|\n'
    for tool in "${tools[@]}"; do
        times="" ratios=""
        for round in $(seq 1 "$PAIRS"); do
            times+="${PT[$tool,$round]} "
            ratios+="$(awk -v a="${PT[$tool,$round]}" -v b="${PT[socat-1M,$round]}" 'BEGIN { printf "%.4f", a / b }') "
        done
        stats=$(tr ' ' '\n' <<<"$ratios" | grep . | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.2f %.2f %.2f", m, v[1], v[NR], 1 / m }')
        read -r med lo hi speed <<<"$stats"
        tmed=$(tr ' ' '\n' <<<"$times" | grep . | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m }')
        printf '| %s | %s | %s× (%s-%s) | %s× | %s / %s |\n' "$tool" "$tmed" "$med" "$lo" "$hi" "$speed" \
            "$(rss_mib "${PS[$tool]:-0}")" "$(rss_mib "${PR[$tool]:-0}")"
    done
    echo
    echo "transfers cmp-checked (cat-floor and socat-null are floors, not transfers)"
    exit 0
fi
for tool in $TOOLS; do
    measure "$tool" "$big"
    T[$tool]=$M_SECS S[$tool]=$M_SEND_KIB R[$tool]=$M_RECV_KIB
done

printf '## %d MiB file -> TCP loopback -> file\n\n' "$BIG_MIB"
printf '| tool | time (s) | MiB/s | wirekit / this | send peak RSS (MiB) | recv peak RSS (MiB) |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for tool in $TOOLS; do
    printf '| %s | %.3f | %s | %s× | %s | %s |\n' "$tool" "${T[$tool]}" "$(mib_s "$bytes" "${T[$tool]}")" \
        "$(ratio "${T[wirekit]}" "${T[$tool]}")" "$(rss_mib "${S[$tool]}")" "$(rss_mib "${R[$tool]}")"
done
echo

[ -z "$SIZES_MIB" ] && exit 0
printf '## wirekit peak RSS by file size\n\n'
printf '| file | time (s) | MiB/s | send peak RSS (MiB) | recv peak RSS (MiB) |\n'
printf '|---:|---:|---:|---:|---:|\n'
for mib in $SIZES_MIB; do
    f=$(data_file "$mib")
    if [ "$mib" = "$BIG_MIB" ]; then
        t=${T[wirekit]} s=${S[wirekit]} r=${R[wirekit]}
    else
        measure wirekit "$f"
        t=$M_SECS s=$M_SEND_KIB r=$M_RECV_KIB
    fi
    printf '| %s MiB | %.3f | %s | %s | %s |\n' "$mib" "$t" "$(mib_s $((mib * 1048576)) "$t")" "$(rss_mib "$s")" "$(rss_mib "$r")"
done
echo
echo "all runs: received bytes identical to the sent file (cmp)"
