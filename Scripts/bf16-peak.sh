#!/usr/bin/env bash
# The `vdpbf16ps` peak of this CPU on 1..T threads (default 2): Scripts/bf16-peak.sh [T]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
clang -O2 -mavx512f -mavx512bf16 -pthread "$here/bf16-peak.c" -o "$out/bf16-peak"
"$out/bf16-peak" "${1:-2}"
