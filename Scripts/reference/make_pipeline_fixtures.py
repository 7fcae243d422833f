"""Reference fixtures for the Swift Stable Diffusion pipeline, text encoder and VAE
(Tests/StableDiffusionTests/{TextEncoder,VAE,Pipeline}*Tests.swift).

Run by hand from the repository root (CPU only, nothing downloaded):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_pipeline_fixtures.py

Versions used: torch 2.15, diffusers 0.42.1, transformers 5.24.

It builds two tiny random diffusers `StableDiffusionPipeline`s and writes each as a model folder under
Tests/Fixtures/sd/:

* pipeline-sd1/ -- SD 1.x style: CLIP text encoder with quick_gelu, UNet with conv proj_in/out, PNDM scheduler
  config of SD 1.5 (epsilon), the SD 1 tokenizer folder of the tokenizer fixtures (vocab.json + merges.txt).
* pipeline-sd2/ -- SD 2.x style: text encoder with gelu, UNet with use_linear_projection, per-block head counts and
  upcast_attention, DDIM scheduler config of SD 2.1 (v_prediction), the SD 2 tokenizer folder (pads with "!"),
  another VAE scaling_factor, and weights written with the transformers 4 `text_model.` prefix plus the
  `position_ids` buffer older text encoders carry, and the VAE attention under its pre-0.14 names (query, key,
  value, proj_attn), so both loader paths are exercised.

Each folder is what `save_pretrained(safe_serialization=True)` writes (model_index.json, scheduler/, text_encoder/,
tokenizer/, unet/, vae/), with every weight rounded to float16 and stored as F16 to keep the files small; the
reference runs in float32 on those same rounded weights. Norm weights and all biases are perturbed away from their
initial values so that a wrong layer cannot hide.

cases.json lists the generation cases (prompt, negative prompt, size, steps, guidance, seed, scheduler preset as
`tomesd generate --scheduler` names it, whether explicit initial latents are given); cases.safetensors holds per
case "<name>.latents" (diffusers' final latents, output_type="latent", NCHW), "<name>.image" (the PIL image's bytes,
U8 [H, W, 3]) and, for the explicit-latents cases, "<name>.initial_latents" (NCHW). Other cases seed
`torch.Generator().manual_seed(seed)` as diffusers' users do. The scheduler of each case is
`Class.from_config(config, **options)` for the preset (as SchedulerPreset does), config being the scheduler
config read back from the saved folder, as `from_pretrained` gives it to a user.

Component checks, in the same file: "text.<i>.ids" (token ids as float32) and "text.<i>.embeddings" (the
encoder's last_hidden_state) for the prompts of text_prompts in cases.json; "vae.latents" (NCHW, already divided by
scaling_factor) and "vae.decoded" (vae.decode(...).sample, NCHW).
"""

import json
import os
import shutil

import numpy as np
import torch
from diffusers import (AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel)
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "sd")

torch.set_num_threads(1)

SD15_SCHEDULER = {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                  "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                  "trained_betas": None}
SD2_SCHEDULER = {**SD15_SCHEDULER, "prediction_type": "v_prediction"}

STYLES = {
    "sd1": dict(
        tokenizer="sd1_small",
        text=dict(vocab_size=2514, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  max_position_embeddings=77, hidden_act="quick_gelu"),
        unet=dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16, 16), layers_per_block=1,
                  down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                  norm_num_groups=4, cross_attention_dim=32, attention_head_dim=2),
        vae=dict(in_channels=3, out_channels=3, block_out_channels=(8, 16, 16), layers_per_block=1, latent_channels=4,
                 norm_num_groups=4, sample_size=32,
                 down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3),
        scheduler=(PNDMScheduler, SD15_SCHEDULER),
        size=(32, 32),
    ),
    "sd2": dict(
        tokenizer="sd2_small",
        text=dict(vocab_size=2514, hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3,
                  max_position_embeddings=77, hidden_act="gelu"),
        unet=dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16, 16), layers_per_block=1,
                  down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                  norm_num_groups=4, cross_attention_dim=24, attention_head_dim=[1, 2, 4], use_linear_projection=True,
                  upcast_attention=True),
        vae=dict(in_channels=3, out_channels=3, block_out_channels=(8, 16), layers_per_block=2, latent_channels=4,
                 norm_num_groups=4, sample_size=32, scaling_factor=0.13025,
                 down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2),
        scheduler=(DDIMScheduler, SD2_SCHEDULER),
        size=(24, 40),  # height, width: latents 12 x 20 with this VAE's 2x scale
    ),
}

