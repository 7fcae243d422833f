"""Reference fixtures for the Swift UNet (Tests/StableDiffusionTests/UNet*.swift and Layer*.swift).

Run by hand from the repository root (needs nothing but the reference venv, CPU only):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_unet_fixtures.py

It writes, under Tests/Fixtures/sd/:

* unet-sd1/, unet-sd2/, unet-sdxl/ -- tiny random diffusers 0.42.1 `UNet2DConditionModel`s saved with
  `save_pretrained(safe_serialization=True)` (config.json + diffusion_pytorch_model.safetensors), plus
  cases.safetensors with the inputs and outputs of several forward calls:
      "<case>.sample"                 [B, C, H, W] NCHW, as diffusers takes it
      "<case>.timestep"               [B], or [] for a scalar timestep
      "<case>.encoder_hidden_states"  [B, L, D]
      "<case>.text_embeds", "<case>.time_ids"   SDXL only
      "<case>.out"                    diffusers' output sample [B, C, H, W]
      "<case>.hooked.out"             the output with the test token-reduction hook below on every block
      "<case>.hooked.first_input"     what the hook of the first transformer block saw on that call
  Norm weights and every bias are perturbed away from their initial values so that a wrong layer cannot hide.
  sd1: conv proj_in/out, three levels (odd latents take the upsample_size path);
  sd2: use_linear_projection, per-block head counts, upcast_attention, flip_sin_to_cos false, freq_shift 1;
  sdxl: addition_embed_type "text_time", transformer_layers_per_block [1, 2], use_linear_projection.
* unet-fp16-pipeline/ -- a pipeline folder (model_index.json + unet/) whose UNet weights are stored as
  diffusion_pytorch_model.fp16.safetensors (variant "fp16"); its cases are computed in float32 from the
  fp16-rounded weights.
* unet-layers/layers.safetensors -- single operations against torch: 3x3 convolutions (stride 1 and 2, few and many
  input channels),
  GroupNorm, LayerNorm, scaled dot-product attention, GELU, timestep embeddings, nearest upsampling to a size,
  a 3x3 convolution of a x2 nearest-upsampled map (Upsample2D).

The test hook (mirrored by the Swift test hook): per call, with N tokens and a latent of H x W,
downsample = ceil(sqrt(H*W // N)) as tomesd computes it. When downsample == 1 it reduces self-attention to every
2nd token, cross-attention to every 3rd token and the feed-forward to every 2nd token; when downsample == 2 only
self-attention, to every 2nd token; otherwise nothing. "Reduce to every s-th token" merges x -> x[:, ::s] and
unmerges y -> y[:, i // s] for every original token i (each token takes the value of the kept one before it).
"""

import json
import math
import os
import shutil

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel
from diffusers.models.attention import BasicTransformerBlock
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "sd")

torch.set_num_threads(1)

SD1 = dict(
    sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16, 16), layers_per_block=1,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    norm_num_groups=4, cross_attention_dim=12, attention_head_dim=2,
)
SD2 = dict(
    sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16, 16), layers_per_block=1,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    norm_num_groups=4, cross_attention_dim=16, attention_head_dim=[1, 2, 4], use_linear_projection=True,
    upcast_attention=True, flip_sin_to_cos=False, freq_shift=1,
)
SDXL = dict(
    sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16), layers_per_block=1,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    norm_num_groups=4, cross_attention_dim=16, attention_head_dim=[1, 2], use_linear_projection=True,
    transformer_layers_per_block=[1, 2], addition_embed_type="text_time", addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=12 + 6 * 8,
)


