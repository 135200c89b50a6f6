#!/usr/bin/env bash
# Firmware size table: flash and RAM of firmware/mcu-example (wirekit-core + wirekit-smoltcp +
# smoltcp: seed auth, file receive into an MD5 sink, commands), of firmware/core-only
# (wirekit-core alone: seed framing, seed verifier, file receiver into a counting sink) and of
# firmware/embassy-stm32 (wirekit-embassy on embassy-net + embassy-stm32 for a NUCLEO-F429ZI:
# seed auth, a file into an MD5 sink, commands, with the ETH driver, executor and RNG), each
# at opt-level "z" (profile `firmware`) and "s" (profile `firmware-s`), thumbv7em-none-eabihf.
#
#   flash = text + data   RAM = data + bss (+ stack)
#
# With `--top N` it also lists the N largest symbols of each image (llvm-nm --size-sort).
set -euo pipefail
cd "$(dirname "$0")/.."

top=0
[ "${1:-}" = "--top" ] && top=${2:-20}
target=thumbv7em-none-eabihf
rustup target add "$target" >/dev/null 2>&1 || true

# shellcheck source=../firmware/size-tool.sh
source firmware/size-tool.sh
require_size_tool
nm_tool=$(find_tool nm || true)

kib() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1024 }'; }
rows=()
for crate in wirekit-mcu-example wirekit-core-only wirekit-embassy-stm32; do
    for profile in firmware firmware-s; do
        cargo build -q -p "$crate" --target "$target" --profile "$profile"
        elf="target/$target/$profile/$crate"
        read -r text data bss < <("$size_tool" "$elf" | awk 'NR == 2 { print $1, $2, $3 }')
        case $profile in firmware) opt=z ;; firmware-s) opt=s ;; esac
        rows+=("| $crate | \"$opt\" | $((text + data)) ($(kib $((text + data))) KiB) | $((data + bss)) ($(kib $((data + bss))) KiB) |")
        if [ "$top" -gt 0 ] && [ -n "$nm_tool" ]; then
            echo "## $crate, opt-level \"$opt\": largest $top symbols (bytes, demangled)"
            "$nm_tool" --size-sort --print-size --radix=d -C "$elf" | tail -n "$top" | awk '{ $1 = ""; print }'
            echo
        fi
    done
done
echo "| firmware | opt-level | flash = text + data (bytes) | RAM = data + bss (bytes, + stack) |"
echo "|---|---|---:|---:|"
printf '%s\n' "${rows[@]}"
