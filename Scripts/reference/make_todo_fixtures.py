"""Reference fixtures for Token Downsampling (Tests/DiffusionPatchTests/ToDo*Tests.swift): apply_todo.py (the
published ToDo code, see its docstring) applied to diffusers 0.42.1, and PyTorch's resize functions on their own.

Run by hand from the repository root (the reference venv, CPU only, a few seconds):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_todo_fixtures.py

It reuses the tiny random UNets of the UNet fixtures (Tests/Fixtures/sd/unet-sd1, unet-sdxl, written by
make_unet_fixtures.py; rerun this script whenever those change) and writes Tests/Fixtures/todo/:

cases.safetensors, per case:
    "<case>.sample" [B, 4, H, W] NCHW, "<case>.timestep" [B], "<case>.encoder_hidden_states" [B, L, D],
    "<case>.text_embeds", "<case>.time_ids" (SDXL only)
    "<case>.unpatched"   diffusers' output without ToDo
    "<case>.out"         the output with apply_todo(unet, <options>)
    "<case>.options"     float64 [5]: downsample_factor, method (index in METHODS), max_downsample, model
                         (0 = sd1, 2 = sdxl), timestep_threshold_stop
    "<case>.calls"       int64 [3]: transformer-block calls, calls that downsampled, key/value tokens removed

resize.safetensors, per case "<method>-<H>x<W>-to-<h>x<w>":
    ".input" [1, C, H, W] NCHW and ".output" [1, C, h, w]: up_or_downsample's resize (F.interpolate with the
    output size, align_corners and antialias at their defaults, or avg/max pooling with kernel H // h).

Every case asserts that ToDo changes the output (keys and values really shrink; except "sdxl-max-downsample-1",
which asserts that nothing changes: SDXL has no transformer block at downsample 1, and "threshold-after-stop",
whose timestep is past timestep_threshold_stop), and that factor 1 reproduces the unpatched output exactly.
"""

import os

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

from apply_todo import TODO_RECORD, apply_todo, remove_todo

HERE = os.path.dirname(os.path.abspath(__file__))
SD = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "sd")
OUT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "todo")
MODELS = {"sd1": 0, "sdxl": 2}
# The order of Swift's ResizeMethod.allCases.
METHODS = ["nearest", "nearest-exact", "bilinear", "bicubic", "area", "avg_pool", "max_pool"]

torch.set_num_threads(1)

# name: (model, batch, height, width, factor, method, max_downsample, timestep_threshold_stop[, timestep])
CASES = {
    "nearest-exact": ("sd1", 2, 16, 16, 2, "nearest-exact", 1, 0.0),
    "nearest": ("sd1", 2, 16, 16, 2, "nearest", 1, 0.0),
    "bilinear": ("sd1", 2, 16, 16, 2, "bilinear", 1, 0.0),
    "bicubic": ("sd1", 2, 16, 16, 2, "bicubic", 1, 0.0),
    "area": ("sd1", 2, 16, 16, 2, "area", 1, 0.0),
    "avg-pool": ("sd1", 2, 16, 16, 2, "avg_pool", 1, 0.0),
    "max-pool": ("sd1", 2, 16, 16, 2, "max_pool", 1, 0.0),
    "max-downsample-2": ("sd1", 2, 16, 16, 2, "nearest-exact", 2, 0.0),
    "max-downsample-4": ("sd1", 1, 16, 16, 2, "bilinear", 4, 0.0),
    "factor-3-nearest-exact": ("sd1", 2, 14, 10, 3, "nearest-exact", 2, 0.0),
    "factor-3-bilinear": ("sd1", 2, 14, 10, 3, "bilinear", 2, 0.0),
    "factor-3-bicubic": ("sd1", 1, 14, 10, 3, "bicubic", 2, 0.0),
    "factor-3-area": ("sd1", 1, 14, 10, 3, "area", 2, 0.0),
    "factor-3-avg-pool": ("sd1", 2, 14, 10, 3, "avg_pool", 2, 0.0),
    "factor-3-max-pool": ("sd1", 1, 14, 10, 3, "max_pool", 2, 0.0),
    "odd-latent": ("sd1", 2, 13, 11, 2, "nearest-exact", 2, 0.0),
    "odd-latent-bicubic": ("sd1", 1, 13, 11, 2, "bicubic", 2, 0.0),
    "nearest-factor-3-odd": ("sd1", 1, 13, 11, 3, "nearest", 1, 0.0),
    "sdxl-max-downsample-1": ("sdxl", 2, 12, 12, 2, "nearest-exact", 1, 0.0),
    "sdxl-max-downsample-2": ("sdxl", 2, 12, 12, 2, "nearest-exact", 2, 0.0),
    "sdxl-bilinear": ("sdxl", 1, 14, 10, 2, "bilinear", 2, 0.0),
    "threshold-before-stop": ("sd1", 2, 12, 12, 2, "nearest-exact", 2, 0.6, 700.0),
    "threshold-after-stop": ("sd1", 2, 12, 12, 2, "nearest-exact", 2, 0.6, 600.0),
}
UNCHANGED = {"sdxl-max-downsample-1", "threshold-after-stop"}

