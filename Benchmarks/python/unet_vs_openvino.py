"""Times one UNet step of an SD 1.5-shaped UNet in OpenVINO (CPU) and in `tomesd unet`, side by side.

Both use seeded random weights (no download): OpenVINO runs diffusers' UNet2DConditionModel initialised after
torch.manual_seed(0) (as Benchmarks/python/unet_vs_diffusers.py builds it), converted once with `openvino.convert_model`
and cached as IR (.xml/.bin) under --cache DIR (conversion takes ~4.5 min and ~6.4 GB; keep DIR outside git);
ours runs `tomesd unet --config` (its own seeded weights; same architecture and inputs). Build first:
`swift build -c release --product tomesd`.

    "${TOMESD_REFERENCE_PYTHON:-python3}" Benchmarks/unet_vs_openvino.py --cache DIR --convert-only   # once, ahead
    "${TOMESD_REFERENCE_PYTHON:-python3}" Benchmarks/unet_vs_openvino.py --cache DIR --threads 2 \\
        --shapes 512x1,512x2,1024x1 --openvino f32,bf16,int8 --ours fp32,bf16 --ratio 0.5 --rounds 3 --repeat 3

OpenVINO: the IR is reshaped to each static shape and compiled for CPU with INFERENCE_NUM_THREADS = --threads,
PERFORMANCE_HINT LATENCY, NUM_STREAMS 1 and INFERENCE_PRECISION_HINT f32 or bf16; "int8" is the IR with
nncf.compress_weights(mode=INT8_ASYM) (8-bit weights, per output channel, asymmetric), compiled with bf16. The
precision each configuration really runs is read from the compiled model's runtime graph (every op's rt_info
"runtimePrecision" and "primitiveType") and printed, counted per layer type. Each OpenVINO configuration lives in
its own worker process (compiled once per shape, one warm-up inference), and each `tomesd unet` run is a fresh
process doing `--repeat + 1` forwards (the first, a warm-up, is dropped). Rounds are interleaved: in every round
each of ours and each OpenVINO configuration runs --repeat steps in turn, so load drifts hit all alike; the table
gives medians over all rounds (loading and compiling excluded) and ours / OpenVINO time ratios.

Options: --shapes RxB,... (pixels x batch; latents are 1/8), --threads T, --rounds N, --repeat N,
--openvino f32,bf16,int8, --ours LIST (default: "default" = no --precision option, for binaries without it;
or fp32,bf16 to pass `--precision`), --ratio R (adds each of ours with ToMe ratio R), --attention
memory-efficient|standard, --tomesd PATH, --cache DIR, --convert-only, --json FILE (the raw samples).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_vs_diffusers import ROOT, SD15, make_inputs, run_tomesd  # noqa: E402  (one home: model, inputs, our CLI)

IR_NAME = {"fp": "unet-sd15-seed0.xml", "int8": "unet-sd15-seed0-int8asym.xml"}


def ir_path(cache, kind):
    return os.path.join(cache, IR_NAME[kind])


# ---- conversion (once, cached) ---------------------------------------------------------------------------------

def convert(cache):
    """Writes the float32 IR (dynamic batch and size) and its INT8_ASYM weight-compressed copy, if missing."""
    import openvino as ov

    os.makedirs(cache, exist_ok=True)
    if not os.path.exists(ir_path(cache, "fp")):
        import torch
        from diffusers import UNet2DConditionModel

        class Wrapper(torch.nn.Module):
            """The UNet as a function of three tensors returning one tensor, as convert_model traces it."""

            def __init__(self, unet):
                super().__init__()
                self.unet = unet

            def forward(self, sample, timestep, encoder_hidden_states):
                return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]

        start = time.perf_counter()
        torch.manual_seed(0)
        unet = UNet2DConditionModel(**{k: v for k, v in SD15.items() if not k.startswith("_")}).eval()
        example = (torch.randn(1, 4, 64, 64), torch.full((1,), 500.0), torch.randn(1, 77, 768))
        with torch.no_grad():
            model = ov.convert_model(Wrapper(unet), example_input=example,
                                     input=[ov.PartialShape([-1, 4, -1, -1]), ov.PartialShape([-1]),
                                            ov.PartialShape([-1, 77, 768])])
        del unet
        # compress_to_fp16=False: keep the float32 weights (the default would store them as float16).
        temporary = ir_path(cache, "fp") + ".partial.xml"
        ov.save_model(model, temporary, compress_to_fp16=False)
        os.replace(temporary[:-4] + ".bin", ir_path(cache, "fp")[:-4] + ".bin")
        os.replace(temporary, ir_path(cache, "fp"))
        print(f"converted in {time.perf_counter() - start:.0f} s -> {ir_path(cache, 'fp')}", flush=True)
        del model
    if not os.path.exists(ir_path(cache, "int8")):
        import nncf

        start = time.perf_counter()
        model = ov.Core().read_model(ir_path(cache, "fp"))
        compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
        temporary = ir_path(cache, "int8") + ".partial.xml"
        ov.save_model(compressed, temporary, compress_to_fp16=False)
        os.replace(temporary[:-4] + ".bin", ir_path(cache, "int8")[:-4] + ".bin")
        os.replace(temporary, ir_path(cache, "int8"))
        print(f"INT8_ASYM weights in {time.perf_counter() - start:.0f} s -> {ir_path(cache, 'int8')}", flush=True)


# ---- the OpenVINO worker (a child process per configuration and shape) -----------------------------------------

def runtime_precisions(compiled):
    """Counts of (layer type, runtime precision, primitive) over the compiled model's execution graph, for the
    layers that carry the FLOPs (attention runs inside fused "Subgraph" nodes) and the norms ("MVN")."""
    counts = Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        layer = info["layerType"].astype(str) if "layerType" in info else op.get_type_name()
        if layer in ("Convolution", "FullyConnected", "MatMul", "ScaledDotProductAttention", "Subgraph", "MVN"):
            precision = info["runtimePrecision"].astype(str) if "runtimePrecision" in info else "?"
            primitive = info["primitiveType"].astype(str) if "primitiveType" in info else "?"
            counts[f"{layer} {precision} ({primitive})"] += 1
    return dict(sorted(counts.items()))


def openvino_worker(cache, config, inputs_path, threads):
    """Compiles one configuration for the inputs' shapes, warms up, then answers "run N" lines on stdin with one JSON
    line of N step times (wall, and the process's CPU seconds); "output PATH" saves the last output (float32 .npy);
    "quit" ends."""
    import numpy as np
    import openvino as ov
    from safetensors.numpy import load_file

    inputs = load_file(inputs_path)
    arrays = [inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"]]
    core = ov.Core()
    start = time.perf_counter()
    model = core.read_model(ir_path(cache, "int8" if config == "int8" else "fp"))
    model.reshape({model.inputs[i]: ov.PartialShape(list(a.shape)) for i, a in enumerate(arrays)})
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
        "INFERENCE_PRECISION_HINT": "f32" if config == "f32" else "bf16"})
    del model
    request = compiled.create_infer_request()
    compile_s = time.perf_counter() - start
    request.infer(arrays)  # warm-up
    print(json.dumps({"ready": True, "compile_s": compile_s,
                      "hint": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
                      "threads": compiled.get_property("INFERENCE_NUM_THREADS"),
                      "runtime": runtime_precisions(compiled)}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] == "run":
            times, cpu = [], []
            for _ in range(int(command[1])):
                begin, cpu_begin = time.perf_counter(), time.process_time()
                request.infer(arrays)
                times.append(time.perf_counter() - begin)
                cpu.append(time.process_time() - cpu_begin)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            print(json.dumps({"times": times, "cpu": cpu, "peak_bytes": peak}), flush=True)
        elif command[0] == "output":
            np.save(command[1], np.array(request.get_output_tensor(0).data, dtype=np.float32))
            print(json.dumps({"saved": command[1]}), flush=True)
        else:
            break


class OpenVINO:
    """A running worker for one configuration at one shape."""

    def __init__(self, cache, config, inputs, threads):
        self.config = config
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--openvino-worker", cache, config, inputs, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self._answer()

    def _answer(self):
        """The worker's next JSON line (anything else a library prints to stdout is passed through)."""
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the OpenVINO {self.config} worker ended (exit {self.process.wait()})")
            if line.startswith("{"):
                return json.loads(line)
            print(f"  [OpenVINO {self.config}] {line.rstrip()}", flush=True)

    def run(self, repeat):
        self.process.stdin.write(f"run {repeat}\n")
        self.process.stdin.flush()
        return self._answer()

    def save_output(self, path):
        self.process.stdin.write(f"output {path}\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait()


# ---- the side-by-side run --------------------------------------------------------------------------------------

def ours_configs(args):
    configs = [(name, None) for name in args.ours.split(",")]
    if args.ratio is not None:
        configs += [(name, args.ratio) for name, _ in list(configs)]
    return configs


def ours_label(name, ratio):
    label = "ours" if name == "default" else f"ours {name}"
    return label + (f" + ToMe {ratio:g}" if ratio is not None else "")


def ours_args(name, ratio):
    extra = [] if name == "default" else ["--precision", name]
    return extra + ([] if ratio is None else ["--ratio", str(ratio)])


def relative_error(value, reference):
    import numpy as np
    value, reference = value.astype(np.float64), reference.astype(np.float64)
    return float(np.linalg.norm(value - reference) / np.linalg.norm(reference))


def measure_shape(args, folder, config, resolution, batch):
    import numpy as np

    inputs = os.path.join(folder, f"inputs-{resolution}x{batch}.safetensors")
    make_inputs(inputs, resolution, batch)
    samples = {}
    workers = []
    try:
        for name in args.openvino.split(","):  # compiled one after another, so their memory peaks do not add up
            worker = OpenVINO(args.cache, name, inputs, args.threads)
            workers.append(worker)
            print(f"  OpenVINO {name}: compiled in {worker.ready['compile_s']:.1f} s, hint {worker.ready['hint']}, "
                  f"{worker.ready['threads']} threads; runtime graph:", flush=True)
            for layer, count in worker.ready["runtime"].items():
                print(f"      {count:4d} × {layer}", flush=True)
        for round_index in range(args.rounds):
            for name, ratio in ours_configs(args):
                result = run_tomesd(args.tomesd, config, inputs, os.path.join(folder, "out.safetensors"),
                                    args.threads, args.repeat, args.attention, ours_args(name, ratio))
                samples.setdefault(ours_label(name, ratio), {"times": [], "peak_bytes": 0})
                samples[ours_label(name, ratio)]["times"] += result["times"]
                samples[ours_label(name, ratio)]["peak_bytes"] = max(samples[ours_label(name, ratio)]["peak_bytes"],
                                                                     result["peak_bytes"])
            for worker in workers:
                result = worker.run(args.repeat)
                key = f"OpenVINO {worker.config}"
                samples.setdefault(key, {"times": [], "peak_bytes": 0})
                samples[key]["times"] += result["times"]
                samples[key]["peak_bytes"] = max(samples[key]["peak_bytes"], result["peak_bytes"])
            print(f"  round {round_index + 1}: " + ", ".join(
                f"{key} {statistics.median(value['times'][-args.repeat:]):.2f} s" for key, value in samples.items()),
                flush=True)
        # How far each OpenVINO configuration's output is from its f32 one (same weights and inputs).
        outputs = {}
        for worker in workers:
            path = os.path.join(folder, f"openvino-{worker.config}.npy")
            worker.save_output(path)
            outputs[worker.config] = np.load(path)
        if "f32" in outputs:
            for name, output in outputs.items():
                if name != "f32":
                    samples[f"OpenVINO {name}"]["error_vs_f32"] = relative_error(output, outputs["f32"])
    finally:
        for worker in workers:
            worker.close()
    return samples


def print_table(rows, args):
    print(f"\nSD 1.5-shaped UNet, one step, {args.threads} threads, medians of {args.rounds} interleaved rounds × "
          f"{args.repeat} steps (after a warm-up):\n")
    columns = list(rows[0]["samples"])
    print("| shape | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for row in rows:
        print(f"| {row['resolution']}² batch {row['batch']} | " + " | ".join(
            f"{statistics.median(row['samples'][c]['times']):.2f} s" for c in columns) + " |")
    references = [c for c in columns if c.startswith("OpenVINO")]
    ours = [c for c in columns if not c.startswith("OpenVINO")]
    print("\nTime ratios ours / OpenVINO:\n")
    print("| shape | ours | " + " | ".join(f"/ {c}" for c in references) + " |")
    print("|---|---|" + "---|" * len(references))
    for row in rows:
        for c in ours:
            mine = statistics.median(row["samples"][c]["times"])
            print(f"| {row['resolution']}² batch {row['batch']} | {c} | " + " | ".join(
                f"{mine / statistics.median(row['samples'][r]['times']):.2f}" for r in references) + " |")
    print("\nPeak resident memory (ours: the forwards' own peak; OpenVINO: the worker's, which counts the pages of the "
          "memory-mapped IR file it touched) and OpenVINO's relative L2 distance to its f32 output:\n")
    for row in rows:
        print(f"  {row['resolution']}² batch {row['batch']}: " + "; ".join(
            f"{c} {row['samples'][c]['peak_bytes'] / 2**30:.2f} GiB"
            + (f" (rel. L2 vs f32 {row['samples'][c]['error_vs_f32']:.2e})" if "error_vs_f32" in row["samples"][c] else "")
            for c in columns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="folder for the converted IR (outside git)")
    parser.add_argument("--convert-only", action="store_true")
    parser.add_argument("--shapes", default="512x1,512x2,1024x1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--openvino", default="f32,bf16")
    parser.add_argument("--ours", default="default")
    parser.add_argument("--ratio", type=float)
    parser.add_argument("--attention", default="memory-efficient", choices=["memory-efficient", "standard"])
    parser.add_argument("--tomesd", default=os.path.join(ROOT, ".build", "release", "tomesd"))
    parser.add_argument("--json", help="write the raw samples here")
    args = parser.parse_args()
    if not set(args.openvino.split(",")) <= {"f32", "bf16", "int8"}:
        parser.error("--openvino takes f32, bf16 and int8")
    if not set(args.ours.split(",")) <= {"default", "fp32", "bf16"}:
        parser.error("--ours takes default, fp32 and bf16")

    convert(args.cache)
    if args.convert_only:
        return
    import openvino
    print(f"OpenVINO {openvino.__version__.split('-')[0]}, {args.threads} threads, tomesd {args.tomesd}; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        config = os.path.join(folder, "config.json")
        with open(config, "w") as f:
            json.dump(SD15, f)
        for shape in args.shapes.split(","):
            resolution, batch = (int(x) for x in shape.split("x"))
            print(f"{resolution}² batch {batch}:", flush=True)
            rows.append({"resolution": resolution, "batch": batch,
                         "samples": measure_shape(args, folder, config, resolution, batch)})
    print_table(rows, args)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--openvino-worker":
        openvino_worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
