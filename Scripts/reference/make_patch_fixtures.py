"""Reference fixtures for DiffusionPatch (Tests/DiffusionPatchTests): tomesd 0.1.3 applied to diffusers 0.42.1.

Run by hand from the repository root (the reference venv, CPU only, a few seconds):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_patch_fixtures.py

It reuses the tiny random UNets of the UNet fixtures (Tests/Fixtures/sd/unet-sd1, unet-sd2, unet-sdxl, written by
make_unet_fixtures.py) and the three-level SDXL UNet of Tests/Fixtures/sd/pipeline-sdxl/unet (written by
make_sdxl_pipeline_fixtures.py; attention at downsample 2 and 4 only, as SDXL's); rerun this script whenever those
change and writes Tests/Fixtures/patch/cases.safetensors:

    "<case>.sample"                 [B, 4, H, W] NCHW
    "<case>.timestep"               [B]
    "<case>.encoder_hidden_states"  [B, L, D]
    "<case>.text_embeds", "<case>.time_ids"    SDXL only
    "<case>.unpatched"              diffusers' output without the patch
    "<case>.out"                    the output of tomesd.apply_patch(unet, use_rand=False, <options>)
    "<case>.options"                float64 [8]: ratio, max_downsample, sx, sy, merge_attn, merge_crossattn,
                                    merge_mlp, model (0 = sd1, 1 = sd2, 2 = sdxl, 3 = sdxl3)
    "<case>.merges"                 int64 [3]: transformer-block calls, calls that merged (r > 0 after clamping),
                                    tokens removed in all of them (sum of the clamped r)
    "<case>.margin"                 float64 [2]: over every plan of the call, the smallest gap between the r-th and
                                    (r+1)-th best source score, and between the best and second-best destination
                                    score of a merged source (how far the plan is from a near-tie)
    "<case>.random_deviation"       float64 [3] (only where the batch is even): the relative L2 distance between
                                    tomesd's use_rand=True output and the no-random one, min / mean / max over
                                    8 torch seeds (the scale a seeded random partition is expected to move the output)

Every case asserts that tokens really merge (except "sdxl-default", which asserts that nothing merges), that the
plans are far from near-ties (so float rounding cannot flip one), and that ratio 0 reproduces the unpatched output
exactly (the patched forward is diffusers' own for the layer_norm blocks these UNets have).

Shims: tomesd 0.1.3's patched `BasicTransformerBlock.forward` reads `use_ada_layer_norm` and
`use_ada_layer_norm_zero`, which diffusers 0.42.1 still sets on every block, so nothing is shimmed; `shim_block`
below would set them to False if a diffusers version lacked them (tomesd itself does that for older versions).
For these UNets (norm_type "layer_norm", no pos_embed, no feed-forward chunking, no GLIGEN, not
only_cross_attention) tomesd's forward computes the same as diffusers' 0.42.1 forward, which `check_block`
asserts, so the patch is applied faithfully: with False the ada-norm branches are skipped exactly as
norm_type "layer_norm" skips them in diffusers.
"""

import math
import os

import torch
import tomesd
import tomesd.merge
import tomesd.patch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SD = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "sd")
OUT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "patch")
MODELS = {"sd1": 0, "sd2": 1, "sdxl": 2, "sdxl3": 3}
FOLDERS = {"sd1": "unet-sd1", "sd2": "unet-sd2", "sdxl": "unet-sdxl", "sdxl3": os.path.join("pipeline-sdxl", "unet")}

torch.set_num_threads(1)


def check_block(block):
    """The diffusers features tomesd's patched forward ignores must be off (see the module docstring)."""
    assert block.norm_type == "layer_norm", block.norm_type
    assert block.pos_embed is None and block._chunk_size is None and not block.only_cross_attention


def shim_block(block):
    for name in ("use_ada_layer_norm", "use_ada_layer_norm_zero"):
        if not hasattr(block, name):
            setattr(block, name, False)


def load(model):
    unet = UNet2DConditionModel.from_pretrained(os.path.join(SD, FOLDERS[model])).eval()
    for module in unet.modules():
        if type(module).__name__ == "BasicTransformerBlock":
            check_block(module)
            shim_block(module)
    return unet


# ---- instrumentation: what every plan merged, and how close it came to a tie ----------------------------------

RECORD = {"calls": 0, "merging": 0, "tokens": 0, "rank_gap": math.inf, "destination_gap": math.inf}
_matching = tomesd.merge.bipartite_soft_matching_random2d
_compute_merge = tomesd.patch.compute_merge


