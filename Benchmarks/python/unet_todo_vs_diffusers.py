#!/usr/bin/env python3
"""Token Downsampling (ToDo) speed-up, both sides: diffusers 0.42.1 + the ToDo reference (Scripts/reference/apply_todo.py)
on PyTorch CPU, and `tomesd unet --method todo`, on the same UNet shapes with seeded random weights, fp32 (or with
--precision bf16: `unet.to(torch.bfloat16)` and bfloat16 inputs beside our `--precision bf16`).

    swift build -c release
    "${TOMESD_REFERENCE_PYTHON:-python3}" Benchmarks/python/unet_todo_vs_diffusers.py --model sdxl --resolution 1024 \
        [--threads 2] [--factor 2] [--max-downsample 2] [--downsample-method nearest-exact] [--steps 1] [--warmup 1] \
        [--precision fp32|bf16] [--side both|ours|torch]

--model sd15 is diffusers' default UNet config with cross_attention_dim 768 (860M parameters); sdxl is SDXL base 1.0's
UNet config (2.6B parameters, 10.3 GB in fp32: the two sides run one after the other, never at once, each in its own
process). Inputs: a [1, 4, R/8, R/8] latent, timestep 500, a [1, 77, D] text context (SDXL: text_embeds [1, 1280] and
time_ids for R × R). Each side times --steps UNet calls after --warmup untimed ones, unpatched and then with ToDo,
and reports the median wall time and CPU time ÷ threads (the steadier figure on a shared machine; torch runs with
OMP_WAIT_POLICY=PASSIVE so idle OpenMP workers sleep), the speed-up and the peak resident memory. Attention: diffusers'
default AttnProcessor2_0 (torch's scaled_dot_product_attention) and the reference's processor (the same
F.scaled_dot_product_attention) beside our default memory-efficient attention.
SDXL has no transformer block at downsample 1, so ToDo needs --max-downsample 2 there (the reference's
downsample_factor_level_2 = downsample_factor; feffy380's port offsets SDXL's depth the same way).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

SDXL = {
    "act_fn": "silu", "addition_embed_type": "text_time", "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280],
    "center_input_sample": False, "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "downsample_padding": 1,
    "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
    "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
    "projection_class_embeddings_input_dim": 2816, "sample_size": 128, "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "use_linear_projection": True,
}
SD15 = {"cross_attention_dim": 768}


def config(model):
    return dict(SDXL if model == "sdxl" else SD15)


def peak_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def inputs(model, resolution):
    import torch
    generator = torch.Generator().manual_seed(resolution)
    latent = resolution // 8
    context = 2048 if model == "sdxl" else 768
    result = {"sample": torch.randn(1, 4, latent, latent, generator=generator),
              "timestep": torch.tensor([500.0]),
              "encoder_hidden_states": torch.randn(1, 77, context, generator=generator)}
    if model == "sdxl":
        result["text_embeds"] = torch.randn(1, 1280, generator=generator)
        result["time_ids"] = torch.tensor([[resolution, resolution, 0, 0, resolution, resolution]], dtype=torch.float32)
    return result


def torch_side(args):
    import torch
    from diffusers import UNet2DConditionModel
    sys.path.insert(0, os.path.join(ROOT, "Scripts", "reference"))
    from apply_todo import TODO_RECORD, apply_todo, remove_todo
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**config(args.model)).eval()
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    unet = unet.to(dtype)
    x = {name: value.to(dtype) for name, value in inputs(args.model, args.resolution).items()}
    kwargs = {}
    if "text_embeds" in x:
        kwargs["added_cond_kwargs"] = {"text_embeds": x["text_embeds"], "time_ids": x["time_ids"]}
    cells = {}
    for column in ("vanilla", "todo"):
        if column == "todo":
            apply_todo(unet, downsample_factor=args.factor, downsample_method=args.downsample_method,
                       max_downsample=args.max_downsample)
        runs, cpu = [], []
        with torch.no_grad():
            for step in range(args.warmup + args.steps):
                TODO_RECORD.update(calls=0, downsampled=0, removed=0)
                start, cpu_start = time.perf_counter(), time.process_time()
                unet(x["sample"], x["timestep"], x["encoder_hidden_states"], **kwargs)
                if step >= args.warmup:
                    runs.append(time.perf_counter() - start)
                    cpu.append((time.process_time() - cpu_start) / args.threads)
        cells[column] = {"wall": median(runs), "cpu": median(cpu), "peak_bytes": peak_bytes(),
                         "downsampled_calls": TODO_RECORD["downsampled"], "tokens_removed": TODO_RECORD["removed"]}
        remove_todo(unet)
    return cells


def ours_side(args):
    import torch
    from safetensors.torch import save_file
    tool = args.tomesd or os.path.join(ROOT, ".build", "release", "tomesd")
    cells = {}
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(os.path.join(folder, "model"))  # the config's folder counts as an input: outputs go beside it
        config_path = os.path.join(folder, "model", "config.json")
        with open(config_path, "w") as f:
            json.dump({"_class_name": "UNet2DConditionModel", **config(args.model)}, f)
        inputs_path = os.path.join(folder, "inputs.safetensors")
        save_file({k: v.contiguous() for k, v in inputs(args.model, args.resolution).items()}, inputs_path)
        for column in ("vanilla", "todo"):
            command = [tool, "unet", "--threads", str(args.threads), "--config", config_path, "--seed", "0",
                       "--inputs", inputs_path, "--output", os.path.join(folder, "out.safetensors"),
                       "--repeat", str(args.warmup + args.steps), "--precision", args.precision]
            if column == "todo":
                command += ["--method", "todo", "--downsample-factor", str(args.factor), "--downsample-method",
                            args.downsample_method, "--max-downsample", str(args.max_downsample)]
            text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            forwards = [(float(w), float(c)) for w, c in
                        re.findall(r"forward \d+: ([0-9.]+) s \(cpu ([0-9.]+) s\)", text)][args.warmup:]
            peak = re.search(r"peak resident memory: ([0-9.]+) MiB", text)
            todo = re.search(r"ToDo: removed (\d+) key/value tokens in (\d+) of", text)
            cells[column] = {"wall": median([w for w, _ in forwards]),
                             "cpu": median([c / args.threads for _, c in forwards]),
                             "peak_bytes": int(float(peak.group(1)) * 1048576) if peak else None,
                             "downsampled_calls": int(todo.group(2)) if todo else 0,
                             "tokens_removed": int(todo.group(1)) if todo else 0}
    return cells


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["sd15", "sdxl"], default="sdxl")
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--max-downsample", type=int, default=None)
    parser.add_argument("--downsample-method", default="nearest-exact")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--side", choices=["both", "ours", "torch"], default="both")
    parser.add_argument("--tomesd", default=None)
    args = parser.parse_args()
    if args.max_downsample is None:
        args.max_downsample = 2 if args.model == "sdxl" else 1
    if args.side == "both":
        results = {}
        for side in ("ours", "torch"):  # one after the other: each side's weights alone fill most of the memory
            command = [sys.executable, os.path.abspath(__file__), "--side", side] + [
                a for a in sys.argv[1:] if a not in ("--side", "both")]
            env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
            results[side] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True,
                                                      env=env).stdout.strip().splitlines()[-1])
        print(f"{args.model} {args.resolution}² batch 1, {args.precision}, {args.threads} threads, ToDo factor {args.factor} "
              f"{args.downsample_method} maxDownsample {args.max_downsample}; median of {args.steps} after {args.warmup}")
        print("| side | vanilla wall / cpu÷threads | ToDo wall / cpu÷threads | speed-up wall / cpu | peak (ToDo) | k/v tokens removed |")
        print("|---|---|---|---|---|---|")
        for side, cells in results.items():
            v, t = cells["vanilla"], cells["todo"]
            print(f"| {side} | {v['wall']:.2f} s / {v['cpu']:.2f} s | {t['wall']:.2f} s / {t['cpu']:.2f} s | "
                  f"×{v['wall'] / t['wall']:.2f} / ×{v['cpu'] / t['cpu']:.2f} | "
                  f"{(t['peak_bytes'] or 0) / 2**30:.1f} GiB | {t['tokens_removed']} in {t['downsampled_calls']} calls |")
        print(json.dumps(results))
    else:
        cells = torch_side(args) if args.side == "torch" else ours_side(args)
        print(json.dumps(cells))


if __name__ == "__main__":
    main()
