"""ToDo (Token Downsampling, Smith et al. 2024, arXiv 2402.13573) applied to a diffusers UNet, as the published code
applies it: the Python reference of Swift's `applyTokenDownsampling` (Sources/DiffusionPatch/ToDoPatch.swift).

Followed source: github.com/ethansmith2000/ImprovedTokenMerge, commit 81928e4fe47b2be47a983dcfdc0586c3cb138e61
(2024-02-27), files merge.py (`up_or_downsample`, `compute_merge`, `TokenMergeAttentionProcessor.__call__`) and
utils.py (`patch_attention_proc`, `hook_tome_model`), with the authors' ToDo configuration (their demo, app.py):
merge_tokens="keys/values", merge_method="downsample", timestep_threshold_switch=0, timestep_threshold_stop=0. Only
that path of the processor is kept (the "all" / "similarity" paths are Token Merging, tomesd's own reference).

What differs from that file, and why:
- Levels. merge.py picks a block's level by its channel width (320: `downsample_factor`, 640:
  `downsample_factor_level_2`, else nothing), which only fits SD 1.x/2.x/XL widths. Here a block is selected by
  its downsampling level `ceil(sqrt(H*W // N))` <= `max_downsample` (tomesd's rule; also the rule of the port
  github.com/feffy380/sd-webui-token-downsampling, commit f1f1cbae82b75d5658b08abbc3cb8ddc0b876cc5), every selected
  level using `downsample_factor`. On SD 1.5 / SDXL widths max_downsample 1 is merge.py's default
  (downsample_factor_level_2 = 1) and 2 is downsample_factor_level_2 = downsample_factor (SDXL: its 640 level).
- Grid. merge.py takes `cur_h = original_h // downsample`, wrong for latents that do not divide (the block's grid
  is the ceiling, as the UNet's stride-2 convolutions give); the port fixed it in commit
  2a06a75390e5ab2d9a0cc1438c16f884336ccc9a with `math.ceil(original_h / downsample)`, used here.
- diffusers 0.42: the projections take no LoRA `scale` argument (USE_PEFT_BACKEND), and attention is
  F.scaled_dot_product_attention (merge.py's "torch2" path); xformers is not imported.
- The UNet pre-hook reads the first timestep of the batch (merge.py's `args[1].item()` needs a scalar).

Use: `apply_todo(unet, downsample_factor=2, downsample_method="nearest-exact", max_downsample=1)`, then call the
UNet as usual; `remove_todo(unet)` restores diffusers' processors. `TODO_RECORD` counts block calls, downsampled
calls and key/value tokens removed.
"""

import math

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import AttnProcessor2_0

TODO_RECORD = {"calls": 0, "downsampled": 0, "removed": 0}


def up_or_downsample(item, cur_w, cur_h, new_w, new_h, method):
    """merge.py's `up_or_downsample`, verbatim."""
    batch_size = item.shape[0]

    item = item.reshape(batch_size, cur_h, cur_w, -1)
    item = item.permute(0, 3, 1, 2)
    df = cur_h // new_h
    if method in "max_pool":
        item = F.max_pool2d(item, kernel_size=df, stride=df, padding=0)
    elif method in "avg_pool":
        item = F.avg_pool2d(item, kernel_size=df, stride=df, padding=0)
    else:
        item = F.interpolate(item, size=(new_h, new_w), mode=method)
    item = item.permute(0, 2, 3, 1)
    item = item.reshape(batch_size, new_h * new_w, -1)

    return item


def compute_merge(x, tome_info):
    """merge.py's `compute_merge` for merge_method "downsample" (levels and grid as the module docstring says)."""
    original_h, original_w = tome_info["size"]
    original_tokens = original_h * original_w
    downsample = int(math.ceil(math.sqrt(original_tokens // x.shape[1])))
    args = tome_info["args"]
    TODO_RECORD["calls"] += 1

    cur_h, cur_w = math.ceil(original_h / downsample), math.ceil(original_w / downsample)
    downsample_factor = args["downsample_factor"] if downsample <= args["max_downsample"] else 1
    new_h, new_w = cur_h // downsample_factor, cur_w // downsample_factor

    if tome_info["timestep"] / 1000 > args["timestep_threshold_stop"] and downsample_factor > 1:
        TODO_RECORD["downsampled"] += 1
        TODO_RECORD["removed"] += x.shape[1] - new_h * new_w
        return lambda x: up_or_downsample(x, cur_w, cur_h, new_w, new_h, args["downsample_method"])
    return lambda x: x


class TokenDownsamplingAttentionProcessor:
    """merge.py's `TokenMergeAttentionProcessor.__call__` on its merge_tokens == "keys/values" path."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None):
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch_size, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(1, 2)
        batch_size, sequence_length, _ = (
            hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        )
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
            attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)

        merge_fn = compute_merge(encoder_hidden_states, self._tome_info)
        encoder_hidden_states = merge_fn(encoder_hidden_states)

        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)

        inner_dim = key.shape[-1]
        head_dim = inner_dim // attn.heads
        query = query.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        key = key.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        hidden_states = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=0.0,
                                                       is_causal=False)
        hidden_states = hidden_states.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim)
        hidden_states = hidden_states.to(query.dtype)

        hidden_states = attn.to_out[0](hidden_states)
        hidden_states = attn.to_out[1](hidden_states)
        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch_size, channel, height, width)
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        hidden_states = hidden_states / attn.rescale_output_factor
        return hidden_states


def apply_todo(unet, downsample_factor=2, downsample_method="nearest-exact", max_downsample=1,
               timestep_threshold_stop=0.0):
    """utils.py's `patch_attention_proc` + `hook_tome_model`: a ToDo processor on every BasicTransformerBlock's
    attn1, and a UNet pre-hook recording the latent size and timestep."""
    remove_todo(unet)
    unet._tome_info = {
        "size": None,
        "timestep": None,
        "hooks": [],
        "args": {
            "downsample_method": downsample_method,
            "downsample_factor": downsample_factor,
            "max_downsample": max_downsample,
            "timestep_threshold_stop": timestep_threshold_stop,
        },
    }

    def hook(module, args):
        module._tome_info["size"] = (args[0].shape[2], args[0].shape[3])
        module._tome_info["timestep"] = float(torch.as_tensor(args[1]).reshape(-1)[0])
        return None

    unet._tome_info["hooks"].append(unet.register_forward_pre_hook(hook))
    for module in unet.modules():
        if module.__class__.__name__ == "BasicTransformerBlock":
            module.attn1.processor = TokenDownsamplingAttentionProcessor()
            module.attn1.processor._tome_info = unet._tome_info
    return unet


def remove_todo(unet):
    """utils.py's `remove_patch` (torch 2 branch) and the pre-hook's removal."""
    if hasattr(unet, "_tome_info"):
        for handle in unet._tome_info["hooks"]:
            handle.remove()
        del unet._tome_info
    for module in unet.modules():
        if module.__class__.__name__ == "BasicTransformerBlock":
            module.attn1.processor = AttnProcessor2_0()
    return unet