def build(config, seed):
    torch.manual_seed(seed)
    model = UNet2DConditionModel(**config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(".bias") or "norm" in name:
                parameter.add_(torch.randn_like(parameter) * 0.2)
    return model


# ---- the test token-reduction hook -----------------------------------------------------------------------------

def keep_every(stride):
    def merge(x):
        return x[:, ::stride, :]

    def unmerge(y, n):
        index = torch.arange(n) // stride
        return y[:, index, :]

    return merge, unmerge


def test_plan(hidden_states, latent):
    n = hidden_states.shape[1]
    h, w = latent
    downsample = int(math.ceil(math.sqrt(h * w // n)))
    if downsample == 1:
        return keep_every(2), keep_every(3), keep_every(2)
    if downsample == 2:
        return keep_every(2), None, None
    return None, None, None


HOOK = {"latent": None, "first_input": None}


def hooked_forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None,
                   encoder_attention_mask=None, timestep=None, cross_attention_kwargs=None, class_labels=None,
                   added_cond_kwargs=None):
    """diffusers' BasicTransformerBlock.forward (layer_norm path) with the test plan around each sub-layer."""
    if HOOK["first_input"] is None:
        HOOK["first_input"] = hidden_states.clone()
    n = hidden_states.shape[1]
    attn, cross, mlp = test_plan(hidden_states, HOOK["latent"])

    def around(pair, layer, x):
        if pair is None:
            return layer(x)
        merge, unmerge = pair
        return unmerge(layer(merge(x)), n)

    hidden_states = around(attn, lambda x: self.attn1(x), self.norm1(hidden_states)) + hidden_states
    hidden_states = around(cross, lambda x: self.attn2(x, encoder_hidden_states=encoder_hidden_states),
                           self.norm2(hidden_states)) + hidden_states
    hidden_states = around(mlp, self.ff, self.norm3(hidden_states)) + hidden_states
    return hidden_states


def run(model, inputs, hooked):
    kwargs = {}
    if "text_embeds" in inputs:
        kwargs["added_cond_kwargs"] = {"text_embeds": inputs["text_embeds"], "time_ids": inputs["time_ids"]}
    timestep = inputs["timestep"]
    if timestep.dim() == 0:
        timestep = float(timestep)
    original = BasicTransformerBlock.forward
    try:
        if hooked:
            BasicTransformerBlock.forward = hooked_forward
            HOOK["latent"] = tuple(inputs["sample"].shape[2:])
            HOOK["first_input"] = None
        with torch.no_grad():
            return model(inputs["sample"], timestep, inputs["encoder_hidden_states"], **kwargs).sample
    finally:
        BasicTransformerBlock.forward = original


def make_cases(model, config, cases, seed):
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, (batch, height, width, timestep, tokens) in cases.items():
        inputs = {
            "sample": torch.randn(batch, config["in_channels"], height, width, generator=generator),
            "timestep": torch.tensor(timestep, dtype=torch.float32),
            "encoder_hidden_states": torch.randn(batch, tokens, config["cross_attention_dim"], generator=generator),
        }
        if config.get("addition_embed_type") == "text_time":
            text_dim = config["projection_class_embeddings_input_dim"] - 6 * config["addition_time_embed_dim"]
            inputs["text_embeds"] = torch.randn(batch, text_dim, generator=generator)
            inputs["time_ids"] = torch.tensor([[height * 8, width * 8, 0, 0, height * 8, width * 8]] * batch,
                                              dtype=torch.float32)
        for key, value in inputs.items():
            tensors[f"{name}.{key}"] = value
        tensors[f"{name}.out"] = run(model, inputs, hooked=False)
        tensors[f"{name}.hooked.out"] = run(model, inputs, hooked=True)
        tensors[f"{name}.hooked.first_input"] = HOOK["first_input"]
    return {k: v.contiguous() for k, v in tensors.items()}


def save_model(model, folder, variant=None):
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, safe_serialization=True, variant=variant)


def make_model_fixture(name, config, seed, cases):
    model = build(config, seed)
    folder = os.path.join(ROOT, name)
    save_model(model, folder)
    save_file(make_cases(model, config, cases, seed + 1), os.path.join(folder, "cases.safetensors"))


def make_fp16_pipeline_fixture():
    model = build(SD1, 7)
    folder = os.path.join(ROOT, "unet-fp16-pipeline")
    shutil.rmtree(folder, ignore_errors=True)
    model.half()
    save_model(model, os.path.join(folder, "unet"), variant="fp16")
    model.float()  # the fp16-rounded weights, computed in float32
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
                   "unet": ["diffusers", "UNet2DConditionModel"]}, f, indent=2)
    cases = {"fp16": (2, 8, 8, [10.0, 700.0], 5)}
    save_file(make_cases(model, SD1, cases, 8), os.path.join(folder, "cases.safetensors"))


