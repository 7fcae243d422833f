"""Times tomesd 0.1.3's match + merge + unmerge on a CUDA GPU, the anchor of Scripts/gpu-check.sh.

Usage: python3 Scripts/cuda/tomesd_gpu_bench.py [--grids 64,128] [--repeats 20] [--tomesd PATH]
PATH: a tomesd wheel or source folder to import tomesd from (default: the installed package).
Prints one JSON line per grid: {"backend": "tomesd", "grid": G, "tokens": N, "median_ms": ..., "min_ms": ...}.
Same protocol as `tomesd check-cuda --bench`: B = 2, C = 320, sx = sy = 2, ratio 0.5, random partition (a CUDA
generator, as tomesd's patch uses on a CUDA model), fp32 with TF32 off, synchronised wall time of
bipartite_soft_matching_random2d then m(x) then u(m(x)), two warm-up runs.
"""
import argparse
import json
import statistics
import sys
import time

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grids", default="64,128")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--tomesd", default=None)
    args = parser.parse_args()
    if args.tomesd:
        sys.path.insert(0, args.tomesd)
    from tomesd.merge import bipartite_soft_matching_random2d

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda")
    generator = torch.Generator(device=device).manual_seed(0)
    for grid in (int(g) for g in args.grids.split(",")):
        tokens = grid * grid
        x = torch.randn(2, tokens, 320, device=device)
        r = int(tokens * 0.5)
        times = []
        for run in range(args.repeats + 2):
            torch.cuda.synchronize()
            start = time.perf_counter()
            m, u = bipartite_soft_matching_random2d(x, grid, grid, 2, 2, r, no_rand=False, generator=generator)
            restored = u(m(x))
            torch.cuda.synchronize()
            if run >= 2:
                times.append((time.perf_counter() - start) * 1e3)
        assert restored.shape == x.shape
        print(json.dumps({"backend": "tomesd", "grid": grid, "tokens": tokens,
                          "median_ms": round(statistics.median(times), 4), "min_ms": round(min(times), 4),
                          "device": torch.cuda.get_device_name(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
