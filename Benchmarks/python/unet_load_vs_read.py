"""Times loading an SD 1.5 UNet folder (3.4 GB of F32 safetensors) in `tomesd unet --model` against reading the same
file from disk, and against diffusers' `UNet2DConditionModel.from_pretrained`, side by side.

The bar (issue 3): loading takes no more than twice the time of reading the file from disk. Each round drops the
file from the page cache (posix_fadvise DONTNEED) before each of: a plain read in 1 MiB chunks (as `cat`), our load
(the CLI's "loaded in" line: config, weights, conversion and packing; process start excluded) and diffusers' load
(in a fresh process, timed around `from_pretrained` after the imports; it maps the file and leaves the reading to
the first forward, so its figure is not a full load). A read into fresh memory of the file's size is timed too: from
the page cache, that (not `cat`) is the least any loader that keeps the weights must do. Rounds alternate the three so that the
disk's and the host's moods hit each alike; the medians and the per-round ratios are printed. The warm rows repeat
it with the file in the page cache. The folder is made once (seeded random weights, diffusers' default SD 1.5
config with `cross_attention_dim` 768) and kept for later runs. Build first: `swift build -c release --product tomesd`.

    python3 Benchmarks/python/unet_load_vs_read.py --rounds 5 --threads 2 --folder /tmp/sd15-unet

Options: --rounds N, --threads T, --folder DIR, --tomesd PATH, --json.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS = "diffusion_pytorch_model.safetensors"


def make_folder(folder):
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    UNet2DConditionModel(cross_attention_dim=768, sample_size=64).save_pretrained(folder, safe_serialization=True)


def make_inputs(path):
    import torch
    from safetensors.torch import save_file

    save_file({"sample": torch.zeros(1, 4, 8, 8), "timestep": torch.tensor([500.0]),
               "encoder_hidden_states": torch.zeros(1, 77, 768)}, path)


def drop_from_cache(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def time_read(path, fresh_memory=False):
    """Seconds to read the file in 1 MiB reads: into one reused buffer (as `cat`), or into fresh memory of the
    file's size (the least a loader that keeps the data must do: the pages are new to the process)."""
    start = time.perf_counter()
    buffer = memoryview(bytearray(os.path.getsize(path) if fresh_memory else 1 << 20))
    offset = 0
    with open(path, "rb", buffering=0) as f:
        while got := f.readinto(buffer[offset:offset + (1 << 20)]):
            offset += got if fresh_memory else 0
    return time.perf_counter() - start


def time_ours(binary, folder, inputs, output, threads):
    out = subprocess.run([binary, "unet", "--model", folder, "--inputs", inputs, "--output", output,
                          "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"loaded in ([0-9.]+) s", out).group(1))


def diffusers_worker(folder, threads):
    """Runs in a child process: prints the seconds `from_pretrained` took."""
    import torch
    from diffusers import UNet2DConditionModel

    torch.set_num_threads(threads)
    start = time.perf_counter()
    UNet2DConditionModel.from_pretrained(folder)
    print(time.perf_counter() - start)


def time_diffusers(folder, threads):
    out = subprocess.run([sys.executable, __file__, "--diffusers-worker", folder, str(threads)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "tomesd-sd15-unet"))
    parser.add_argument("--tomesd", default=os.path.join(ROOT, ".build", "release", "tomesd"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    weights = os.path.join(args.folder, WEIGHTS)
    if not os.path.exists(weights):
        make_folder(args.folder)
    size = os.path.getsize(weights)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        inputs, output = os.path.join(scratch, "inputs.safetensors"), os.path.join(scratch, "out.safetensors")
        make_inputs(inputs)
        for cache in ("cold", "warm"):
            runs = {"read": [], "read_fresh": [], "tomesd": [], "diffusers": []}
            for _ in range(args.rounds):
                for name, run in (("read", lambda: time_read(weights)),
                                  ("read_fresh", lambda: time_read(weights, fresh_memory=True)),
                                  ("tomesd", lambda: time_ours(args.tomesd, args.folder, inputs, output, args.threads)),
                                  ("diffusers", lambda: time_diffusers(args.folder, args.threads))):
                    if cache == "cold":
                        drop_from_cache(weights)
                    else:
                        time_read(weights)
                    runs[name].append(run())
            ratios = [ours / read for ours, read in zip(runs["tomesd"], runs["read"])]
            fresh_ratios = [ours / read for ours, read in zip(runs["tomesd"], runs["read_fresh"])]
            results[cache] = {name: {"median_s": statistics.median(times), "runs_s": times} for name, times in runs.items()}
            results[cache]["tomesd_over_read"] = {"median": statistics.median(ratios), "runs": ratios}
            results[cache]["tomesd_over_read_fresh"] = {"median": statistics.median(fresh_ratios), "runs": fresh_ratios}
            results[cache]["tomesd_over_diffusers"] = results[cache]["tomesd"]["median_s"] / results[cache]["diffusers"]["median_s"]
            if not args.json:
                r = results[cache]
                print(f"{cache} ({size / 1e9:.2f} GB, {args.threads} threads, median of {args.rounds}): "
                      f"read {r['read']['median_s']:.2f} s ({size / r['read']['median_s'] / 1e9:.2f} GB/s), "
                      f"read into fresh memory {r['read_fresh']['median_s']:.2f} s, tomesd load {r['tomesd']['median_s']:.2f} s, "
                      f"diffusers load {r['diffusers']['median_s']:.2f} s; tomesd / read {r['tomesd_over_read']['median']:.2f} "
                      "(rounds: " + ", ".join(f"{x:.2f}" for x in ratios) + "), tomesd / read into fresh memory "
                      f"{r['tomesd_over_read_fresh']['median']:.2f}, tomesd / diffusers {r['tomesd_over_diffusers']:.2f}",
                      flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--diffusers-worker":
        diffusers_worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
