# Sourced by firmware/mcu-example/size.sh and bench/firmware-size.sh: finds the LLVM binutils
# that read an ARM ELF, installing Debian's `llvm` when none is there and we run as root.
#
#   find_tool NAME     prints the path of llvm-NAME (PATH, the Rust sysroot, /usr/lib/llvm-*);
#                      for `size` also rust-size or arm-none-eabi-size
#   require_size_tool  sets $size_tool, or exits 1 with what to install

find_tool() {
    local name=$1 tool
    local candidates=("llvm-$name")
    [ "$name" = size ] && candidates+=(rust-size arm-none-eabi-size)
    for tool in "${candidates[@]}"; do
        command -v "$tool" >/dev/null 2>&1 && { echo "$tool"; return 0; }
    done
    for tool in "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-"$name" /usr/lib/llvm-*/bin/llvm-"$name"; do
        [ -x "$tool" ] && { echo "$tool"; return 0; }
    done
    return 1
}

require_size_tool() {
    if ! size_tool=$(find_tool size); then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "no size tool found: installing llvm with apt-get" >&2
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq llvm >&2
        fi
        size_tool=$(find_tool size) || {
            echo "error: need llvm-size, rust-size or arm-none-eabi-size (apt-get install llvm)" >&2
            exit 1
        }
    fi
}
