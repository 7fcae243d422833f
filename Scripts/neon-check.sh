#!/usr/bin/env bash
# Runs the NEON (AArch64) variants of the C kernels against their scalar references (Tests/NEON).
#
#   Scripts/neon-check.sh [seed]          AArch64: cross-compiled, run under qemu-aarch64 (or natively on arm64)
#   Scripts/neon-check.sh --native [seed] this CPU's own variants (on x86-64: AVX2, AVX-512; a check of the check)
#
# Builds Sources/CKernels/*.c with Tests/NEON/*.c twice, at -O0 and -O2 (what `swift build` and
# `swift build -c release` use for C), and runs each build. Exits 1 on any mismatch or build failure, 0 when every
# variant agrees. When the cross toolchain or qemu is missing it prints "skipped: ..." and exits 0 (set
# NEON_CHECK_REQUIRED=1 to make that an error). On Debian/Ubuntu the tools are:
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# The compiler is clang (as SwiftPM uses), with CC=... to override; --target=aarch64-linux-gnu finds the GNU
# cross toolchain's headers, libraries and linker.
set -euo pipefail
cd "$(dirname "$0")/.."

native=0
if [[ "${1:-}" == --native ]]; then
    native=1
    shift
fi
seed="${1:-20261204}"
out=.build-neon
cc="${CC:-clang}"

skip() {
    if [[ "${NEON_CHECK_REQUIRED:-0}" == 1 ]]; then
        echo "error: $1" >&2
        exit 1
    fi
    echo "skipped: $1"
    exit 0
}

machine=$(uname -m)
flags=(-std=c11 -D_ISOC11_SOURCE -D_DEFAULT_SOURCE -Wall -Wextra -ISources/CKernels/include -ISources/CKernels)
runner=()
if [[ $native == 1 || $machine == aarch64 || $machine == arm64 ]]; then
    target=native
else
    target=aarch64
    command -v "$cc" > /dev/null || skip "no $cc to cross-compile with"
    [[ -d /usr/aarch64-linux-gnu/lib ]] ||
        skip "no AArch64 C library (/usr/aarch64-linux-gnu); apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
    command -v qemu-aarch64 > /dev/null || command -v qemu-aarch64-static > /dev/null ||
        skip "no qemu-aarch64 to run AArch64 code; apt-get install qemu-user"
    qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static)
    flags+=(--target=aarch64-linux-gnu -static)
    runner=("$qemu")
fi
command -v "$cc" > /dev/null || skip "no C compiler ($cc)"

mkdir -p "$out"
status=0
for opt in -O0 -O2; do
    binary="$out/neon_kernels_test-$target$opt"
    echo "== building $binary ($cc $opt)"
    if ! "$cc" "${flags[@]}" "$opt" Sources/CKernels/*.c Tests/NEON/*.c -lm -o "$binary"; then
        # A missing cross linker or libc is a missing tool, not a kernel bug.
        if [[ $target == aarch64 ]] && ! "$cc" --target=aarch64-linux-gnu -static -x c - -o "$out/probe" \
            <<< 'int main(void) { return 0; }' 2> /dev/null; then
            skip "$cc cannot link for aarch64-linux-gnu (install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
        fi
        echo "error: building $binary failed" >&2
        exit 1
    fi
    echo "== running $binary ${runner[*]:+under ${runner[*]}}"
    start=$SECONDS
    "${runner[@]}" "$binary" "$seed" || status=1
    echo "== $((SECONDS - start))s"
done
exit $status
