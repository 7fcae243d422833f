#!/usr/bin/env python3
"""tomesd's benchmark table (its README: resolution × batch; Vanilla, ToMe, ToMe + xFormers), both sides: diffusers 0.42.1 + tomesd 0.1.3 on PyTorch CPU beside `tomesd bench unet`.

    swift build -c release
    python3 Benchmarks/python/unet_tome_vs_diffusers.py [--architecture sd15|sdxl] [--threads 2]
        [--resolutions 512,1024] [--batch 1,2] [--ratio 0.5] [--max-downsample 1[,2,4]] [--steps 3] [--warmup 1]
        [--columns vanilla,tome,tome-memory-efficient] [--diffusers-columns …] [--precision fp32|bf16] [--rounds 1]
        [--json FILE]

Both sides build an SD 1.5-sized UNet (diffusers' default config with cross_attention_dim 768, 860M parameters) or,
with --architecture sdxl, SDXL base's UNet (2.6B parameters, stabilityai/stable-diffusion-xl-base-1.0's config) with
seeded random weights, fp32 (or with --precision bf16: `unet.to(torch.bfloat16)` and bfloat16 inputs beside
our `--precision bf16`), on the same thread count, and run the same shapes: a [B, 4, R/8, R/8] latent,
timestep 500, a [B, 77, 768 or 2048] text context (SDXL: also text_embeds [B, 1280] and time_ids (R, R, 0, 0, R, R)).
SDXL weights take 10.3 GB per side in fp32: its rows never hold both at once (the diffusers UNet is built after the Swift
process of the row has ended, and dropped before the next row). Several --max-downsample values give one ToMe
column each (tome@2, tome@4...) beside one unpatched baseline. Columns:
  vanilla                diffusers' AttnProcessor (the classic bmm + softmax: the whole score matrix) / our
                         standard attention, unpatched;
  tome                   the same attention, tomesd.apply_patch(unet, ratio, max_downsample) / our applyPatch;
  memory-efficient       diffusers' AttnProcessor2_0 (torch scaled_dot_product_attention, its flash/memory-efficient
                         CPU kernel: diffusers' default) / our memory-efficient attention (our default), unpatched;
  tome-memory-efficient  the same, patched.
Speed-ups are over the unpatched column with the same attention (tome over vanilla, tome-memory-efficient over
memory-efficient). The classic AttnProcessor holds every head's score matrix at once (17 GB at 1024²), so use the
memory-efficient pair there.
Each cell is the median of --steps timed UNet calls after --warmup untimed ones, as wall time and as the process's
CPU time divided by the thread count (on a machine shared with other work the CPU time is the steadier estimate of
the idle-machine wall time; torch runs with OMP_WAIT_POLICY=PASSIVE so its OpenMP workers sleep instead of spinning
and their CPU time is work, as our pool's is but for its spin of at most 0.1 ms between loops, about 1 % of a
step's CPU time); peak memory is the resident high-water mark of the cell (Linux
/proc/self/clear_refs + VmHWM), weights included. Rows run interleaved (ours, then diffusers, row by row, --rounds
times) so both sides see the same machine load; with several rounds each side's fastest medians are kept. The Swift side runs `tomesd bench unet --json` in a child process, one per row.
The FLOP-model prediction (our UNetFLOPModel, printed by the Swift side) is shown beside each speed-up.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
COLUMNS = ["vanilla", "tome", "memory-efficient", "tome-memory-efficient"]
# Each ToMe column's unpatched baseline (same attention).
BASELINE = {"vanilla": "vanilla", "tome": "vanilla", "memory-efficient": "memory-efficient",
            "tome-memory-efficient": "memory-efficient"}


def status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


SDXL = dict(sample_size=128, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            block_out_channels=(320, 640, 1280), layers_per_block=2, cross_attention_dim=2048,
            transformer_layers_per_block=[1, 2, 10], attention_head_dim=[5, 10, 20], use_linear_projection=True,
            addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816)


def make_unet(torch, architecture):
    from diffusers import UNet2DConditionModel
    torch.manual_seed(0)
    config = SDXL if architecture == "sdxl" else dict(cross_attention_dim=768, sample_size=64)
    return UNet2DConditionModel(**config).eval()


def labelled(column, max_downsample, args):
    """A ToMe column's label: the column, with "@N" when several max_downsample values are measured."""
    return f"{column}@{max_downsample}" if column.startswith("tome") and len(args.max_downsample) > 1 else column