def counting_compute_merge(x, tome_info):
    RECORD["calls"] += 1
    return _compute_merge(x, tome_info)


def recording_matching(metric, w, h, sx, sy, r, no_rand=False, generator=None):
    m, u = _matching(metric, w, h, sx, sy, r, no_rand=no_rand, generator=generator)
    if r <= 0:
        return m, u
    # Recompute the scores the way tomesd does, to measure the plan's margins.
    hsy, wsx = h // sy, w // sx
    n = metric.shape[1]
    assert h * w == n, (h, w, n)
    dst = torch.zeros(h, w, dtype=torch.bool)
    if no_rand:
        dst[:hsy * sy:sy, :wsx * sx:sx] = True
    a_idx = (~dst).reshape(-1).nonzero().squeeze(1)
    b_idx = dst.reshape(-1).nonzero().squeeze(1)
    normed = metric / metric.norm(dim=-1, keepdim=True)
    scores = normed[:, a_idx] @ normed[:, b_idx].transpose(-1, -2)
    r = min(len(a_idx), r)
    if r > 0:
        RECORD["merging"] += 1
        RECORD["tokens"] += r
        if no_rand:
            top2 = scores.topk(min(2, scores.shape[-1]), dim=-1).values
            best = top2[..., 0].sort(dim=-1, descending=True).values
            if r < best.shape[-1]:
                RECORD["rank_gap"] = min(RECORD["rank_gap"], float((best[:, r - 1] - best[:, r]).min()))
            if top2.shape[-1] == 2:
                merged = top2[..., 0] >= best[:, r - 1:r]
                gaps = (top2[..., 0] - top2[..., 1])[merged]
                RECORD["destination_gap"] = min(RECORD["destination_gap"], float(gaps.min()))
    return m, u


tomesd.merge.bipartite_soft_matching_random2d = recording_matching
tomesd.patch.compute_merge = counting_compute_merge
tomesd.patch.merge.bipartite_soft_matching_random2d = recording_matching


def reset_record():
    RECORD.update(calls=0, merging=0, tokens=0, rank_gap=math.inf, destination_gap=math.inf)


# ---- the cases ---------------------------------------------------------------------------------------------------

DEFAULTS = dict(ratio=0.5, max_downsample=1, sx=2, sy=2, merge_attn=True, merge_crossattn=False, merge_mlp=False)

# name: (model, batch, height, width, options that differ from tomesd's defaults)
CASES = {
    "defaults": ("sd1", 2, 16, 16, {}),
    "ratio-0.3": ("sd1", 2, 16, 16, dict(ratio=0.3)),
    "ratio-0.75": ("sd1", 2, 16, 16, dict(ratio=0.75)),
    "sx3-sy2": ("sd1", 2, 16, 16, dict(sx=3, sy=2)),
    "sx1-sy3": ("sd1", 2, 12, 10, dict(sx=1, sy=3, ratio=0.6)),
    "max-downsample-2": ("sd1", 2, 16, 16, dict(max_downsample=2)),
    "max-downsample-4": ("sd1", 2, 16, 16, dict(max_downsample=4)),
    "cross-attention": ("sd1", 2, 16, 16, dict(merge_crossattn=True)),
    "mlp": ("sd1", 2, 16, 16, dict(merge_mlp=True)),
    "all-sublayers": ("sd1", 2, 12, 12, dict(merge_crossattn=True, merge_mlp=True, max_downsample=2)),
    "mlp-only": ("sd1", 2, 12, 12, dict(merge_attn=False, merge_mlp=True)),
    "batch-1": ("sd1", 1, 16, 16, {}),
    "batch-3": ("sd1", 3, 16, 16, dict(max_downsample=2)),
    "nonsquare": ("sd1", 2, 12, 20, dict(max_downsample=2)),
    "nondivisible": ("sd1", 2, 9, 7, dict(max_downsample=4)),
    "odd-cells": ("sd1", 1, 11, 13, dict(sx=3, sy=3, ratio=0.4, max_downsample=2)),
    "sd2": ("sd2", 2, 10, 14, dict(max_downsample=2)),
    "sdxl-default": ("sdxl", 2, 12, 12, {}),
    "sdxl-max-downsample-2": ("sdxl", 2, 12, 12, dict(max_downsample=2)),
    "sdxl3-max-downsample-2": ("sdxl3", 2, 12, 16, dict(max_downsample=2)),
    "sdxl3-max-downsample-4": ("sdxl3", 2, 12, 16, dict(max_downsample=4)),
}


