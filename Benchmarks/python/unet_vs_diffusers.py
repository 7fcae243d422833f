"""Times one UNet forward of an SD 1.5-sized UNet in diffusers (PyTorch CPU) and in `tomesd unet`, side by side.

Both use seeded random weights (no download): diffusers' own initialisation, and `tomesd unet --config`'s
(`RandomParameterSource`); the architecture and the inputs are the same. Each side runs in its own process, one
after the other, with the same thread count; each reports the median and the minimum of `--repeat` timed forwards
after one warm-up, the GFLOP/s that gives (FLOPs counted by torch's FlopCounterMode on diffusers' forward), the CPU
time of a forward (all threads; diffusers with OMP_WAIT_POLICY=PASSIVE so idle threads do not spin), which is the
fairer measure when other processes share the cores, and its peak resident memory. Build first: `swift build -c release --product tomesd`.

    python3 Benchmarks/python/unet_vs_diffusers.py --threads 2 --resolutions 512 --batch 2 --repeat 3

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
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
        timestep = torch.full((batch,), 500.0)
        context = torch.randn(batch, 77, 768)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(sample, timestep, context)
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
    times, cpu = [], []
    with torch.no_grad():
        for run in range(repeat + 1):
            start, cpu_start = time.perf_counter(), time.process_time()
            model(tensors["sample"], tensors["timestep"], tensors["encoder_hidden_states"])
            if run > 0:
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"times": times, "cpu": cpu, "peak_bytes": peak}))


def run_diffusers(inputs, threads, repeat):
    # Passive OpenMP waits: idle threads sleep instead of spinning, so CPU time counts work (as ours does, but for
    # our pool's spin of at most 0.1 ms between loops: about 1 % of a step's CPU time).
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, __file__, "--diffusers-worker", inputs, str(threads), str(repeat)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_tomesd(binary, config, inputs, output, threads, repeat, attention, extra=()):
    """`tomesd unet` with `repeat` timed forwards after a warm-up (and `extra` options, e.g. --precision, --ratio)."""
    command = [binary, "unet", "--config", config, "--seed", "0", "--inputs", inputs, "--output", output,
               "--repeat", str(repeat + 1), "--threads", str(threads), "--attention", attention, *extra]
    # The CLI counts every file beside --config as an input and never overwrites one: remove the last run's output.
    if os.path.exists(output):
        os.remove(output)
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    runs = re.findall(r"forward \d+: ([0-9.]+) s \(cpu ([0-9.]+) s\)", out)[1:]
    memory = re.search(r"peak resident memory: ([0-9.]+) MiB(?: \(loading: [0-9.]+ MiB, forwards: ([0-9.]+) MiB\))?", out)
    peak = float(memory.group(2) or memory.group(1)) * 1048576  # the forwards' own peak where the CLI knows it
    return {"times": [float(wall) for wall, _ in runs], "cpu": [float(cpu) for _, cpu in runs], "peak_bytes": peak}


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
                cpu = statistics.median(result["cpu"])
                row[name] = {"median_s": median, "min_s": min(result["times"]), "runs_s": result["times"],
                             "cpu_s": cpu, "gflops": flops / median / 1e9, "gflop_per_cpu_s": flops / cpu / 1e9,
                             "peak_mib": result["peak_bytes"] / 1048576}
            row["ratio"] = row["tomesd"]["median_s"] / row["diffusers"]["median_s"]
            row["cpu_ratio"] = row["tomesd"]["cpu_s"] / row["diffusers"]["cpu_s"]
            rows.append(row)
            if not args.json:
                d, t = row["diffusers"], row["tomesd"]
                print(f"{resolution}² batch {args.batch}, {args.threads} threads, {row['gflop']:.0f} GFLOP:", flush=True)
                for name, r in (("diffusers", d), ("tomesd", t)):
                    print(f"  {name:9s} median {r['median_s']:7.2f} s (min {r['min_s']:.2f}), {r['gflops']:5.0f} GFLOP/s; "
                          f"cpu {r['cpu_s']:7.2f} s, {r['gflop_per_cpu_s']:5.0f} GFLOP/cpu-s; peak {r['peak_mib']:.0f} MiB")
                print(f"  tomesd / diffusers: time {row['ratio']:.2f}, cpu time {row['cpu_ratio']:.2f}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--diffusers-worker":
        diffusers_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
