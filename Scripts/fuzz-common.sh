# Shared by the fuzz scripts (sourced, not run): builds Sources/CKernels for a libFuzzer + AddressSanitizer binary.
#
#   fuzz_build_ckernels DIR   # writes DIR/module/module.modulemap (so swiftc finds CKernels) and DIR/obj/*.o
fuzz_build_ckernels() {
    local dir="$1"
    mkdir -p "$dir/obj" "$dir/module"
    cat > "$dir/module/module.modulemap" <<MAP
module CKernels {
    umbrella "$PWD/Sources/CKernels/include"
    export *
}
MAP
    rm -f "$dir"/obj/*.o
    local source
    for source in Sources/CKernels/*.c; do
        clang -O2 -g -fsanitize=fuzzer-no-link,address -ISources/CKernels/include -c "$source" \
            -o "$dir/obj/$(basename "$source" .c).o"
    done
}
