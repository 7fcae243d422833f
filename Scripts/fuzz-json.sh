#!/usr/bin/env bash
# Fuzzes one JSON reader of a model folder with libFuzzer for [seconds] (default 600) on one core.
#
#   Scripts/fuzz-json.sh config|scheduler|tokenizer|vocab [seconds]
#
# Builds .build-fuzz/json-fuzz from Fuzz/JSONFuzz.swift, Sources/TensorCore, Sources/ImageFiles,
# Sources/StableDiffusion and Sources/CKernels with `-sanitize=fuzzer,address` (command-line flags only: the package itself has no
# unsafeFlags; the same approach as Scripts/fuzz-safetensors.sh), seeds the reader's corpus with the JSON fixtures
# of Tests/Fixtures/sd, and runs. Each reader's corpus grows in .build-fuzz/json-READER-corpus across runs; a
# crashing input is saved as .build-fuzz/artifacts/json-READER-crash-* and the script exits non-zero.
# Replay one input: JSON_FUZZ_READER=READER SWIFT_BACKTRACE=enable=no .build-fuzz/json-fuzz FILE
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/fuzz-common.sh
reader="${1:?usage: Scripts/fuzz-json.sh config|scheduler|tokenizer|vocab [seconds]}"
seconds="${2:-600}"
case "$reader" in config|scheduler|tokenizer|vocab) ;; *) echo "unknown reader '$reader'" >&2; exit 2 ;; esac
out=.build-fuzz
build="$out/json-build"
seeds="$out/json-$reader-seeds"
rm -rf "$seeds"
mkdir -p "$build/obj" "$build/module" "$out/json-$reader-corpus" "$seeds" "$out/artifacts"

# Rebuilt only when a source is newer than the binary (the four readers share it).
if [[ ! -x "$out/json-fuzz" ]] || [[ -n "$(find Sources/TensorCore Sources/ImageFiles Sources/StableDiffusion Sources/CKernels Fuzz/JSONFuzz.swift -newer "$out/json-fuzz" | head -1)" ]]; then
    echo "== building $out/json-fuzz"
    fuzz_build_ckernels "$build"
    flags=(-O -g -sanitize=fuzzer,address -parse-as-library -package-name swift_tomesd -I "$build/module" -Xcc -ISources/CKernels/include)
    swiftc "${flags[@]}" -wmo -module-name TensorCore -emit-module -emit-module-path "$build/module/TensorCore.swiftmodule" \
        -c Sources/TensorCore/*.swift -o "$build/obj/TensorCore.o"
    swiftc "${flags[@]}" -wmo -module-name ImageFiles -emit-module -emit-module-path "$build/module/ImageFiles.swiftmodule" \
        -c $(find Sources/ImageFiles -name '*.swift' | sort) -o "$build/obj/ImageFiles.o"
    # The built-in demo pipeline needs the compiled-in CLIP merges (CEmbeddedResources); the readers do not.
    swiftc "${flags[@]}" -wmo -module-name StableDiffusion -emit-module -emit-module-path "$build/module/StableDiffusion.swiftmodule" \
        -c $(find Sources/StableDiffusion -name '*.swift' ! -name 'BuiltInResources.swift' ! -name 'StableDiffusionPipeline+BuiltIn.swift' | sort) \
        -o "$build/obj/StableDiffusion.o"
    swiftc "${flags[@]}" -module-name JSONFuzz Fuzz/JSONFuzz.swift "$build"/obj/*.o -o "$out/json-fuzz"
fi

# Seeds: the small JSON fixtures the reader reads (vocab: each vocab.json with its merges.txt after a NUL byte).
case "$reader" in
config) for f in $(find Tests/Fixtures/sd -name config.json -size -64k); do cp "$f" "$seeds/$(echo "$f" | tr / _)"; done ;;
scheduler)
    for f in $(find Tests/Fixtures/sd -name scheduler_config.json -size -64k); do cp "$f" "$seeds/$(echo "$f" | tr / _)"; done ;;
tokenizer)
    for f in $(find Tests/Fixtures/sd -name 'tokenizer*.json' -size -64k -o -name special_tokens_map.json -size -64k); do
        cp "$f" "$seeds/$(echo "$f" | tr / _)"
    done ;;
vocab)
    for f in $(find Tests/Fixtures/sd -name vocab.json -size -64k); do
        merges="$(dirname "$f")/merges.txt"
        [[ -f "$merges" ]] && { cat "$f"; printf '\0'; cat "$merges"; } > "$seeds/$(echo "$f" | tr / _)"
    done ;;
esac
echo "== $(ls "$seeds" | wc -l) seeds for $reader"

echo "== fuzzing $reader for ${seconds}s"
# libFuzzer reports crashes itself; the Swift runtime's backtracer would stall it.
JSON_FUZZ_READER="$reader" SWIFT_BACKTRACE=enable=no "$out/json-fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -dict=Fuzz/json.dict -print_final_stats=1 -artifact_prefix="$out/artifacts/json-$reader-" \
    "$out/json-$reader-corpus" "$seeds"
