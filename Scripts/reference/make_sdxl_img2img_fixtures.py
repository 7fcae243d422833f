"""Reference fixtures for SDXL image-to-image (Tests/StableDiffusionTests/ImageToImageTests.swift).

Run by hand from the repository root (CPU only, nothing downloaded, a few seconds), after
make_sdxl_pipeline_fixtures.py:

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_sdxl_img2img_fixtures.py

Versions used: torch 2.15, diffusers 0.42.1, transformers 5.24.

It loads the committed tiny SDXL folder Tests/Fixtures/sd/pipeline-sdxl into diffusers'
StableDiffusionXLImg2ImgPipeline (`from_pretrained(folder, add_watermarker=False)`: the same float16-rounded
weights, run in float32; the VAE file holds the encoder) and writes beside its other fixtures, in the layout of
make_img2img_fixtures.py:

* init-image.png -- make_img2img_fixtures.init_image(32, 48): the image every case starts from.
* img2img.json -- the cases: name, mode ("img2img"), prompt, negative prompt (null: none given, which
  force_zeros_for_empty_prompt turns into zero embeddings), steps, guidance, seed, scheduler preset, strength,
  num_images_per_prompt, tome (null), height and width.
* img2img.safetensors -- per case "<name>.latents" (final latents, output_type="latent", NCHW) and "<name>.image"
  (U8 [num_images, H, W, 3]).

Each case runs pipe(prompt, image=<init-image.png>, strength, num_inference_steps, guidance_scale,
negative_prompt, num_images_per_prompt, generator=torch.Generator().manual_seed(seed)); the size conditioning is
diffusers' default for image-to-image (original and target size: the image's; no aesthetic score, as SDXL base's
requires_aesthetics_score is false).
"""

import json
import os
import sys

import numpy as np
import torch
from diffusers import StableDiffusionXLImg2ImgPipeline
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_img2img_fixtures as sd_img2img  # noqa: E402
import make_sdxl_pipeline_fixtures as sdxl  # noqa: E402

torch.set_num_threads(1)

# name, scheduler, steps, guidance, strength, images per prompt, negative prompt, prompt, seed
CASES = [
    ("euler.s0.3.zeros", "euler", 10, 5.0, 0.3, 1, None, sdxl.PROMPTS[0], 21),
    ("euler-a.s0.75.n2.negative", "euler-a", 4, 6.0, 0.75, 2, sdxl.NEGATIVE, sdxl.PROMPTS[1], 22),
    ("ddim.s1.0.g1", "ddim", 3, 1.0, 1.0, 1, None, sdxl.PROMPTS[0], 23),
    ("dpm++2m-karras.s0.5.empty-negative", "dpm++2m-karras", 6, 4.0, 0.5, 1, "", sdxl.PROMPTS[1], 24),
    ("pndm.s0.75.negative", "pndm", 4, 7.0, 0.75, 1, sdxl.NEGATIVE, sdxl.PROMPTS[0], 25),
]


def main():
    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(sdxl.FOLDER, add_watermarker=False)
    pipe.set_progress_bar_config(disable=True)
    saved_scheduler = dict(pipe.scheduler.config)
    image = sd_img2img.init_image(32, 48)
    image.save(os.path.join(sdxl.FOLDER, "init-image.png"))
    tensors, cases = {}, []
    for name, preset, steps, guidance, strength, count, negative, prompt, seed in CASES:
        scheduler_class, options = sdxl.PRESETS[preset]
        pipe.scheduler = scheduler_class.from_config(saved_scheduler, **options)
        with torch.no_grad():
            latents = pipe(prompt, image=image, strength=strength, num_inference_steps=steps, guidance_scale=guidance,
                           negative_prompt=negative, num_images_per_prompt=count,
                           generator=torch.Generator().manual_seed(seed), output_type="latent").images
            decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
            images = pipe.image_processor.postprocess(decoded, output_type="pil")
        tensors[name + ".latents"] = latents.contiguous()
        tensors[name + ".image"] = torch.from_numpy(np.stack([np.asarray(i) for i in images]).copy())
        print(f"  {name}: latents {tuple(latents.shape)}, max |latent| {float(latents.abs().max()):.3f}")
        cases.append(dict(name=name, mode="img2img", scheduler=preset, steps=steps, guidance=guidance,
                          strength=strength, num_images=count, tome=None, negative_prompt=negative, prompt=prompt,
                          seed=seed, height=image.height, width=image.width))
    save_file(tensors, os.path.join(sdxl.FOLDER, "img2img.safetensors"))
    with open(os.path.join(sdxl.FOLDER, "img2img.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
