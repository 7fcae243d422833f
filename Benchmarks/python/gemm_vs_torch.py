#!/usr/bin/env python3
"""SGEMM side by side: torch.matmul (MKL) against `tomesd bench gemm`, in one run.

Usage (from the package root, after `swift build -c release`):

    python3 Benchmarks/python/gemm_vs_torch.py [--rounds 5] [--repeat 10] [--threads 1,2]

For every round, thread count T and shape it times torch.matmul (torch.set_num_threads(T), `out=` a
preallocated C, so torch allocates nothing either) and right after it `tomesd bench gemm --threads T --json` on
the same shape, so that load from other processes on a shared machine hits both sides alike. Prints, per shape
and T, the median over all timed runs of each side, GFLOP/s, the ratio of the medians (torch time / our time:
>= 0.9 is the bar, > 1 means faster than torch) and, as checks on noise from other processes, the spread of the
per-round ratios and the ratio of the fastest runs of each side.
"""
import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import torch

SHAPES = [(4096, 320, 320), (4096, 4096, 40), (4096, 1280, 320), (1024, 1024, 1024)]  # m x n x k


def time_torch(m, n, k, repeat, warmup=2):
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(m, k, generator=generator) * 2 - 1
    b = torch.rand(k, n, generator=generator) * 2 - 1
    c = torch.empty(m, n)
    for _ in range(warmup):
        torch.matmul(a, b, out=c)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        torch.matmul(a, b, out=c)
        runs.append((time.perf_counter() - start) * 1e3)
    return runs


def time_ours(binary, threads, shape, repeat):
    m, n, k = shape
    output = subprocess.run(
        [binary, "bench", "gemm", "--threads", str(threads), "--json", "--repeat", str(repeat), "--shapes", f"{m}x{n}x{k}"],
        check=True, capture_output=True, text=True).stdout
    document = json.loads(output)
    return document["kernel"], document["results"][0]["runs_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--binary", default=str(Path(__file__).resolve().parent.parent.parent / ".build/release/tomesd"))
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]

    torch_runs = {(t, s): [] for t in thread_counts for s in SHAPES}
    our_runs = {(t, s): [] for t in thread_counts for s in SHAPES}
    round_ratios = {(t, s): [] for t in thread_counts for s in SHAPES}
    kernel = "?"
    for _ in range(args.rounds):
        for threads in thread_counts:
            torch.set_num_threads(threads)
            for shape in SHAPES:
                theirs = time_torch(*shape, args.repeat)
                kernel, ours = time_ours(args.binary, threads, shape, args.repeat)
                torch_runs[(threads, shape)] += theirs
                our_runs[(threads, shape)] += ours
                round_ratios[(threads, shape)].append(statistics.median(theirs) / statistics.median(ours))

    print(f"torch {torch.__version__} ({torch.backends.mkl.is_available() and 'MKL' or 'no MKL'}) vs tomesd "
          f"({kernel}); {args.rounds} rounds x {args.repeat} runs per side, medians")
    print(f"{'m x n x k':>16} {'T':>2} {'torch ms':>9} {'GFLOP/s':>8} {'ours ms':>9} {'GFLOP/s':>8} {'ratio':>6} "
          f"{'per-round ratios min/med/max':>29} {'best-run ratio':>14}")
    worst = None
    for threads in thread_counts:
        for m, n, k in SHAPES:
            flop = 2.0 * m * n * k
            theirs = statistics.median(torch_runs[(threads, (m, n, k))])
            mine = statistics.median(our_runs[(threads, (m, n, k))])
            ratio = theirs / mine
            worst = ratio if worst is None else min(worst, ratio)
            rounds = round_ratios[(threads, (m, n, k))]
            print(f"{f'{m}x{n}x{k}':>16} {threads:>2} {theirs:9.3f} {flop / theirs / 1e6:8.1f} "
                  f"{mine:9.3f} {flop / mine / 1e6:8.1f} {ratio:6.2f} "
                  f"{min(rounds):17.2f} /{statistics.median(rounds):5.2f} /{max(rounds):5.2f} "
                  f"{min(torch_runs[(threads, (m, n, k))]) / min(our_runs[(threads, (m, n, k))]):14.2f}")
    print(f"lowest ratio: {worst:.2f} (bar: 0.90)")


if __name__ == "__main__":
    main()
