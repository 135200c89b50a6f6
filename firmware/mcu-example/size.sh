#!/usr/bin/env bash
# Build the firmware proof in the `firmware` profile (opt-level "z", LTO, one codegen unit,
# panic = "abort"; see the workspace Cargo.toml) and print its flash and RAM use.
#
#   flash = text + data   (code, constants, and the initial image of initialized statics)
#   RAM   = data + bss    (statics; the stack comes on top, see the last line)
#
# Needs the thumbv7em-none-eabihf target (`rustup target add thumbv7em-none-eabihf`) and one
# of llvm-size (Debian package `llvm`), rust-size (cargo-binutils) or arm-none-eabi-size
# (`binutils-arm-none-eabi`); installs `llvm` with apt-get when none is there and it runs as
# root.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=thumbv7em-none-eabihf
profile=firmware
elf="target/$target/$profile/wirekit-mcu-example"

cargo build -p wirekit-mcu-example --target "$target" --profile "$profile"

# shellcheck source=../size-tool.sh
source firmware/size-tool.sh
require_size_tool

echo "size tool: $size_tool"
"$size_tool" "$elf"
read -r text data bss < <("$size_tool" "$elf" | awk 'NR == 2 { print $1, $2, $3 }')
kib() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1024 }'; }
echo "flash = text + data = $text + $data = $((text + data)) bytes ($(kib $((text + data))) KiB)"
echo "RAM   = data + bss  = $data + $bss = $((data + bss)) bytes ($(kib $((data + bss))) KiB) + stack"

# The largest single stack frame (the main loop's: interface and sessions live there), from
# the `sub sp, #n` prologues; the deepest call chain adds a little on top.
objdump_tool="${size_tool%size}objdump"
if [ -x "$objdump_tool" ] || command -v "$objdump_tool" >/dev/null 2>&1; then
    frame=$("$objdump_tool" -d --no-show-raw-insn "$elf" 2>/dev/null |
        awk '/sub(\.w)?[ \t]+sp, (sp, )?#/ { n = $NF; sub("#", "", n); if (n + 0 > max) max = n + 0 } END { print max + 0 }')
    echo "largest stack frame: $frame bytes"
fi
