#!/usr/bin/env bash
# Runs the threaded tests under ThreadSanitizer: the thread pool, GEMM and the tensor operations that fan out over
# it, ToMe matching and merging, the layers (attention in both forms, convolution, norms) that run on the shared
# pool, and the small whole-model tests (UNet, text encoder, VAE, the ToMe-patched UNet) that chain them.
#
#   Scripts/tsan.sh
#
# Builds everything with `--sanitize=thread` into .build-tsan (about 2 minutes from clean on 2 cores; the tests
# then take about a minute) and fails on any data race report or test failure. The shared pool gets 4 threads
# (TOMESD_NUM_THREADS) so that even a 2-core machine runs the loops with several workers at once.
# No suppressions: the run is clean without any. What TSan can see: the pool hands out indices with an atomic
# counter, which orders a thread's earlier loop bodies before the bodies other threads claim after it, so a race
# shows up between bodies running at the same time (as they do in these tests' larger loops), not between tiny
# bodies that never overlap. A race injected into a ThreadPool test (bodies that sleep 2 ms) is reported.
set -euo pipefail
cd "$(dirname "$0")/.."

# Test classes, by name (whichever test target holds them).
classes="ThreadPoolTests|GEMMTests|MatmulTests|TensorElementwiseTests|TensorReductionTests|TensorPermuteTests"
classes+="|TensorConcatenateTests|MatchKernelTests|MergePlanTests|LayerReferenceTests"
classes+="|UNetForwardTests|TextEncoderTests|VAETests|PatchParityTests"

export TOMESD_NUM_THREADS=4
# halt_on_error: the first race ends the run with a non-zero exit, whatever the test's own result.
export TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
log=.build-tsan/tsan-tests.log
swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "\.($classes)/" 2>&1 | tee "$log"
# A class renamed or removed would silently drop out of the filter: every one must have run.
for class in ${classes//|/ }; do
    if ! grep -q "Test Suite '$class' passed" "$log"; then
        echo "error: test class $class did not run (renamed? update Scripts/tsan.sh)" >&2
        exit 1
    fi
done
