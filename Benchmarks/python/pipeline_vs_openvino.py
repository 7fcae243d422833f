"""Times a whole `tomesd generate` (bf16, with and without ToMe) against OpenVINO (CPU, bf16) running the same
SD 1.5-shaped UNet as many times as generate calls it: text encoder, UNet steps and VAE decode for ours, the UNet
calls alone for OpenVINO.

    swift build -c release --product tomesd
    "${TOMESD_REFERENCE_PYTHON:-python3}" Benchmarks/python/unet_vs_openvino.py --cache DIR --convert-only  # once
    "${TOMESD_REFERENCE_PYTHON:-python3}" Benchmarks/python/pipeline_vs_openvino.py --cache DIR --folder FOLDER \\
        --threads 2 --steps 20 --rounds 3 --json results.json

Ours: `tomesd generate --model FOLDER --precision bf16 --scheduler euler --steps N --width 512 --height 512
--guidance 7.5 --seed 0 --threads T`, once with `--ratio R` (ToMe) and once without. FOLDER is the SD 1.5-sized
diffusers folder with seeded random weights that Benchmarks/python/pipeline_vs_diffusers.py writes (on first use,
about 2 GB; keep it outside git). Euler makes exactly N UNet calls, each a batch of 2 (guidance); the stage times
are the ones generate prints (the denoising loop includes the scheduler steps, decoding the 8-bit conversion);
"whole" is their sum, so loading, like OpenVINO's compiling, is left out (it is listed on its own).

OpenVINO: the UNet IR that Benchmarks/python/unet_vs_openvino.py converts and caches under --cache DIR (diffusers'
UNet2DConditionModel after torch.manual_seed(0), float32 weights), in that script's worker process: reshaped to
the static shapes of one guided 512² step (sample 2×4×64×64, timestep 2, context 2×77×768), compiled for CPU with
INFERENCE_NUM_THREADS = T, PERFORMANCE_HINT LATENCY, NUM_STREAMS 1 and INFERENCE_PRECISION_HINT bf16 (and f32 with
--openvino f32,bf16); the precision each layer really runs is read from the compiled model and printed. After one
warm-up inference, each round times N inferences in a row: their total and the per-call median.

Rounds are interleaved (every round runs each of ours and each OpenVINO configuration once, in turn), so load drifts
hit all alike; the table gives medians over the rounds, wall seconds with process CPU seconds in parentheses (CPU
seconds are the steadier figure when other processes share the cores), and the ratio ours-whole / OpenVINO's N UNet
calls (below 1: the whole generate is faster than OpenVINO's UNet alone). The load average is printed at the start
and at the end.

Options: --threads T (2), --steps N (20), --rounds N (1), --ratio R (0.5), --openvino bf16 (or f32,bf16),
--cache DIR (required: the IR folder), --folder DIR (the pipeline folder), --tomesd PATH, --json FILE (raw figures).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# One home each: the random SD 1.5 folder and our generate run; the OpenVINO IR, its worker; the UNet inputs.
from pipeline_vs_diffusers import ROOT, ensure_folder, run_tomesd  # noqa: E402
from unet_vs_diffusers import make_inputs  # noqa: E402
from unet_vs_openvino import OpenVINO, ir_path  # noqa: E402

RESOLUTION = 512
BATCH = 2  # guidance: the unconditional and the conditional halves in one UNet call
STAGES = ("text_encoder", "unet", "vae")


def ours_label(ratio):
    return "ours bf16" + (f" + ToMe {ratio:g}" if ratio > 0 else "")


def run_ours(args, ratio, output):
    result = run_tomesd(args.tomesd, args.folder, RESOLUTION, args.steps, args.threads, ratio, output,
                        extra=["--precision", "bf16", "--scheduler", "euler"])
    calls = result["stages"]["unet"]["calls"]
    if calls != args.steps:
        raise RuntimeError(f"tomesd generate made {calls} UNet calls for --steps {args.steps} (expected equal)")
    return result


def median_of(rounds, key):
    return statistics.median(r[key] for r in rounds)


def summarise_ours(rounds):
    """Medians over the rounds of each stage's wall and CPU seconds, of their sums ("whole") and of loading."""
    summary = {"rounds": len(rounds), "unet_calls": rounds[0]["stages"]["unet"]["calls"]}
    for measure in ("wall", "cpu"):
        for stage in STAGES:
            summary[f"{stage}_{measure}_s"] = statistics.median(r["stages"][stage][measure] for r in rounds)
        summary[f"whole_{measure}_s"] = statistics.median(
            sum(r["stages"][stage][measure] for stage in STAGES) for r in rounds)
    summary["unet_wall_per_call_s"] = summary["unet_wall_s"] / summary["unet_calls"]
    summary["load_s"] = median_of(rounds, "load_s")
    summary["peak_mib"] = max(r["peak_bytes"] for r in rounds) / 1048576
    return summary


def summarise_openvino(rounds):
    """Medians over the rounds of the N calls' total wall and CPU seconds; the median call over all rounds."""
    return {"rounds": len(rounds), "unet_calls": len(rounds[0]["times"]),
            "unet_wall_s": statistics.median(sum(r["times"]) for r in rounds),
            "unet_cpu_s": statistics.median(sum(r["cpu"]) for r in rounds),
            "unet_wall_per_call_s": statistics.median(t for r in rounds for t in r["times"]),
            "peak_mib": max(r["peak_bytes"] for r in rounds) / 1048576}


