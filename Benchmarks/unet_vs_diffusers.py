"""Times one UNet forward of an SD 1.5-sized UNet in diffusers (PyTorch CPU) and in `tomesd unet`, side by side.

Both use seeded random weights (no download): diffusers' own initialisation, and `tomesd unet --config`'s
(`RandomParameterSource`); the architecture and the inputs are the same. Each side runs in its own process, one
after the other, with the same thread count; each reports the median and the minimum of `--repeat` timed forwards
after one warm-up, the GFLOP/s that gives (FLOPs counted by torch's FlopCounterMode on diffusers' forward), and its
peak resident memory. Build first: `swift build -c release --product tomesd`.

    /work/.venv-ref/bin/python Benchmarks/unet_vs_diffusers.py --threads 2 --resolutions 512 --batch 2 --repeat 3

Options: --resolutions 256,512,768 (pixels; latents are 1/8), --batch N, --threads T, --repeat N,
--attention memory-efficient|standard (ours; diffusers uses its default SDPA), --tomesd PATH, --json.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

SD15 = {"_class_name": "UNet2DConditionModel", "cross_attention_dim": 768, "sample_size": 64}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_inputs(path, resolution, batch):
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(0)
    latent = resolution // 8
    save_file({
        "sample": torch.randn(batch, 4, latent, latent, generator=generator),
        "timestep": torch.full((batch,), 500.0),
        "encoder_hidden_states": torch.randn(batch, 77, 768, generator=generator),
    }, path)


def count_flops(resolution, batch):
    import torch
    from diffusers import UNet2DConditionModel
    from torch.utils.flop_counter import FlopCounterMode

    latent = resolution // 8
    with torch.device("meta"):
        model = UNet2DConditionModel(**{k: v for k, v in SD15.items() if not k.startswith("_")}).eval()
        sample = torch.randn(batch, 4, latent, latent)
        context = torch.randn(batch, 77, 768)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(sample, torch.full((batch,), 500.0), context)
    return counter.get_total_flops()


def diffusers_worker(inputs, threads, repeat):
    """Runs in a child process: prints one JSON line with the forward times and the peak RSS."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import load_file

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = UNet2DConditionModel(**{k: v for k, v in SD15.items() if not k.startswith("_")}).eval()
    tensors = load_file(inputs)
    times = []
    with torch.no_grad():
        for run in range(repeat + 1):
            start = time.perf_counter()
            model(tensors["sample"], tensors["timestep"], tensors["encoder_hidden_states"])
            if run > 0:
                times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"times": times, "peak_bytes": peak}))


def run_diffusers(inputs, threads, repeat):
    out = subprocess.run([sys.executable, __file__, "--diffusers-worker", inputs, str(threads), str(repeat)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_tomesd(binary, config, inputs, output, threads, repeat, attention):
    command = [binary, "unet", "--config", config, "--seed", "0", "--inputs", inputs, "--output", output,
               "--repeat", str(repeat + 1), "--threads", str(threads), "--attention", attention]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    times = [float(t) for t in re.findall(r"forward \d+: ([0-9.]+) s", out)][1:]
    peak = float(re.search(r"peak resident memory: ([0-9.]+) MiB", out).group(1)) * 1048576
    return {"times": times, "peak_bytes": peak}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="512")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--attention", default="memory-efficient", choices=["memory-efficient", "standard"])
    parser.add_argument("--tomesd", default=os.path.join(ROOT, ".build", "release", "tomesd"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        config = os.path.join(folder, "config.json")
        with open(config, "w") as f:
            json.dump(SD15, f)
        for resolution in [int(r) for r in args.resolutions.split(",")]:
            inputs = os.path.join(folder, f"inputs-{resolution}.safetensors")
            make_inputs(inputs, resolution, args.batch)
            flops = count_flops(resolution, args.batch)
            ours = run_tomesd(args.tomesd, config, inputs, os.path.join(folder, "out.safetensors"), args.threads,
                              args.repeat, args.attention)
            theirs = run_diffusers(inputs, args.threads, args.repeat)
            row = {"resolution": resolution, "batch": args.batch, "threads": args.threads, "gflop": flops / 1e9}
            for name, result in (("diffusers", theirs), ("tomesd", ours)):
                median = statistics.median(result["times"])
                row[name] = {"median_s": median, "min_s": min(result["times"]), "runs_s": result["times"],
                             "gflops": flops / median / 1e9, "peak_mib": result["peak_bytes"] / 1048576}
            row["ratio"] = row["tomesd"]["median_s"] / row["diffusers"]["median_s"]
            rows.append(row)
            if not args.json:
                d, t = row["diffusers"], row["tomesd"]
                print(f"{resolution}² batch {args.batch}, {args.threads} threads, {row['gflop']:.0f} GFLOP: "
                      f"diffusers {d['median_s']:.2f} s ({d['gflops']:.0f} GFLOP/s, peak {d['peak_mib']:.0f} MiB), "
                      f"tomesd {t['median_s']:.2f} s ({t['gflops']:.0f} GFLOP/s, peak {t['peak_mib']:.0f} MiB), "
                      f"ratio {row['ratio']:.2f}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--diffusers-worker":
        diffusers_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