def make_layer_fixture():
    g = torch.Generator().manual_seed(11)
    t = {}
    # 3x3 convolutions, NCHW as torch takes them.
    t["conv.x"] = torch.randn(2, 5, 7, 6, generator=g)
    t["conv.weight"] = torch.randn(3, 5, 3, 3, generator=g)
    t["conv.bias"] = torch.randn(3, generator=g)
    t["conv.stride1"] = F.conv2d(t["conv.x"], t["conv.weight"], t["conv.bias"], stride=1, padding=1)
    t["conv.stride2"] = F.conv2d(t["conv.x"], t["conv.weight"], t["conv.bias"], stride=2, padding=1)
    # A 3x3 convolution with enough input channels for the shifted-tap method, on one larger and two small images.
    t["conv.wide.weight"] = torch.randn(7, 40, 3, 3, generator=g) * 0.1
    t["conv.wide.bias"] = torch.randn(7, generator=g)
    for name, shape in (("one", (1, 40, 12, 9)), ("two", (2, 40, 5, 4))):
        t[f"conv.wide.{name}.x"] = torch.randn(*shape, generator=g)
        t[f"conv.wide.{name}.out"] = F.conv2d(t[f"conv.wide.{name}.x"], t["conv.wide.weight"], t["conv.wide.bias"], padding=1)
    # GroupNorm with 4 groups of 2 channels, NCHW.
    t["groupnorm.x"] = torch.randn(2, 8, 5, 3, generator=g) * 3 + 1
    t["groupnorm.weight"] = torch.randn(8, generator=g)
    t["groupnorm.bias"] = torch.randn(8, generator=g)
    t["groupnorm.out"] = F.group_norm(t["groupnorm.x"], 4, t["groupnorm.weight"], t["groupnorm.bias"], eps=1e-5)
    # LayerNorm over the last dimension.
    t["layernorm.x"] = torch.randn(3, 7, 12, generator=g) * 2 - 1
    t["layernorm.weight"] = torch.randn(12, generator=g)
    t["layernorm.bias"] = torch.randn(12, generator=g)
    t["layernorm.out"] = F.layer_norm(t["layernorm.x"], (12,), t["layernorm.weight"], t["layernorm.bias"], 1e-5)
    # Attention, [B, N, heads * d] in and out: cross (few keys), self (more keys than one 256-key block), and head
    # sizes that are not a multiple of 16 (40, 80) as SD 1.5's.
    for name, batch, n, m, heads, d in (("cross", 2, 9, 5, 2, 8), ("self", 1, 260, 260, 2, 8),
                                        ("d40", 1, 13, 29, 2, 40), ("d80", 2, 7, 9, 1, 80)):
        q = torch.randn(batch, n, heads * d, generator=g) * 2
        k = torch.randn(batch, m, heads * d, generator=g) * 2
        v = torch.randn(batch, m, heads * d, generator=g)
        split = lambda x: x.reshape(x.shape[0], x.shape[1], heads, d).transpose(1, 2)
        out = F.scaled_dot_product_attention(split(q), split(k), split(v))
        t[f"attention.{name}.q"], t[f"attention.{name}.k"], t[f"attention.{name}.v"] = q, k, v
        t[f"attention.{name}.out"] = out.transpose(1, 2).reshape(batch, n, heads * d)
    # GELU (exact, erf).
    t["gelu.x"] = torch.linspace(-8, 8, 401)
    t["gelu.out"] = F.gelu(t["gelu.x"])
    # Timestep embeddings.
    from diffusers.models.embeddings import get_timestep_embedding
    t["timestep.t"] = torch.tensor([0.0, 1.0, 500.5, 999.0])
    for dim in (16, 15):
        for flip in (True, False):
            for shift in (0, 1):
                t[f"timestep.{dim}.{int(flip)}.{shift}"] = get_timestep_embedding(t["timestep.t"], dim, flip, shift)
    # Nearest upsampling by 2 and to a size.
    t["upsample.x"] = torch.randn(1, 2, 3, 4, generator=g)
    t["upsample.x2"] = F.interpolate(t["upsample.x"], scale_factor=2.0, mode="nearest")
    t["upsample.to5x7"] = F.interpolate(t["upsample.x"], size=(5, 7), mode="nearest")
    # diffusers' Upsample2D at x2: nearest upsampling, then the wide 3x3 convolution, on both of its images.
    for name in ("one", "two"):
        upsampled = F.interpolate(t[f"conv.wide.{name}.x"], scale_factor=2.0, mode="nearest")
        t[f"conv.wide.{name}.upsampled"] = F.conv2d(upsampled, t["conv.wide.weight"], t["conv.wide.bias"], padding=1)
    # A ResNet's GroupNorm -> SiLU -> 3x3 convolution (8 groups of 5 channels), on both images of the wide conv.
    t["conv.wide.norm.weight"] = torch.randn(40, generator=g)
    t["conv.wide.norm.bias"] = torch.randn(40, generator=g)
    for name in ("one", "two"):
        x = t[f"conv.wide.{name}.x"] * 2 + 0.5
        t[f"conv.wide.{name}.unnormalized"] = x
        h = F.silu(F.group_norm(x, 8, t["conv.wide.norm.weight"], t["conv.wide.norm.bias"], eps=1e-6))
        t[f"conv.wide.{name}.normalized"] = F.conv2d(h, t["conv.wide.weight"], t["conv.wide.bias"], padding=1)
    folder = os.path.join(ROOT, "unet-layers")
    os.makedirs(folder, exist_ok=True)
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(folder, "layers.safetensors"))


def main():
    # case: (batch, height, width, timestep ([B] list or scalar), text tokens)
    make_model_fixture("unet-sd1", SD1, 1, {
        "square": (2, 8, 8, [999.0, 1.0], 7),
        "nonsquare": (1, 12, 8, 250.0, 3),
        "odd": (3, 9, 7, [5.0, 400.5, 901.0], 4),
    })
    make_model_fixture("unet-sd2", SD2, 2, {
        "batch3": (3, 10, 6, [3.0, 300.0, 800.0], 5),
        "odd": (1, 7, 7, 42.0, 6),
    })
    make_model_fixture("unet-sdxl", SDXL, 3, {
        "square": (1, 8, 8, [500.0], 4),
        "odd": (2, 5, 6, [10.0, 950.0], 3),
    })
    make_fp16_pipeline_fixture()
    make_layer_fixture()


if __name__ == "__main__":
    main()
