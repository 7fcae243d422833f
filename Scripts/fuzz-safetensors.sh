#!/usr/bin/env bash
# Fuzzes the safetensors reader with libFuzzer for [seconds] (default 600) on one core.
#
#   Scripts/fuzz-safetensors.sh [seconds]
#
# Builds .build-fuzz/safetensors-fuzz from Fuzz/SafeTensorsFuzz.swift, Sources/TensorCore and Sources/CKernels
# with `-sanitize=fuzzer,address` (command-line flags only: the package itself has no unsafeFlags), seeds the
# corpus with the small fixtures of Tests/Fixtures/tensorcore, and runs. The corpus grows in .build-fuzz/corpus
# across runs; a crashing input is saved as .build-fuzz/artifacts/crash-* and the script exits non-zero.
# Replay one input: SWIFT_BACKTRACE=enable=no .build-fuzz/safetensors-fuzz FILE
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/fuzz-common.sh
seconds="${1:-600}"
out=.build-fuzz
rm -rf "$out/seeds"
mkdir -p "$out/obj" "$out/module" "$out/corpus" "$out/seeds" "$out/artifacts"

echo "== building $out/safetensors-fuzz"
fuzz_build_ckernels "$out"
swiftc -O -g -num-threads 2 -sanitize=fuzzer,address -parse-as-library -module-name TensorCore -package-name swift_tomesd \
    -I "$out/module" -Xcc -ISources/CKernels/include \
    Sources/TensorCore/*.swift Fuzz/SafeTensorsFuzz.swift "$out"/obj/*.o \
    -o "$out/safetensors-fuzz"

# Seeds: every fixture small enough to mutate quickly, as it is and in the harness's "header NUL data" form
# (see Fuzz/SafeTensorsFuzz.swift), plus the hand-written headers of Fuzz/seeds.
for fixture in $(find Tests/Fixtures/tensorcore -name '*.safetensors' -size -64k); do
    name=$(basename "$fixture" .safetensors)
    cp "$fixture" "$out/seeds/$name.raw"
    length=$(od -An -t u8 -N8 "$fixture" | tr -d ' ')
    { head -c $((8 + length)) "$fixture" | tail -c "$length"; printf '\0'; tail -c +$((9 + length)) "$fixture"; } > "$out/seeds/$name.split"
done
cp Fuzz/seeds/* "$out/seeds/"

echo "== fuzzing for ${seconds}s"
# libFuzzer reports crashes itself; the Swift runtime's backtracer would stall it.
SWIFT_BACKTRACE=enable=no "$out/safetensors-fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -dict=Fuzz/safetensors.dict -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
    "$out/corpus" "$out/seeds"
