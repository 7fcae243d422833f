#!/usr/bin/env python3
"""match + merge + unmerge: tomesd 0.1.3 on PyTorch CPU against `tomesd bench merge`, side by side in one run.

    swift build -c release
    /work/.venv-ref/bin/python Benchmarks/merge_vs_tomesd.py [--threads 2] [--grids 64,96,128] [--repeat 5]

For each grid g (N = g*g tokens, B = 2, C = 320, ratio 0.5, 2x2 cells, random partition), both sides are timed on
the same thread count, grid by grid (tomesd, then ours), each the median of --repeat runs after a warm-up:
tomesd runs bipartite_soft_matching_random2d(x, g, g, 2, 2, r), then m(x), then u(m(x)), on torch.randn input;
ours runs Partition + BipartiteMatching.plan + merge + unmerge on Gaussian input. Peak extra memory is the growth
of peak resident memory over one cold run in a fresh process (Linux /proc/self/clear_refs + VmHWM), input excluded.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def tomesd_run(args, grid):
    """Times tomesd on one grid in this process; returns (median ms, runs)."""
    import torch
    from tomesd.merge import bipartite_soft_matching_random2d
    torch.set_num_threads(args.threads)
    n = grid * grid
    x = torch.randn(args.batch, n, args.channels)
    r = int(n * args.ratio)
    generator = torch.Generator().manual_seed(0)

    def once():
        m, u = bipartite_soft_matching_random2d(x, grid, grid, 2, 2, r, generator=generator)
        u(m(x))

    once()
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        once()
        runs.append((time.perf_counter() - start) * 1e3)
    return sorted(runs)[len(runs) // 2], runs


def tomesd_peak(args, grid):
    """Peak extra memory (MB) of one cold tomesd run, measured in a fresh process."""
    code = f"""
import torch, sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
from merge_vs_tomesd import status_kb
from tomesd.merge import bipartite_soft_matching_random2d
torch.set_num_threads({args.threads})
x = torch.randn({args.batch}, {grid * grid}, {args.channels})
g = torch.Generator().manual_seed(0)
open('/proc/self/clear_refs', 'w').write('5')
before = status_kb('VmRSS')
m, u = bipartite_soft_matching_random2d(x, {grid}, {grid}, 2, 2, {int(grid * grid * args.ratio)}, generator=g)
u(m(x))
print((status_kb('VmHWM') - before) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def ours(args, grid):
    """Runs `tomesd bench merge` on one grid in a fresh process; returns its JSON result."""
    command = [args.binary, "bench", "merge", "--threads", str(args.threads), "--json", "--grids", str(grid),
               "--batch", str(args.batch), "--channels", str(args.channels), "--ratio", str(args.ratio),
               "--repeat", str(args.repeat)]
    document = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return document["kernel"], document["results"][0]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grids", default="64,96,128")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--channels", type=int, default=320)
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--binary", default=os.path.join(root, ".build", "release", "tomesd"))
    args = parser.parse_args()

    rows = []
    kernel = "?"
    for grid in [int(g) for g in args.grids.split(",")]:
        theirs_ms, theirs_runs = tomesd_run(args, grid)
        kernel, result = ours(args, grid)
        rows.append((grid, theirs_ms, result["median_ms"], tomesd_peak(args, grid), result.get("peak_extra_mb"),
                     theirs_runs, result["runs_ms"]))

    print(f"match+merge+unmerge, B={args.batch}, C={args.channels}, ratio {args.ratio}, {args.threads} thread(s), "
          f"median of {args.repeat}; ours: {kernel}")
    print(f"{'grid':>9} {'tomesd ms':>10} {'ours ms':>9} {'speed-up':>9} {'tomesd peak MB':>15} {'ours peak MB':>13}")
    for grid, theirs_ms, ours_ms, theirs_peak, ours_peak, _, _ in rows:
        ours_peak_text = f"{ours_peak:.1f}" if ours_peak is not None else "n/a"
        print(f"{grid:>4}x{grid:<4} {theirs_ms:>10.1f} {ours_ms:>9.1f} {theirs_ms / ours_ms:>8.2f}x "
              f"{theirs_peak:>15.1f} {ours_peak_text:>13}")


if __name__ == "__main__":
    main()