def diffusers_row(torch, tomesd, unet, args, resolution, batch):
    """Times diffusers (+ tomesd) on one row; returns {label: cell}."""
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    generator = torch.Generator().manual_seed(resolution * 1000 + batch)
    latent = resolution // 8
    sample = torch.randn(batch, 4, latent, latent, generator=generator).to(dtype)
    context = torch.randn(batch, 77, unet.config.cross_attention_dim, generator=generator).to(dtype)
    kwargs = {}
    if unet.config.addition_embed_type == "text_time":
        kwargs["added_cond_kwargs"] = {"text_embeds": torch.randn(batch, 1280, generator=generator).to(dtype),
                                       "time_ids": torch.tensor([[resolution, resolution, 0, 0, resolution,
                                                                  resolution]] * batch, dtype=dtype)}
    cells = {}
    runs_wanted = [(c, None) for c in args.diffusers_columns if not c.startswith("tome")]
    runs_wanted += [(c, md) for md in args.max_downsample for c in args.diffusers_columns if c.startswith("tome")]
    for column, max_downsample in runs_wanted:
        unet.set_attn_processor(AttnProcessor2_0() if "memory-efficient" in column else AttnProcessor())
        tomesd.remove_patch(unet)
        if column.startswith("tome"):
            tomesd.apply_patch(unet, ratio=args.ratio, max_downsample=max_downsample)
        reset_peak()
        runs, cpu = [], []
        with torch.no_grad():
            for step in range(args.warmup + args.steps):
                start, cpu_start = time.perf_counter(), time.process_time()
                unet(sample, 500, context, **kwargs)
                if step >= args.warmup:
                    runs.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - cpu_start)
        cells[labelled(column, max_downsample, args)] = {"median_seconds": median(runs), "step_seconds": runs, "median_cpu_seconds": median(cpu),
                         "cpu_seconds": cpu, "peak_bytes": status_bytes("VmHWM")}
    tomesd.remove_patch(unet)
    return cells


