#!/usr/bin/env bash
# Installs qemu-system-riscv32 into a folder without `apt-get install qemu-system-misc`
# (that would remove the machine's newer qemu-utils): download the Debian packages,
# unpack them with `dpkg -x`, then install only the runtime libraries the binary lacks.
# Idempotent. Usage: install-qemu.sh [DIR]   (default: <workspace>/target/qemu)
# Prints the absolute path of qemu-system-riscv32 as its last line on stdout.
# The firmware needs `-L DIR/root/usr/share/qemu` only for BIOS images; with
# `-bios none` it needs nothing from there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$here/../../target/qemu}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
root="$dir/root"
bin="$root/usr/bin/qemu-system-riscv32"
log() { echo "install-qemu: $*" >&2; }

missing_libs() { ldd "$bin" 2>/dev/null | awk '/not found/ {print $1}'; }

if [ ! -x "$bin" ]; then
    debs="$dir/debs"
    mkdir -p "$debs"
    if ! ls "$debs"/qemu-system-misc_*.deb >/dev/null 2>&1; then
        # Package lists may be missing on a fresh machine.
        if ! apt-cache show qemu-system-misc >/dev/null 2>&1; then
            log "apt-get update"
            apt-get update -qq >&2
        fi
        log "downloading qemu-system-misc, -common, -data"
        # apt-get download writes into the current directory; _apt cannot write to
        # root-owned folders, which only triggers a harmless warning.
        (cd "$debs" && apt-get download -q qemu-system-misc qemu-system-common qemu-system-data >&2)
    fi
    rm -rf "$root.tmp"
    mkdir -p "$root.tmp"
    for deb in "$debs"/qemu-system-misc_*.deb "$debs"/qemu-system-common_*.deb "$debs"/qemu-system-data_*.deb; do
        log "unpacking $(basename "$deb")"
        dpkg -x "$deb" "$root.tmp"
    done
    rm -rf "$root"
    mv "$root.tmp" "$root"
fi

if [ -n "$(missing_libs)" ]; then
    log "missing libraries: $(missing_libs | tr '\n' ' ')"
    # Install qemu-system-misc's library dependencies that are not installed yet
    # (never the qemu-* packages themselves).
    deb="$(ls "$dir"/debs/qemu-system-misc_*.deb | head -n1)"
    want=()
    for pkg in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/(.*)//' -e 's/|.*//' -e 's/ //g'); do
        case "$pkg" in qemu-*) continue ;; esac
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            want+=("$pkg")
        fi
    done
    if [ "${#want[@]}" -gt 0 ]; then
        log "apt-get install ${want[*]}"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}" >&2; then
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}" >&2
        fi
    fi
    if [ -n "$(missing_libs)" ]; then
        log "still missing: $(missing_libs | tr '\n' ' ')"
        exit 1
    fi
fi

"$bin" --version | head -n1 >&2
echo "$bin"