def print_table(args, ours, openvino, load):
    def pair(summary, key):
        return f"{summary[f'{key}_wall_s']:.2f} ({summary[f'{key}_cpu_s']:.2f})"

    print(f"\nSD 1.5-shaped pipeline, random weights, {RESOLUTION}², guidance 7.5 (UNet batch 2), Euler, {args.steps} "
          f"steps, {args.threads} threads; medians of {args.rounds} interleaved round(s); seconds wall (CPU):\n")
    print("| run | text encoder | UNet steps | UNet per call | VAE decode | whole | loading / compiling |")
    print("|---|---|---|---|---|---|---|")
    for label, s in ours.items():
        print(f"| {label} | {pair(s, 'text_encoder')} | {pair(s, 'unet')} | {s['unet_wall_per_call_s']:.2f} | "
              f"{pair(s, 'vae')} | {pair(s, 'whole')} | {s['load_s']:.2f} |")
    for label, s in openvino.items():
        print(f"| {label}, UNet × {s['unet_calls']} | – | {pair(s, 'unet')} | {s['unet_wall_per_call_s']:.2f} "
              f"| – | {pair(s, 'unet')} | {s['compile_s']:.2f} |")
    print(f"\nRatio ours whole generate / OpenVINO's {args.steps} UNet calls (below 1: ours is faster), wall (CPU):\n")
    print("| ours | " + " | ".join(f"/ {label}" for label in openvino) + " |")
    print("|---|" + "---|" * len(openvino))
    for label, s in ours.items():
        print(f"| {label} | " + " | ".join(
            f"{s['whole_wall_s'] / o['unet_wall_s']:.2f} ({s['whole_cpu_s'] / o['unet_cpu_s']:.2f})"
            for o in openvino.values()) + " |")
    print("\nPeak resident memory: " + "; ".join(
        f"{label} {s['peak_mib'] / 1024:.2f} GiB" for label, s in {**ours, **openvino}.items())
        + " (OpenVINO's counts the pages of the memory-mapped IR it touched)")
    print(f"load average (1, 5, 15 min): at the start {load['start']}, at the end {load['end']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="the folder of unet_vs_openvino.py's IR (outside git)")
    parser.add_argument("--folder", default="/tmp/tomesd-sd15-random", help="the SD 1.5-sized pipeline folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--openvino", default="bf16")
    parser.add_argument("--tomesd", default=os.path.join(ROOT, ".build", "release", "tomesd"))
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args()
    if not args.openvino or not set(args.openvino.split(",")) <= {"f32", "bf16"}:
        parser.error("--openvino takes f32 and bf16")
    if args.steps < 1 or args.rounds < 1 or args.threads < 1:
        parser.error("--steps, --rounds and --threads take a positive count")
    if not 0 <= args.ratio < 1:
        parser.error("--ratio takes a value in [0, 1)")
    if not os.path.exists(ir_path(args.cache, "fp")):
        parser.error(f"no OpenVINO IR at {ir_path(args.cache, 'fp')}: convert it once with "
                     f"Benchmarks/python/unet_vs_openvino.py --cache {args.cache} --convert-only")
    if not os.access(args.tomesd, os.X_OK):
        parser.error(f"no tomesd binary at {args.tomesd} (swift build -c release --product tomesd)")

    load = {"start": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    import openvino
    print(f"OpenVINO {openvino.__version__.split('-')[0]}, tomesd {args.tomesd}, {args.threads} threads, "
          f"{args.steps} steps; load average {load['start']}", flush=True)
    ensure_folder(args.folder)
    ratios = [args.ratio, 0.0] if args.ratio > 0 else [0.0]
    raw = {"ours": {ours_label(r): [] for r in ratios}, "openvino": {}}
    compile_s = {}
    workers = []
    with tempfile.TemporaryDirectory() as scratch:
        inputs = os.path.join(scratch, f"inputs-{RESOLUTION}x{BATCH}.safetensors")
        make_inputs(inputs, RESOLUTION, BATCH)
        output = os.path.join(scratch, "out.png")
        try:
            for name in args.openvino.split(","):  # compiled one after another, so their memory peaks do not add up
                worker = OpenVINO(args.cache, name, inputs, args.threads)
                workers.append(worker)
                label = f"OpenVINO {name}"
                raw["openvino"][label] = []
                compile_s[label] = worker.ready["compile_s"]
                print(f"  {label}: compiled in {worker.ready['compile_s']:.1f} s, hint {worker.ready['hint']}, "
                      f"{worker.ready['threads']} threads; runtime graph:", flush=True)
                for layer, count in worker.ready["runtime"].items():
                    print(f"      {count:4d} × {layer}", flush=True)
            for round_index in range(args.rounds):
                figures = []
                for ratio in ratios:
                    result = run_ours(args, ratio, output)
                    raw["ours"][ours_label(ratio)].append(result)
                    whole = sum(result["stages"][stage]["wall"] for stage in STAGES)
                    figures.append(f"{ours_label(ratio)} {whole:.2f} s")
                for worker in workers:
                    result = worker.run(args.steps)
                    raw["openvino"][f"OpenVINO {worker.config}"].append(result)
                    figures.append(f"OpenVINO {worker.config} × {args.steps} {sum(result['times']):.2f} s")
                print(f"  round {round_index + 1}: " + ", ".join(figures), flush=True)
        finally:
            for worker in workers:
                worker.close()
    load["end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    ours = {label: summarise_ours(rounds) for label, rounds in raw["ours"].items()}
    theirs = {label: {**summarise_openvino(rounds), "compile_s": compile_s[label]}
              for label, rounds in raw["openvino"].items()}
    print_table(args, ours, theirs, load)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"settings": vars(args), "load_average": load, "summary": {"ours": ours, "openvino": theirs},
                       "raw": raw}, f, indent=1)


if __name__ == "__main__":
    main()
