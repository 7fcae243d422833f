#!/usr/bin/env python3
"""match + merge + unmerge: tomesd 0.1.3 on PyTorch CPU against `tomesd bench merge`, side by side in one run.

    swift build -c release
    python3 Benchmarks/python/merge_vs_tomesd.py [--threads 2] [--grids 64,96,128] [--repeat 5]

For each grid g (N = g*g tokens, B = 2, C = 320, ratio 0.5, 2x2 cells, random partition), both sides are timed on
the same thread count, alternating run by run (one tomesd run, then one of ours in a fresh `tomesd bench merge
--repeat 1`, which warms up first), so that both see the same machine load; each side's figure is the median of
--repeat runs:
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


class Tomesd:
    """tomesd on one grid in this process: inputs made and warmed up once, then timed run by run."""

    def __init__(self, args, grid):
        import torch
        from tomesd.merge import bipartite_soft_matching_random2d
        torch.set_num_threads(args.threads)
        n = grid * grid
        self.x = torch.randn(args.batch, n, args.channels)
        self.r = int(n * args.ratio)
        self.grid = grid
        self.generator = torch.Generator().manual_seed(0)
        self.match = bipartite_soft_matching_random2d
        self.run()

    def run(self):
        start = time.perf_counter()
        m, u = self.match(self.x, self.grid, self.grid, 2, 2, self.r, generator=self.generator)
        u(m(self.x))
        return (time.perf_counter() - start) * 1e3


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
    """One run of `tomesd bench merge` on one grid, in a fresh process; returns (kernel, its JSON result)."""
    command = [args.binary, "bench", "merge", "--threads", str(args.threads), "--json", "--grids", str(grid),
               "--batch", str(args.batch), "--channels", str(args.channels), "--ratio", str(args.ratio),
               "--repeat", "1"]
    document = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return document["kernel"], document["results"][0]


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
        theirs, mine, peaks = Tomesd(args, grid), [], []
        theirs_runs = []
        for _ in range(args.repeat):
            theirs_runs.append(theirs.run())
            kernel, result = ours(args, grid)
            mine.append(result["median_ms"])
            peaks.append(result.get("peak_extra_mb"))
        del theirs
        rows.append((grid, median(theirs_runs), median(mine), tomesd_peak(args, grid), peaks[0]))

    print(f"match+merge+unmerge, B={args.batch}, C={args.channels}, ratio {args.ratio}, {args.threads} thread(s), "
          f"median of {args.repeat}; ours: {kernel}")
    print(f"{'grid':>9} {'tomesd ms':>10} {'ours ms':>9} {'speed-up':>9} {'tomesd peak MB':>15} {'ours peak MB':>13}")
    for grid, theirs_ms, ours_ms, theirs_peak, ours_peak in rows:
        ours_peak_text = f"{ours_peak:.1f}" if ours_peak is not None else "n/a"
        print(f"{grid:>4}x{grid:<4} {theirs_ms:>10.1f} {ours_ms:>9.1f} {theirs_ms / ours_ms:>8.2f}x "
              f"{theirs_peak:>15.1f} {ours_peak_text:>13}")


if __name__ == "__main__":
    main()