# preset -> (class, from_config options), as Sources/StableDiffusion/Schedulers/SchedulerPreset.swift.
PRESETS = {
    "pndm": (PNDMScheduler, {}),
    "ddim": (DDIMScheduler, {}),
    "euler": (EulerDiscreteScheduler, {"use_karras_sigmas": False}),
    "euler-a": (EulerAncestralDiscreteScheduler, {}),
    "dpm++2m": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2,
                                              "use_karras_sigmas": False}),
    "dpm++2m-karras": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2,
                                                     "use_karras_sigmas": True}),
}

PROMPTS = ["a photograph of an astronaut riding a horse", "a red cube, on a table; 3 apples!"]
NEGATIVE = "blurry, low quality"
LONG_PROMPT = " ".join(["a very detailed painting of a small house by the sea with many boats"] * 8)
TEXT_PROMPTS = ["a photograph of an astronaut riding a horse", "", LONG_PROMPT]


def perturb(module, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if name.endswith(".bias") or "norm" in name:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.2)


def round_to_half(module):
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(parameter.half().float())


def build(style, seed):
    spec = STYLES[style]
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(**spec["text"])).eval()
    unet = UNet2DConditionModel(**spec["unet"]).eval()
    vae = AutoencoderKL(**spec["vae"]).eval()
    for index, module in enumerate([text_encoder, unet, vae]):
        perturb(module, seed + index)
        round_to_half(module)
    tokenizer = CLIPTokenizer.from_pretrained(os.path.join(ROOT, "tokenizer", spec["tokenizer"]))
    scheduler_class, scheduler_config = spec["scheduler"]
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler_class.from_config(scheduler_config), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save(pipe, style, folder):
    """save_pretrained with F16 weights; the tokenizer folder is copied as the published SD repositories ship it."""
    shutil.rmtree(folder, ignore_errors=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    shutil.rmtree(os.path.join(folder, "tokenizer"))
    shutil.copytree(os.path.join(ROOT, "tokenizer", STYLES[style]["tokenizer"]), os.path.join(folder, "tokenizer"))
    # vocab.json and merges.txt are the shared small CLIP files: links to the one copy, not copies.
    for name in ("vocab.json", "merges.txt"):
        path = os.path.join(folder, "tokenizer", name)
        os.remove(path)
        os.symlink(os.path.relpath(os.path.join(ROOT, "tokenizer", "sd1_small", name), os.path.dirname(path)), path)
    for component, weights in [("text_encoder", "model.safetensors"), ("unet", "diffusion_pytorch_model.safetensors"),
                               ("vae", "diffusion_pytorch_model.safetensors")]:
        path = os.path.join(folder, component, weights)
        tensors = {name: tensor.half() for name, tensor in load_file(path).items()}
        if style == "sd2" and component == "text_encoder":
            tensors = {"text_model." + name: tensor for name, tensor in tensors.items()}
            tensors["text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
        if style == "sd2" and component == "vae":
            legacy = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
            renamed = {}
            for name, tensor in tensors.items():
                for current, old in legacy.items():
                    name = name.replace(f".attentions.0.{current}.", f".attentions.0.{old}.")
                renamed[name] = tensor
            tensors = renamed
        save_file(tensors, path)


def cases_for(style):
    cases = []
    steps = {"pndm": 4, "ddim": 3, "euler": 4, "euler-a": 3, "dpm++2m": 4, "dpm++2m-karras": 3}
    for index, (preset, count) in enumerate(steps.items()):
        for guidance in (7.5, 1.0):
            cases.append(dict(
                name=f"{preset}.g{guidance}", prompt=PROMPTS[index % 2],
                negative_prompt=NEGATIVE if index % 3 == 0 and guidance > 1 else None,
                height=STYLES[style]["size"][0], width=STYLES[style]["size"][1], steps=count, guidance=guidance,
                seed=1000 * index + int(guidance * 10), scheduler=preset,
                initial_latents=(index % 2 == 1 and guidance > 1)))
    cases.append(dict(name="long-prompt", prompt=LONG_PROMPT, negative_prompt=None, height=STYLES[style]["size"][0],
                      width=STYLES[style]["size"][1], steps=2, guidance=3.0, seed=7, scheduler="ddim",
                      initial_latents=False))
    return cases


def run_case(pipe, case, tensors):
    scheduler_class, options = PRESETS[case["scheduler"]]
    pipe.scheduler = scheduler_class.from_config(pipe.folder_scheduler_config, **options)
    generator = torch.Generator().manual_seed(case["seed"])
    kwargs = {}
    if case["initial_latents"]:
        shape = (1, 4, case["height"] // pipe.vae_scale_factor, case["width"] // pipe.vae_scale_factor)
        initial = torch.randn(shape, generator=torch.Generator().manual_seed(case["seed"] + 1))
        tensors[case["name"] + ".initial_latents"] = initial
        kwargs["latents"] = initial
    with torch.no_grad():
        latents = pipe(case["prompt"], negative_prompt=case["negative_prompt"], height=case["height"],
                       width=case["width"], num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                       generator=generator, output_type="latent", **kwargs).images
        # The rest of the pipeline after the loop, as __call__ does it for output_type="pil".
        decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
        image = pipe.image_processor.postprocess(decoded, output_type="pil", do_denormalize=[True])[0]
    tensors[case["name"] + ".latents"] = latents.contiguous()
    tensors[case["name"] + ".image"] = torch.from_numpy(np.asarray(image).copy())
    scale = float(latents.abs().max())
    print(f"  {case['name']}: max |latent| {scale:.3f}")


def component_checks(pipe, style, tensors):
    for index, prompt in enumerate(TEXT_PROMPTS):
        ids = pipe.tokenizer(prompt, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        with torch.no_grad():
            embeddings = pipe.text_encoder(ids)[0]
        tensors[f"text.{index}.ids"] = ids.float()
        tensors[f"text.{index}.embeddings"] = embeddings.contiguous()
    height, width = STYLES[style]["size"]
    shape = (2, 4, height // pipe.vae_scale_factor, width // pipe.vae_scale_factor)
    latents = torch.randn(shape, generator=torch.Generator().manual_seed(5)) * 1.5
    with torch.no_grad():
        decoded = pipe.vae.decode(latents).sample
    tensors["vae.latents"] = latents
    tensors["vae.decoded"] = decoded.contiguous()


def main():
    for seed, style in enumerate(STYLES):
        print(style)
        pipe = build(style, 100 + seed)
        folder = os.path.join(ROOT, f"pipeline-{style}")
        save(pipe, style, folder)
        # As a user's run: the scheduler as from_pretrained reads it back (diffusers' from_config drops the keys a
        # scheduler took by default, so an in-memory config would switch classes differently than the saved one).
        scheduler_class = STYLES[style]["scheduler"][0]
        pipe.folder_scheduler_config = scheduler_class.from_pretrained(folder, subfolder="scheduler").config
        tensors = {}
        component_checks(pipe, style, tensors)
        cases = cases_for(style)
        for case in cases:
            run_case(pipe, case, tensors)
        save_file(tensors, os.path.join(folder, "cases.safetensors"))
        with open(os.path.join(folder, "cases.json"), "w") as f:
            json.dump({"text_prompts": TEXT_PROMPTS, "cases": cases}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
