"""Reference fixtures for the Swift SDXL pipeline (Tests/StableDiffusionTests/SDXLPipelineTests.swift).

Run by hand from the repository root (CPU only, nothing downloaded, a few seconds):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_sdxl_pipeline_fixtures.py

Versions used: torch 2.15, diffusers 0.42.1, transformers 5.24, tomesd 0.1.3. Rerun
Scripts/reference/make_patch_fixtures.py afterwards: its "sdxl3-*" cases use this folder's UNet.

It builds a tiny random diffusers `StableDiffusionXLPipeline` and writes it as a model folder,
Tests/Fixtures/sd/pipeline-sdxl/, as `save_pretrained(safe_serialization=True)` writes it:

* text_encoder/   CLIPTextModel, hidden 16, 2 layers, quick_gelu, with the SD 1 small tokenizer (tokenizer/, pads
                  with the end token);
* text_encoder_2/ CLIPTextModelWithProjection, hidden 24, 3 layers, gelu, projection_dim 16, eos_token_id 2 (as
                  SDXL base's config: the pooled token is the argmax id), with the SD 2 small tokenizer
                  (tokenizer_2/, pads with "!", id 0, as SDXL's);
* unet/           three levels like SDXL's (no attention at the first level, transformer_layers_per_block [1, 1, 2]),
                  use_linear_projection, addition_embed_type "text_time", cross_attention_dim 16 + 24 = 40,
                  projection_class_embeddings_input_dim 6 * 8 + 16;
* vae/            three levels (4x), scaling_factor 0.13025, force_upcast true (irrelevant in float32);
* scheduler/      SDXL base's EulerDiscreteScheduler configuration;
* model_index.json with force_zeros_for_empty_prompt true (diffusers' default, as SDXL base).

The tokenizer files are the shared small CLIP files: vocab.json and merges.txt are links to the one copy in
Tests/Fixtures/sd/tokenizer/sd1_small, as make_pipeline_fixtures.py does.

Weights are rounded to float16 and stored as F16; the reference runs in float32 on those same rounded weights. Norm
weights and all biases are perturbed away from their initial values so that a wrong layer cannot hide.

cases.json lists the generation cases (prompt, negative prompt (null: none given, which force_zeros_for_empty_prompt
turns into zero embeddings; "" is encoded), size, steps, guidance, seed, scheduler preset as `tomesd generate
--scheduler` names it, whether explicit initial latents are given, and "tome": null or tomesd's
`apply_patch(pipe, ratio, max_downsample, use_rand=False)` arguments); cases.safetensors holds per case
"<name>.latents" (final latents, output_type="latent", NCHW), "<name>.image" (U8 [H, W, 3]) and, for the
explicit-latents cases, "<name>.initial_latents". The watermarker is off (add_watermarker=False): the image is the
VAE's.

Component checks: "text.<i>.prompt_embeds" ([1, 77, 40]: both encoders' penultimate hidden states, concatenated)
and "text.<i>.pooled" ([1, 16]: text_encoder_2's text_embeds) for the prompts of text_prompts in cases.json.
"""

import json
import os
import shutil

import numpy as np
import torch
import tomesd
from diffusers import (AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, PNDMScheduler, StableDiffusionXLPipeline, UNet2DConditionModel)
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "sd")
FOLDER = os.path.join(ROOT, "pipeline-sdxl")

torch.set_num_threads(1)

# stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json
SDXL_SCHEDULER = {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                  "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
                  "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                  "timestep_spacing": "leading", "trained_betas": None, "use_karras_sigmas": False}

TEXT = dict(vocab_size=2514, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
            max_position_embeddings=77, hidden_act="quick_gelu")
TEXT_2 = dict(vocab_size=2514, hidden_size=24, intermediate_size=48, num_hidden_layers=3, num_attention_heads=2,
              max_position_embeddings=77, hidden_act="gelu", projection_dim=16, bos_token_id=0, eos_token_id=2,
              pad_token_id=1)
UNET = dict(sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16, 16), layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            norm_num_groups=4, cross_attention_dim=40, attention_head_dim=[1, 2, 4], use_linear_projection=True,
            transformer_layers_per_block=[1, 1, 2], addition_embed_type="text_time", addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=6 * 8 + 16)
VAE = dict(in_channels=3, out_channels=3, block_out_channels=(8, 16, 16), layers_per_block=1, latent_channels=4,
           norm_num_groups=4, sample_size=32, scaling_factor=0.13025, force_upcast=True,
           down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3)

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
TEXT_PROMPTS = ["a photograph of an astronaut riding a horse", ""]


def case(name, prompt, negative, height, width, steps, guidance, seed, scheduler, initial=False, tome=None):
    return dict(name=name, prompt=prompt, negative_prompt=negative, height=height, width=width, steps=steps,
                guidance=guidance, seed=seed, scheduler=scheduler, initial_latents=initial, tome=tome)


