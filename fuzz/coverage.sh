#!/usr/bin/env bash
# Line coverage of wirekit-core reached by the fuzz corpora (committed seeds + fuzz/work/).
#
#   fuzz/coverage.sh [target...]     (default: every target)
#
# Needs `rustup component add llvm-tools`. Prints, per target, the share of core's lines its
# corpus executes, then the union over all targets and the core lines no target reaches.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1
bin_dir="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
llvm_cov="$bin_dir/llvm-cov"
llvm_profdata="$bin_dir/llvm-profdata"
if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi

objects=()
profiles=()
for t in "${targets[@]}"; do
    mkdir -p "work/$t"
    cargo fuzz coverage "$t" "work/$t" "corpus/$t" >"/tmp/wirekit-cov-$t.log" 2>&1
    bin="target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release/$t"
    prof="coverage/$t/coverage.profdata"
    objects+=("-object" "$bin")
    profiles+=("$prof")
    line=$("$llvm_cov" report "$bin" -instr-profile="$prof" ../core/src | grep '^TOTAL')
    # TOTAL columns: regions missed cover functions missed executed lines missed cover ...
    echo "$t: core lines $(echo "$line" | awk '{print $8 - $9 "/" $8 " (" $10 ")"}')"
done
"$llvm_profdata" merge -o coverage/all.profdata "${profiles[@]}"
first="${objects[1]}"
rest=("${objects[@]:2}")
echo "--- union of all targets, per core file (lines):"
"$llvm_cov" report "$first" "${rest[@]}" -instr-profile=coverage/all.profdata ../core/src |
    awk 'NR > 2 && $1 != "" && $1 !~ /^-+$/ {n=split($1, p, "/core/src/"); f=(n > 1 ? p[2] : $1); printf "%-28s %5s/%-5s %s\n", f, $8 - $9, $8, $10}'
