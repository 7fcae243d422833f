"""Times the whole text-to-image pipeline, SD 1.5-sized with seeded random weights, in diffusers (PyTorch CPU) and in
`tomesd generate`, side by side: text encoder, UNet steps and VAE decode separately, and the peak resident memory
of each whole run (loading included).

    swift build -c release --product tomesd
    python3 Benchmarks/python/pipeline_vs_diffusers.py --threads 2 --steps 20 --resolutions 512,768

Both sides load the same diffusers folder: on first use the script writes one with diffusers' and transformers'
own random initialisation (SD 1.5's UNet, VAE and CLIP ViT-L/14 text encoder configurations, CLIP's real
vocabulary from Sources/StableDiffusion/Resources/clip_merges.txt.gz, SD 1.5's PNDM scheduler), stored as F16 (about
2 GB) under --folder, and both compute in float32. Each run is its own process, one after the other, with the same
thread count; the prompt is the same and guidance is on (7.5), so every UNet call is a batch of 2; PNDM makes
steps + 1 UNet calls.

Per stage the script reports wall-clock seconds and process CPU seconds (diffusers with OMP_WAIT_POLICY=PASSIVE so
idle threads do not spin); CPU seconds are the steadier figure when other processes share the cores. For diffusers
the "UNet" stage is the sum of the UNet forwards (wrapped), the text encoder and VAE stages are `text_encoder`'s
forwards and `vae.decode`; for tomesd they are the stage times `tomesd generate` prints (the denoising loop
includes the scheduler steps; decoding includes the 8-bit conversion).

Rows: each resolution with --steps steps (the first also with ToMe --ratio, diffusers + tomesd.apply_patch against
tomesd generate --ratio), and each further resolution with --memory-steps steps (for its peak memory; the UNet
time is then per step only). Options: --threads T, --steps N, --memory-steps N, --resolutions 512,768,
--ratio R (0 for none), --repeat N (timed runs per row and side; medians reported), --folder DIR, --tomesd PATH,
--json.
"""

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER_SETTINGS = ("tokenizer_config.json", "special_tokens_map.json")
PROMPT = "a photograph of an astronaut riding a horse"
SD15_SCHEDULER = {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                  "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                  "trained_betas": None}


def bytes_to_unicode():
    """CLIP's map from bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_tokenizer(folder):
    """vocab.json + merges.txt of CLIP ViT-L/14, built from the merge list as CLIP's tokenizer builds its vocabulary,
    with SD 1's tokenizer_config.json and special_tokens_map.json (from the tokenizer fixtures)."""
    with gzip.open(os.path.join(ROOT, "Sources", "StableDiffusion", "Resources", "clip_merges.txt.gz"), "rt") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:] if line]
    vocab = list(bytes_to_unicode().values())
    vocab += [v + "</w>" for v in vocab]
    vocab += ["".join(merge) for merge in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump({token: index for index, token in enumerate(vocab)}, f)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    for name in TOKENIZER_SETTINGS:
        shutil.copy(os.path.join(ROOT, "Tests", "Fixtures", "sd", "tokenizer", "sd1_small", name), folder)


def make_folder(folder):
    """An SD 1.5-sized diffusers folder with random weights (F16)."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(cross_attention_dim=768, sample_size=64)
    vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
                        up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=2, sample_size=512)
    text_encoder = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                                num_attention_heads=12, projection_dim=768))
    tokenizer_folder = folder + ".tokenizer"
    write_tokenizer(tokenizer_folder)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_folder)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=PNDMScheduler.from_config(SD15_SCHEDULER), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.to(torch.float16).save_pretrained(folder, safe_serialization=True)
    # The tokenizer as the published SD 1.5 folder ships it.
    for name in os.listdir(os.path.join(folder, "tokenizer")):
        os.remove(os.path.join(folder, "tokenizer", name))
    for name in ("vocab.json", "merges.txt") + TOKENIZER_SETTINGS:
        os.replace(os.path.join(tokenizer_folder, name), os.path.join(folder, "tokenizer", name))
    os.rmdir(tokenizer_folder)


def ensure_folder(folder):
    """Writes the SD 1.5-sized random pipeline to `folder` unless one is there already (about 2 GB)."""
    if not os.path.exists(os.path.join(folder, "model_index.json")):
        print(f"writing an SD 1.5-sized random pipeline to {folder} ...", file=sys.stderr, flush=True)
        make_folder(folder)


def diffusers_worker(folder, resolution, steps, threads, ratio):
    """Runs in a child process: prints one JSON line with the stage times and the peak RSS."""
    import torch
    from diffusers import StableDiffusionPipeline

    torch.set_num_threads(threads)
    pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    if ratio > 0:
        import tomesd
        tomesd.apply_patch(pipe, ratio=ratio)
    stages = {name: {"wall": 0.0, "cpu": 0.0, "calls": 0} for name in ("text_encoder", "unet", "vae")}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            result = function(*args, **kwargs)
            stages[name]["wall"] += time.perf_counter() - wall
            stages[name]["cpu"] += time.process_time() - cpu
            stages[name]["calls"] += 1
            return result
        return wrapper

    pipe.text_encoder.forward = timed("text_encoder", pipe.text_encoder.forward)
    pipe.unet.forward = timed("unet", pipe.unet.forward)
    pipe.vae.decode = timed("vae", pipe.vae.decode)
    with torch.no_grad():
        pipe(PROMPT, height=resolution, width=resolution, num_inference_steps=steps, guidance_scale=7.5,
             generator=torch.Generator().manual_seed(0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"stages": stages, "peak_bytes": peak}))


def run_diffusers(folder, resolution, steps, threads, ratio):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, __file__, "--diffusers-worker", folder, str(resolution), str(steps),
                          str(threads), str(ratio)], check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_tomesd(binary, folder, resolution, steps, threads, ratio, output, extra=()):
    """One `tomesd generate` run (guidance 7.5, seed 0; `extra` adds options): its printed stage times, UNet call
    count, loading time and peak resident memory."""
    command = [binary, "generate", "--model", folder, "--prompt", PROMPT, "--width", str(resolution), "--height",
               str(resolution), "--steps", str(steps), "--guidance", "7.5", "--seed", "0", "--threads", str(threads),
               "--output", output, *extra]
    if ratio > 0:
        command += ["--ratio", str(ratio)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    stage = r"([0-9.]+) s \(CPU ([0-9.]+) s\)"
    match = re.search(rf"text encoder {stage}, (\d+) UNet steps? {stage}, VAE decode {stage}", out)
    loaded = re.search(r"loaded in ([0-9.]+) s", out)
    if match is None or loaded is None:
        raise RuntimeError(f"unexpected tomesd output:\n{out}")
    values = match.groups()
    peak = float(re.search(r"peak resident memory: ([0-9.]+) MiB", out).group(1)) * 1048576
    calls = int(values[2])
    return {"stages": {"text_encoder": {"wall": float(values[0]), "cpu": float(values[1]), "calls": 1},
                       "unet": {"wall": float(values[3]), "cpu": float(values[4]), "calls": calls},
                       "vae": {"wall": float(values[5]), "cpu": float(values[6]), "calls": 1}},
            "load_s": float(loaded.group(1)), "peak_bytes": peak}


def summarise(runs):
    """Median of each stage's wall and CPU seconds over the runs, the UNet also per call; peak memory (max)."""
    summary = {"peak_mib": max(run["peak_bytes"] for run in runs) / 1048576, "runs": len(runs)}
    for stage in ("text_encoder", "unet", "vae"):
        for measure in ("wall", "cpu"):
            summary[f"{stage}_{measure}_s"] = statistics.median(run["stages"][stage][measure] for run in runs)
    calls = runs[0]["stages"]["unet"]["calls"]
    summary["unet_calls"] = calls
    summary["unet_wall_per_step_s"] = summary["unet_wall_s"] / calls
    summary["unet_cpu_per_step_s"] = summary["unet_cpu_s"] / calls
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="512,768")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--memory-steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--folder", default="/tmp/tomesd-sd15-random")
    parser.add_argument("--tomesd", default=os.path.join(ROOT, ".build", "release", "tomesd"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ensure_folder(args.folder)
    output = os.path.join(args.folder + ".out.png")
    resolutions = [int(r) for r in args.resolutions.split(",")]
    plan = [(resolutions[0], args.steps, 0.0)]
    if args.ratio > 0:
        plan.append((resolutions[0], args.steps, args.ratio))
    plan += [(resolution, args.memory_steps, 0.0) for resolution in resolutions[1:]]
    rows = []
    if not args.json:
        print_header(args.threads)
    for resolution, steps, ratio in plan:
        row = {"resolution": resolution, "steps": steps, "ratio": ratio, "threads": args.threads}
        for name in ("diffusers", "tomesd"):
            runs = []
            for _ in range(args.repeat):
                print(f"{name}: {resolution}x{resolution}, {steps} steps, ToMe {ratio or 'off'} ...", file=sys.stderr)
                if name == "diffusers":
                    runs.append(run_diffusers(args.folder, resolution, steps, args.threads, ratio))
                else:
                    runs.append(run_tomesd(args.tomesd, args.folder, resolution, steps, args.threads, ratio, output))
            row[name] = summarise(runs)
        rows.append(row)
        if not args.json:
            print_row(row)
    if args.json:
        print(json.dumps(rows, indent=1))


def print_header(threads):
    print(f"SD 1.5-sized pipeline, random weights, guidance 7.5, PNDM, {threads} threads; seconds wall (CPU)")
    print(f"{'size':>5} {'steps':>5} {'ToMe':>5} {'side':>10} {'text enc':>15} {'UNet/step':>15} {'VAE decode':>15} "
          f"{'peak MiB':>9}")


def print_row(row):
    for name in ("diffusers", "tomesd"):
        s = row[name]
        print(f"{row['resolution']:>5} {row['steps']:>5} {row['ratio'] or '-':>5} {name:>10} "
              f"{s['text_encoder_wall_s']:6.2f} ({s['text_encoder_cpu_s']:6.2f}) "
              f"{s['unet_wall_per_step_s']:6.2f} ({s['unet_cpu_per_step_s']:6.2f}) "
              f"{s['vae_wall_s']:6.2f} ({s['vae_cpu_s']:6.2f}) {s['peak_mib']:9.0f}")
    ours, theirs = row["tomesd"], row["diffusers"]
    print(f"{'':>28} tomesd/diffusers: text encoder {ours['text_encoder_cpu_s'] / theirs['text_encoder_cpu_s']:.2f}x, "
          f"UNet step {ours['unet_cpu_per_step_s'] / theirs['unet_cpu_per_step_s']:.2f}x, "
          f"VAE decode {ours['vae_cpu_s'] / theirs['vae_cpu_s']:.2f}x (CPU time); "
          f"VAE wall {ours['vae_wall_s'] / theirs['vae_wall_s']:.2f}x; peak memory {ours['peak_mib'] / theirs['peak_mib']:.2f}x",
          flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--diffusers-worker":
        folder, resolution, steps, threads, ratio = sys.argv[2:7]
        diffusers_worker(folder, int(resolution), int(steps), int(threads), float(ratio))
    else:
        main()