def inputs_for(unet, batch, height, width, generator):
    config = unet.config
    inputs = {
        "sample": torch.randn(batch, config.in_channels, height, width, generator=generator),
        "timestep": torch.rand(batch, generator=generator) * 999,
        "encoder_hidden_states": torch.randn(batch, 5, config.cross_attention_dim, generator=generator),
    }
    if config.addition_embed_type == "text_time":
        text_dim = config.projection_class_embeddings_input_dim - 6 * config.addition_time_embed_dim
        inputs["text_embeds"] = torch.randn(batch, text_dim, generator=generator)
        inputs["time_ids"] = torch.tensor([[height * 8, width * 8, 0, 0, height * 8, width * 8]] * batch,
                                          dtype=torch.float32)
    return inputs


def forward(unet, inputs):
    kwargs = {}
    if "text_embeds" in inputs:
        kwargs["added_cond_kwargs"] = {"text_embeds": inputs["text_embeds"], "time_ids": inputs["time_ids"]}
    with torch.no_grad():
        return unet(inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"], **kwargs).sample


def patched_run(name, unet, options, inputs):
    """diffusers' output without and with the patch, and what the patched call merged."""
    tomesd.remove_patch(unet)
    unpatched = forward(unet, inputs)
    tomesd.apply_patch(unet, **{**options, "ratio": 0.0}, use_rand=False)
    assert torch.equal(forward(unet, inputs), unpatched), f"{name}: ratio 0 must reproduce diffusers exactly"
    tomesd.apply_patch(unet, **options, use_rand=False)
    reset_record()
    out = forward(unet, inputs)
    return unpatched, out, dict(RECORD)


def make_case(name, model, batch, height, width, changes, unets, generator):
    """One case; inputs are redrawn (at most 20 times) until no plan is within 1e-5 of a tie."""
    options = {**DEFAULTS, **changes}
    unet = unets[model]
    for _ in range(20):
        inputs = inputs_for(unet, batch, height, width, generator)
        unpatched, out, record = patched_run(name, unet, options, inputs)
        if min(record["rank_gap"], record["destination_gap"]) > 1e-5:
            break
    else:
        raise AssertionError(f"{name}: every draw had a near-tie plan")
    if name == "sdxl-default":
        assert record["merging"] == 0 and torch.equal(out, unpatched), f"{name}: nothing may merge"
    else:
        assert record["merging"] > 0 and record["tokens"] > 0, f"{name}: no tokens merged"

    tensors = {f"{name}.{key}": value for key, value in inputs.items()}
    tensors[f"{name}.unpatched"] = unpatched
    tensors[f"{name}.out"] = out
    tensors[f"{name}.options"] = torch.tensor(
        [options["ratio"], options["max_downsample"], options["sx"], options["sy"], options["merge_attn"],
         options["merge_crossattn"], options["merge_mlp"], MODELS[model]], dtype=torch.float64)
    tensors[f"{name}.merges"] = torch.tensor([record["calls"], record["merging"], record["tokens"]], dtype=torch.int64)
    tensors[f"{name}.margin"] = torch.tensor([record["rank_gap"], record["destination_gap"]], dtype=torch.float64)

    if batch % 2 == 0 and record["merging"] > 0:
        deviations = []
        for seed in range(8):
            torch.manual_seed(seed)  # tomesd forks its generator from the global one
            tomesd.apply_patch(unet, **options, use_rand=True)
            randomized = forward(unet, inputs)
            deviations.append(float((randomized - out).norm() / out.norm()))
        tensors[f"{name}.random_deviation"] = torch.tensor(
            [min(deviations), sum(deviations) / len(deviations), max(deviations)], dtype=torch.float64)
    tomesd.remove_patch(unet)
    print(f"{name:24s} merges {record['merging']:2d}/{record['calls']:2d} calls, {record['tokens']:4d} tokens, "
          f"margins {record['rank_gap']:.2e} / {record['destination_gap']:.2e}, "
          f"|out - unpatched| / |unpatched| = {float((out - unpatched).norm() / unpatched.norm()):.3e}")
    return tensors


def main():
    unets = {model: load(model) for model in MODELS}
    generator = torch.Generator().manual_seed(4)
    tensors = {}
    for name, (model, batch, height, width, changes) in CASES.items():
        tensors.update(make_case(name, model, batch, height, width, changes, unets, generator))
    os.makedirs(OUT, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "cases.safetensors"))


if __name__ == "__main__":
    main()