# (method, (H, W), (h, w)): downsampling as ToDo does, odd sizes, equal sizes and two upsamplings.
RESIZES = [(method, src, dst) for method in METHODS if not method.endswith("pool")
           for src, dst in [((16, 16), (8, 8)), ((14, 10), (4, 3)), ((7, 5), (2, 1)), ((13, 11), (6, 5)),
                            ((14, 12), (6, 4)), ((9, 9), (3, 3)), ((5, 6), (5, 6)), ((3, 4), (7, 8)), ((4, 3), (8, 6))]]
RESIZES += [(method, src, dst) for method in ("avg_pool", "max_pool")
            for src, dst in [((16, 16), (8, 8)), ((14, 10), (4, 3)), ((7, 5), (2, 1)), ((13, 11), (6, 5)),
                             ((9, 9), (3, 3))]]


def load(model):
    return UNet2DConditionModel.from_pretrained(os.path.join(SD, f"unet-{model}")).eval()


def inputs_for(unet, batch, height, width, generator):
    config = unet.config
    inputs = {
        "sample": torch.randn(batch, config.in_channels, height, width, generator=generator),
        "timestep": torch.rand(batch, generator=generator) * 998 + 1,
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


def make_case(name, spec, unets, generator):
    model, batch, height, width, factor, method, max_downsample, stop = spec[:8]
    unet = unets[model]
    inputs = inputs_for(unet, batch, height, width, generator)
    if len(spec) > 8:
        inputs["timestep"] = torch.full((batch,), spec[8])
    remove_todo(unet)
    unpatched = forward(unet, inputs)
    apply_todo(unet, downsample_factor=1, downsample_method=method, max_downsample=max_downsample)
    assert torch.equal(forward(unet, inputs), unpatched), f"{name}: factor 1 must reproduce diffusers exactly"
    apply_todo(unet, downsample_factor=factor, downsample_method=method, max_downsample=max_downsample,
               timestep_threshold_stop=stop)
    TODO_RECORD.update(calls=0, downsampled=0, removed=0)
    out = forward(unet, inputs)
    record = dict(TODO_RECORD)
    remove_todo(unet)
    change = float((out - unpatched).norm() / unpatched.norm())
    if name in UNCHANGED:  # SDXL has no transformer block at downsample 1; 600 / 1000 is not > 0.6
        assert record["downsampled"] == 0 and torch.equal(out, unpatched), f"{name}: nothing may downsample"
    else:
        assert record["downsampled"] > 0 and change > 1e-3, f"{name}: ToDo changed nothing ({record}, {change})"
    tensors = {f"{name}.{key}": value for key, value in inputs.items()}
    tensors[f"{name}.unpatched"] = unpatched
    tensors[f"{name}.out"] = out
    tensors[f"{name}.options"] = torch.tensor([factor, METHODS.index(method), max_downsample, MODELS[model], stop],
                                              dtype=torch.float64)
    tensors[f"{name}.calls"] = torch.tensor([record["calls"], record["downsampled"], record["removed"]],
                                            dtype=torch.int64)
    print(f"{name:24s} downsampled {record['downsampled']:2d}/{record['calls']:2d} calls, "
          f"{record['removed']:4d} k/v tokens removed, |out - unpatched| / |unpatched| = {change:.3e}")
    return tensors


def resize_cases(generator):
    from apply_todo import up_or_downsample
    tensors = {}
    for method, (h_in, w_in), (h_out, w_out) in RESIZES:
        name = f"{method}-{h_in}x{w_in}-to-{h_out}x{w_out}"
        image = torch.randn(1, 3, h_in, w_in, generator=generator)
        if h_out <= h_in:
            tokens = image.permute(0, 2, 3, 1).reshape(1, h_in * w_in, 3)
            out = up_or_downsample(tokens, w_in, h_in, w_out, h_out, method)
            out = out.reshape(1, h_out, w_out, 3).permute(0, 3, 1, 2)
        else:
            out = F.interpolate(image, size=(h_out, w_out), mode=method)
        tensors[f"{name}.input"] = image
        tensors[f"{name}.output"] = out
    return tensors


def main():
    unets = {model: load(model) for model in MODELS}
    generator = torch.Generator().manual_seed(13)
    tensors = {}
    for name, spec in CASES.items():
        tensors.update(make_case(name, spec, unets, generator))
    os.makedirs(OUT, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "cases.safetensors"))
    save_file({k: v.contiguous() for k, v in resize_cases(generator).items()}, os.path.join(OUT, "resize.safetensors"))


if __name__ == "__main__":
    main()
