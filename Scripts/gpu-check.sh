#!/usr/bin/env bash
# GPU verification of the CUDA backend, for a machine with CUDA and PyTorch but no Swift.
#
# Prepare here (a machine with Swift), into a folder CARRY:
#   swift build -c release --static-swift-stdlib --product tomesd
#   strip -o CARRY/tomesd .build/release/tomesd && gzip -9 CARRY/tomesd   (about 22 MB; plain tomesd works too)
#   cp -r Tests/Fixtures/tome CARRY/fixtures
#   cp Scripts/gpu-check.sh Scripts/cuda/tomesd_gpu_bench.py CARRY/
#   pip download tomesd==0.1.3 --no-deps -d CARRY
# Run there:  bash CARRY/gpu-check.sh CARRY      (logs also go to $OUT when set)
#
# Steps: parity of CPU and GPU plans over the tomesd fixtures and the built-in hard cases (bit-identical plans,
# outputs within 1e-5), timing of match + merge + unmerge at B = 2, C = 320, N = 64² and 128² beside tomesd 0.1.3
# on PyTorch CUDA (fp32, TF32 off) with the ratio table, a sweep of the matching kernel's tuning at N = 128², and
# compute-sanitizer memcheck over the small parity cases. Bar: all parity cases identical, cuda >= 2x tomesd at
# N = 16384. Exit status: non-zero when parity fails or the binary cannot run.
set -uo pipefail
carry=${1:-.gpu-carry}
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
tomesd="$carry/tomesd"
if [ -f "$carry/tomesd.gz" ]; then
    tomesd=/tmp/tomesd-gpu-check
    gunzip -c "$carry/tomesd.gz" > "$tomesd" && chmod +x "$tomesd"
fi
wheel=$(ls "$carry"/tomesd-*.whl | head -n 1)

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader

echo "== parity and timing (tomesd check-cuda)"
timeout 180 "$tomesd" check-cuda --fixtures "$carry/fixtures" --large --bench --profile --grids 64,128 \
    --repeats 30 2>&1 | tee "$out/cuda.txt"
status=${PIPESTATUS[0]}

echo "== tomesd 0.1.3 on PyTorch CUDA"
timeout 120 python3 "$carry/tomesd_gpu_bench.py" --tomesd "$wheel" --grids 64,128 --repeats 30 2>&1 \
    | tee "$out/tomesd.txt"

echo "== ratio (median ms, same GPU, same run)"
python3 - "$out/cuda.txt" "$out/tomesd.txt" <<'PY'
import json, sys
def rows(path):
    found = {}
    for line in open(path):
        if line.startswith("{"):
            row = json.loads(line)
            found[row["grid"]] = row
    return found
cuda, tomesd = rows(sys.argv[1]), rows(sys.argv[2])
print(f"{'grid':>8} {'N':>6} {'tomesd ms':>10} {'cuda ms':>9} {'speed-up':>9}")
for grid in sorted(set(cuda) & set(tomesd)):
    t, c = tomesd[grid]["median_ms"], cuda[grid]["median_ms"]
    print(f"{grid:>5}x{grid:<3}{grid * grid:>6} {t:>10.3f} {c:>9.3f} {t / c:>8.2f}x")
PY

echo "== matching kernel tuning sweep at 128x128 (median ms)"
for rows in 128 64; do
    for splits in 0 2 4; do
        timeout 30 "$tomesd" check-cuda --bench-only --grids 128 --repeats 15 --match-rows $rows --match-splits $splits \
            2>&1 | grep '^{' | tee -a "$out/sweep.txt"
    done
done

echo "== Nsight Compute: one matching kernel at 128x128"
if command -v ncu > /dev/null; then
    timeout 90 ncu --kernel-name regex:tome_match --launch-skip 2 --launch-count 1 \
        --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats \
        "$tomesd" check-cuda --bench-only --grids 128 --repeats 1 2>&1 | grep -v "^==PROF==" | tail -n 70 \
        | tee "$out/ncu.txt"
else
    echo "ncu not found"
fi

echo "== compute-sanitizer memcheck (small parity cases)"
if command -v compute-sanitizer > /dev/null; then
    timeout 90 compute-sanitizer --tool memcheck --print-limit 20 "$tomesd" check-cuda --fixtures "$carry/fixtures" \
        2>&1 | tail -n 25 | tee "$out/memcheck.txt"
else
    echo "compute-sanitizer not found"
fi
exit "$status"