def swift_row(args, resolution, batch):
    """Runs `tomesd bench unet --json` on one row, once per max_downsample (the unpatched columns only the first
    time); returns {label: cell}."""
    cells = {}
    for index, max_downsample in enumerate(args.max_downsample):
        columns = [c for c in args.columns if index == 0 or c.startswith("tome")]
        command = [args.swift, "bench", "unet", "--json", "--architecture", args.architecture,
                   "--resolutions", str(resolution), "--batch", str(batch), "--ratio", str(args.ratio),
                   "--max-downsample", str(max_downsample), "--steps", str(args.steps), "--warmup", str(args.warmup),
                   "--columns", ",".join(columns), "--threads", str(args.threads), "--precision", args.precision,
                   "--memory-budget", str(args.memory_budget)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        document = json.loads(output.strip().splitlines()[-1])
        for cell in document["rows"][0]["cells"]:
            cells[labelled(cell["column"], max_downsample, args)] = cell
    return cells


def keep_faster(best, cells):
    """Keeps, per column, the fastest wall-time and CPU-time medians of the rounds so far."""
    for column, cell in cells.items():
        if cell.get("median_seconds") is None:
            continue
        if column not in best:
            best[column] = dict(cell)
            continue
        for key in ("median_seconds", "median_cpu_seconds"):
            best[column][key] = min(best[column][key], cell[key])


def print_row(resolution, batch, threads, ours, theirs):
    """Prints one table line per column: both sides where both ran, ours alone where diffusers was not asked
    (`--diffusers-columns`), "OOM" where ours was over the memory budget."""
    gib = lambda b: f"{b / 2**30:.1f}"
    timed = lambda side, column: column in side and side[column].get("median_seconds") is not None
    for column in ours:
        o, base = ours[column], BASELINE[column.split("@")[0]]
        if not timed(ours, column):
            print(f"| {resolution}² | {batch} | {column} | OOM | | | | | | | |")
            continue
        ow, oc = o["median_seconds"], o["median_cpu_seconds"] / threads
        speed = lambda side, key, value: side[base][key] / value if timed(side, base) else float("nan")
        so_w, so_c = speed(ours, "median_seconds", ow), speed(ours, "median_cpu_seconds", o["median_cpu_seconds"])
        flop = ours[base]["flops"] / o["flops"] if base in ours and "flops" in ours[base] else float("nan")
        overhead = o.get("overhead_seconds")
        overhead = f"{100 * overhead / ow:.1f} %" if overhead is not None else ""
        if timed(theirs, column):
            t = theirs[column]
            tw, tc = t["median_seconds"], t["median_cpu_seconds"] / threads
            st_w, st_c = speed(theirs, "median_seconds", tw), speed(theirs, "median_cpu_seconds", t["median_cpu_seconds"])
            their_cells = (f"{tw:.2f} / {tc:.2f}", f"{ow / tw:.2f} / {oc / tc:.2f}", f"×{st_w:.2f} / ×{st_c:.2f}",
                           gib(t["peak_bytes"]))
        else:
            their_cells = ("—", "—", "—", "—")
        print(f"| {resolution}² | {batch} | {column} | {ow:.2f} / {oc:.2f} | {their_cells[0]} | {their_cells[1]} | "
              f"×{so_w:.2f} / ×{so_c:.2f} | {their_cells[2]} | ×{flop:.2f} | {overhead} | "
              f"{gib(o['peak_bytes'])} / {their_cells[3]} |")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resolutions", default="512")
    parser.add_argument("--batch", default="2")
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--architecture", choices=["sd15", "sdxl"], default="sd15")
    parser.add_argument("--max-downsample", default="1", help="one value or a comma-separated list")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--columns", default="memory-efficient,tome-memory-efficient")
    parser.add_argument("--diffusers-columns", help="the columns diffusers runs (default: --columns); the classic "
                        "attention of the vanilla and tome columns needs more memory than this machine has at 768² "
                        "batch 4 and 1024²")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--memory-budget", type=float, default=18, help="GiB, for the Swift side")
    parser.add_argument("--swift", default=os.path.join(ROOT, ".build", "release", "tomesd"))
    parser.add_argument("--json", help="also write every measurement to this file")
    args = parser.parse_args()
    args.columns = args.columns.split(",")
    args.max_downsample = [int(x) for x in args.max_downsample.split(",")]
    args.diffusers_columns = args.diffusers_columns.split(",") if args.diffusers_columns else args.columns
    assert all(c in COLUMNS for c in args.columns + args.diffusers_columns), (args.columns, args.diffusers_columns)
    resolutions = [int(x) for x in args.resolutions.split(",")]
    batches = [int(x) for x in args.batch.split(",")]

    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    import torch
    import tomesd
    torch.set_num_threads(args.threads)
    # SDXL: one 10.3 GB model at a time, so diffusers' UNet is built per row after the Swift side has run.
    unet = make_unet(torch, args.architecture) if args.architecture == "sd15" else None
    title = "SDXL base" if args.architecture == "sdxl" else "SD 1.5"
    print(f"{title} UNet, {args.precision}, {args.threads} thread(s), ratio {args.ratio}, max_downsample {args.max_downsample}, "
          f"median of {args.steps} after {args.warmup} warm-up, best of {args.rounds} round(s); torch "
          f"{torch.__version__}, tomesd 0.1.3")
    print("Times: wall / CPU÷threads seconds per UNet step; speed-ups over the same attention unpatched.")
    print("| Resolution | Batch | Column | ours s | diffusers s | ours ÷ diffusers | ours speed-up | "
          "diffusers speed-up | FLOP model | ours ToMe overhead | peak GiB ours / diffusers |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    record = []
    for resolution in resolutions:
        for batch in batches:
            ours, theirs = {}, {}
            for _ in range(args.rounds):
                keep_faster(ours, swift_row(args, resolution, batch))
                model = unet if unet is not None else make_unet(torch, args.architecture)
                model = model.to(torch.bfloat16) if args.precision == "bf16" else model
                keep_faster(theirs, diffusers_row(torch, tomesd, model, args, resolution, batch))
                del model
            print_row(resolution, batch, args.threads, ours, theirs)
            record.append({"resolution": resolution, "batch": batch, "ours": ours, "diffusers": theirs})
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"architecture": args.architecture, "precision": args.precision, "threads": args.threads, "ratio": args.ratio, "max_downsample": args.max_downsample,
                       "rows": record}, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