# Latents are a quarter of the image (three VAE levels). 32 x 48 gives 8 x 12 latents: 4 x 6 tokens at the UNet's
# second level (downsample 2, the first with attention), 2 x 3 at the third (downsample 4).
CASES = [
    case("euler.g5.zeros", PROMPTS[0], None, 32, 48, 4, 5.0, 11, "euler"),
    case("euler.g1", PROMPTS[1], None, 48, 32, 3, 1.0, 12, "euler", initial=True),
    case("euler.g5.negative", PROMPTS[1], NEGATIVE, 32, 32, 3, 5.0, 13, "euler", initial=True),
    case("euler-a.g6.empty-negative", PROMPTS[0], "", 32, 48, 3, 6.0, 14, "euler-a"),
    case("dpm++2m.g7.negative", PROMPTS[0], NEGATIVE, 48, 32, 4, 7.0, 15, "dpm++2m"),
    case("ddim.g4.zeros", PROMPTS[1], None, 32, 48, 3, 4.0, 16, "ddim", initial=True),
    case("pndm.g1", PROMPTS[0], NEGATIVE, 32, 48, 3, 1.0, 17, "pndm"),
    case("dpm++2m-karras.g3.empty-negative", PROMPTS[1], "", 32, 32, 3, 3.0, 18, "dpm++2m-karras"),
    case("euler.g5.tome-2", PROMPTS[0], NEGATIVE, 32, 48, 3, 5.0, 19, "euler",
         tome=dict(ratio=0.5, max_downsample=2)),
]


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


def build(seed):
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT)).eval()
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**TEXT_2)).eval()
    unet = UNet2DConditionModel(**UNET).eval()
    vae = AutoencoderKL(**VAE).eval()
    for index, module in enumerate([text_encoder, text_encoder_2, unet, vae]):
        perturb(module, seed + index)
        round_to_half(module)
    tokenizer = CLIPTokenizer.from_pretrained(os.path.join(ROOT, "tokenizer", "sd1_small"))
    tokenizer_2 = CLIPTokenizer.from_pretrained(os.path.join(ROOT, "tokenizer", "sd2_small"))
    assert tokenizer_2.pad_token_id == 0, tokenizer_2.pad_token_id
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet,
                                     scheduler=EulerDiscreteScheduler.from_config(SDXL_SCHEDULER),
                                     force_zeros_for_empty_prompt=True, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save(pipe):
    """save_pretrained with F16 weights; the tokenizer folders are copied with links to the shared small files."""
    shutil.rmtree(FOLDER, ignore_errors=True)
    pipe.save_pretrained(FOLDER, safe_serialization=True)
    for component, source in [("tokenizer", "sd1_small"), ("tokenizer_2", "sd2_small")]:
        target = os.path.join(FOLDER, component)
        shutil.rmtree(target)
        shutil.copytree(os.path.join(ROOT, "tokenizer", source), target, symlinks=True)
        for name in ("vocab.json", "merges.txt"):
            path = os.path.join(target, name)
            os.remove(path)
            os.symlink(os.path.relpath(os.path.join(ROOT, "tokenizer", "sd1_small", name), target), path)
    for component, weights in [("text_encoder", "model.safetensors"), ("text_encoder_2", "model.safetensors"),
                               ("unet", "diffusion_pytorch_model.safetensors"),
                               ("vae", "diffusion_pytorch_model.safetensors")]:
        path = os.path.join(FOLDER, component, weights)
        save_file({name: tensor.half() for name, tensor in load_file(path).items()}, path)


def run_case(pipe, spec, tensors):
    scheduler_class, options = PRESETS[spec["scheduler"]]
    pipe.scheduler = scheduler_class.from_config(pipe.folder_scheduler_config, **options)
    tomesd.remove_patch(pipe)
    if spec["tome"]:
        tomesd.apply_patch(pipe, **spec["tome"], use_rand=False)
    generator = torch.Generator().manual_seed(spec["seed"])
    kwargs = {}
    if spec["initial_latents"]:
        shape = (1, 4, spec["height"] // pipe.vae_scale_factor, spec["width"] // pipe.vae_scale_factor)
        initial = torch.randn(shape, generator=torch.Generator().manual_seed(spec["seed"] + 1))
        tensors[spec["name"] + ".initial_latents"] = initial
        kwargs["latents"] = initial
    with torch.no_grad():
        latents = pipe(spec["prompt"], negative_prompt=spec["negative_prompt"], height=spec["height"],
                       width=spec["width"], num_inference_steps=spec["steps"], guidance_scale=spec["guidance"],
                       generator=generator, output_type="latent", **kwargs).images
        # The rest of __call__ for output_type="pil" (float32: no upcast; no latents_mean in this VAE's config;
        # no watermark).
        decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
        image = pipe.image_processor.postprocess(decoded, output_type="pil")[0]
    tomesd.remove_patch(pipe)
    tensors[spec["name"] + ".latents"] = latents.contiguous()
    tensors[spec["name"] + ".image"] = torch.from_numpy(np.asarray(image).copy())
    print(f"  {spec['name']}: max |latent| {float(latents.abs().max()):.3f}")


def component_checks(pipe, tensors):
    for index, prompt in enumerate(TEXT_PROMPTS):
        with torch.no_grad():
            embeds, _, pooled, _ = pipe.encode_prompt(prompt, do_classifier_free_guidance=False)
        tensors[f"text.{index}.prompt_embeds"] = embeds.contiguous()
        tensors[f"text.{index}.pooled"] = pooled.contiguous()


def main():
    pipe = build(300)
    save(pipe)
    # As a user's run: the scheduler config as from_pretrained reads it back.
    pipe.folder_scheduler_config = EulerDiscreteScheduler.from_pretrained(FOLDER, subfolder="scheduler").config
    tensors = {}
    component_checks(pipe, tensors)
    for spec in CASES:
        run_case(pipe, spec, tensors)
    save_file(tensors, os.path.join(FOLDER, "cases.safetensors"))
    with open(os.path.join(FOLDER, "cases.json"), "w") as f:
        json.dump({"text_prompts": TEXT_PROMPTS, "cases": CASES}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
