#!/usr/bin/env bash
# 1 GiB over loopback into tmpfs, in one run: `wirekit file send --profile secure` -> `file recv
# --profile secure`, beside wirekit's plaintext transfer (`--profile seed`, no key) and
# `scp -c aes128-gcm@openssh.com` to an OpenSSH server this script starts on 127.0.0.1 with
# key authentication (issue 13). Every copy is `cmp`-checked. Prints one line per run (wall
# seconds, MiB/s, peak RSS of each wirekit process) and the median of each, after one
# untimed warm-up transfer of each kind.
#
#   bash bench/secure-transfer.sh            # 3 rounds, 1 GiB
#   ROUNDS=5 SIZE_MIB=512 bash bench/secure-transfer.sh
#
# Needs: a release build (made if missing), GNU time, openssh-server (`apt-get install
# openssh-server`) and openssh-client. Not run by CI: it is a measurement, not a test.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WIREKIT=${WIREKIT:-$ROOT/target/release/wirekit}
SSHD=${SSHD:-/usr/sbin/sshd}
[ -x "$WIREKIT" ] || cargo build --release -p wirekit-std --bin wirekit --manifest-path "$ROOT/Cargo.toml"
[ -x "$SSHD" ] || { echo "needs $SSHD: apt-get install openssh-server" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }

WORK=$(mktemp -d /dev/shm/wirekit-secure-bench.XXXXXX)
SSHD_PID=""
cleanup() {
    [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

SRC=$WORK/src.bin
mkdir -p "$WORK/out" "$WORK/ssh"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$SRC"
"$WIREKIT" keygen "$WORK/key" 2>/dev/null

# An OpenSSH server of our own: its own host key, our user's public key, 127.0.0.1 only.
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/client_key"
cp "$WORK/ssh/client_key.pub" "$WORK/ssh/authorized_keys"
chmod 600 "$WORK/ssh/authorized_keys"
SSH_PORT=$((20000 + RANDOM % 20000))
mkdir -p /run/sshd
"$SSHD" -D -e -p "$SSH_PORT" -o ListenAddress=127.0.0.1 -h "$WORK/ssh/host_key" \
    -o AuthorizedKeysFile="$WORK/ssh/authorized_keys" -o PasswordAuthentication=no \
    -o PermitRootLogin=prohibit-password -o StrictModes=no -o UsePAM=no \
    -o PidFile=none 2>"$WORK/ssh/sshd.log" &
SSHD_PID=$!
SSH_OPTS=(-i "$WORK/ssh/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o LogLevel=ERROR -o BatchMode=yes)
for _ in $(seq 50); do
    ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" 127.0.0.1 true 2>/dev/null && break
    sleep 0.1
done

now() { date +%s.%N; }
mibs() { echo "scale=0; $SIZE_MIB / $1" | bc; }

# One wirekit transfer: receiver listens, sender connects. Prints "SECONDS SEND_RSS RECV_RSS".
wirekit_run() {
    local port=$1; shift
    rm -f "$WORK/out/"*
    /usr/bin/time -f %M -o "$WORK/recv.rss" "$WIREKIT" file recv --listen="127.0.0.1:$port" \
        --dir "$WORK/out" --once -q "$@" 2>"$WORK/recv.log" &
    local recv=$!
    for _ in $(seq 100); do grep -q "listening on" "$WORK/recv.log" 2>/dev/null && break; sleep 0.02; done
    local start end
    start=$(now)
    /usr/bin/time -f %M -o "$WORK/send.rss" "$WIREKIT" file send --connect="127.0.0.1:$port" -q \
        "$@" --name out.bin "$SRC"
    end=$(now)
    wait "$recv"
    cmp "$SRC" "$WORK/out/out.bin"
    echo "$(echo "$end - $start" | bc) $(cat "$WORK/send.rss") $(cat "$WORK/recv.rss")"
}

scp_run() {
    rm -f "$WORK/out/"*
    local start end
    start=$(now)
    scp -q -c aes128-gcm@openssh.com "${SSH_OPTS[@]}" -P "$SSH_PORT" "$SRC" "127.0.0.1:$WORK/out/out.bin"
    end=$(now)
    cmp "$SRC" "$WORK/out/out.bin"
    echo "$(echo "$end - $start" | bc)"
}

# One untimed transfer of each kind first: the first writes into a fresh tmpfs are slower.
wirekit_run 18400 --profile secure --key-file "$WORK/key" >/dev/null
wirekit_run 18500 --profile seed >/dev/null
scp_run >/dev/null

declare -a secure plain scps
for round in $(seq "$ROUNDS"); do
    read -r s_t s_send s_recv < <(wirekit_run $((18400 + round)) --profile secure --key-file "$WORK/key")
    read -r p_t p_send p_recv < <(wirekit_run $((18500 + round)) --profile seed)
    c_t=$(scp_run)
    secure+=("$s_t"); plain+=("$p_t"); scps+=("$c_t")
    printf 'round %d: secure %.3f s (%s MiB/s, RSS send %s KiB recv %s KiB)  plaintext %.3f s (%s MiB/s, RSS %s/%s KiB)  scp aes128-gcm %.3f s (%s MiB/s)\n' \
        "$round" "$s_t" "$(mibs "$s_t")" "$s_send" "$s_recv" "$p_t" "$(mibs "$p_t")" "$p_send" "$p_recv" \
        "$c_t" "$(mibs "$c_t")"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(median "${secure[@]}"); mp=$(median "${plain[@]}"); mc=$(median "${scps[@]}")
printf 'median of %d (%d MiB): secure %.3f s (%s MiB/s), plaintext %.3f s (%s MiB/s), scp aes128-gcm %.3f s (%s MiB/s); secure/scp throughput %.2fx, secure/plaintext %.2fx\n' \
    "$ROUNDS" "$SIZE_MIB" "$ms" "$(mibs "$ms")" "$mp" "$(mibs "$mp")" "$mc" "$(mibs "$mc")" \
    "$(echo "scale=2; $mc / $ms" | bc)" "$(echo "scale=2; $mp / $ms" | bc)"
