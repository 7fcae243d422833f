"""Reference fixtures for image-to-image, several images per prompt and the VAE encoder
(Tests/StableDiffusionTests/ImageToImageTests.swift, VAEEncoderTests.swift).

Run by hand from the repository root (CPU only, nothing downloaded, a few seconds), after make_pipeline_fixtures.py:

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_img2img_fixtures.py

Versions used: torch 2.15, diffusers 0.42.1, transformers 5.24, tomesd 0.1.3.

It rebuilds the two tiny pipelines of make_pipeline_fixtures.py (the same seeds, hence the same float16-rounded
weights as the committed folders Tests/Fixtures/sd/pipeline-sd1 and pipeline-sd2, which it checks against the VAE
weight files: those already hold the encoder's weights, so no weight file changes) and writes into each folder:

* init-image.png -- a small deterministic RGB test image of the pipeline's size (smooth gradients, a disc, a little
  noise), the image every image-to-image case starts from (read back through PIL as a user would pass it).
* img2img.json -- the cases: name, mode ("img2img" or "txt2img"), prompt, negative prompt, steps, guidance, seed,
  scheduler preset (as `tomesd generate --scheduler` names it), strength (img2img), num_images_per_prompt, tome
  (ratio of tomesd.apply_patch(pipe, ratio, use_rand=False), or null), height and width.
* img2img.safetensors -- per case "<name>.latents" (the final latents, output_type="latent", NCHW,
  [num_images, 4, h, w]) and "<name>.image" (U8 [num_images, H, W, 3], the PIL images); and the VAE encoder check:
  "vae.encode.input" (NCHW images in [-1, 1], batch 2), "vae.encode.mean", "vae.encode.logvar", "vae.encode.std"
  (vae.encode(x).latent_dist, NCHW) and "vae.encode.sample" (latent_dist.sample(torch.Generator().manual_seed(3))).

Image-to-image cases run diffusers' StableDiffusionImg2ImgPipeline (from_pipe of the text-to-image pipeline) with
image=<init-image.png>, strength, and generator=torch.Generator().manual_seed(seed); text-to-image cases run
StableDiffusionPipeline with num_images_per_prompt. Schedulers are `Class.from_config(saved config, **options)` as
make_pipeline_fixtures.py makes them.
"""

import json
import os
import sys

import numpy as np
import torch
import tomesd
from diffusers import StableDiffusionImg2ImgPipeline
from PIL import Image
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_pipeline_fixtures as base  # noqa: E402

torch.set_num_threads(1)

PROMPT = "a photograph of an astronaut riding a horse"
OTHER = "a red cube, on a table; 3 apples!"

# name, mode, scheduler, steps, guidance, strength, images per prompt, tome ratio, negative prompt, prompt
CASES = [
    ("pndm.s0.75", "img2img", "pndm", 4, 7.5, 0.75, 1, None, base.NEGATIVE, PROMPT),
    ("ddim.s0.3", "img2img", "ddim", 7, 7.5, 0.3, 1, None, None, OTHER),
    ("euler.s1.0.g1", "img2img", "euler", 3, 1.0, 1.0, 1, None, None, PROMPT),
    ("dpm++2m-karras.s0.75.n2", "img2img", "dpm++2m-karras", 4, 7.5, 0.75, 2, None, None, OTHER),
    ("euler-a.s0.75.n2", "img2img", "euler-a", 4, 7.5, 0.75, 2, None, base.NEGATIVE, PROMPT),
    ("dpm++2m.s0.3", "img2img", "dpm++2m", 10, 7.5, 0.3, 1, None, None, PROMPT),
    ("tome.pndm.s0.75", "img2img", "pndm", 4, 7.5, 0.75, 1, 0.5, None, OTHER),
    ("txt2img.ddim.n2", "txt2img", "ddim", 3, 7.5, None, 2, None, None, PROMPT),
    ("txt2img.euler-a.n2.g1", "txt2img", "euler-a", 3, 1.0, None, 2, None, None, OTHER),
]


def init_image(height, width):
    """Smooth colour gradients, a bright disc and a little noise: structure the encoder can see."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    red = 255 * x / max(width - 1, 1)
    green = 255 * y / max(height - 1, 1)
    blue = 127 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    disc = ((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) < (min(height, width) * 0.25) ** 2
    image = np.stack([red, green, blue], axis=-1)
    image[disc] = [240, 230, 90]
    image += np.random.default_rng(3).normal(0, 6, image.shape)
    return Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8), "RGB")


def check_vae_weights(pipe, folder):
    """The rebuilt VAE must be the committed one (encoder included): same values as the saved F16 file."""
    stored = load_file(os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors"))
    legacy = {".attentions.0.query.": ".attentions.0.to_q.", ".attentions.0.key.": ".attentions.0.to_k.",
              ".attentions.0.value.": ".attentions.0.to_v.", ".attentions.0.proj_attn.": ".attentions.0.to_out.0."}
    state = pipe.vae.state_dict()
    encoder_keys = [k for k in state if k.startswith("encoder.") or k.startswith("quant_conv.")]
    assert encoder_keys
    seen = set()
    for name, tensor in stored.items():
        for old, new in legacy.items():
            name = name.replace(old, new)
        assert torch.equal(tensor.float(), state[name].float().reshape(tensor.shape)), name
        seen.add(name)
    assert set(encoder_keys) <= seen, "the VAE file lacks encoder weights"


def encoder_check(pipe, height, width, tensors):
    generator = torch.Generator().manual_seed(11)
    x = torch.rand((2, 3, height, width), generator=generator) * 2 - 1
    with torch.no_grad():
        dist = pipe.vae.encode(x).latent_dist
        sample = dist.sample(torch.Generator().manual_seed(3))
    tensors["vae.encode.input"] = x.contiguous()
    tensors["vae.encode.mean"] = dist.mean.contiguous()
    tensors["vae.encode.logvar"] = dist.logvar.contiguous()
    tensors["vae.encode.std"] = dist.std.contiguous()
    tensors["vae.encode.sample"] = sample.contiguous()


def run_case(txt2img, img2img, case, image, tensors):
    name, mode, preset, steps, guidance, strength, count, tome, negative, prompt = case
    scheduler_class, options = base.PRESETS[preset]
    pipe = img2img if mode == "img2img" else txt2img
    pipe.scheduler = scheduler_class.from_config(txt2img.folder_scheduler_config, **options)
    if tome is not None:
        tomesd.apply_patch(pipe, ratio=tome, use_rand=False)
    kwargs = dict(negative_prompt=negative, num_inference_steps=steps, guidance_scale=guidance,
                  num_images_per_prompt=count, generator=torch.Generator().manual_seed(1000 + len(tensors)),
                  output_type="latent")
    seed = kwargs["generator"].initial_seed()
    if mode == "img2img":
        kwargs.update(image=image, strength=strength)
    else:
        kwargs.update(height=image.height, width=image.width)
    with torch.no_grad():
        latents = pipe(prompt, **kwargs).images
        decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
        images = pipe.image_processor.postprocess(decoded, output_type="pil", do_denormalize=[True] * count)
    if tome is not None:
        tomesd.remove_patch(pipe)
    tensors[name + ".latents"] = latents.contiguous()
    tensors[name + ".image"] = torch.from_numpy(np.stack([np.asarray(i) for i in images]).copy())
    print(f"  {name}: latents {tuple(latents.shape)}, max |latent| {float(latents.abs().max()):.3f}")
    return dict(name=name, mode=mode, scheduler=preset, steps=steps, guidance=guidance, strength=strength,
                num_images=count, tome=tome, negative_prompt=negative, prompt=prompt, seed=seed,
                height=image.height, width=image.width)


def main():
    for index, style in enumerate(base.STYLES):
        print(style)
        folder = os.path.join(base.ROOT, f"pipeline-{style}")
        txt2img = base.build(style, 100 + index)
        check_vae_weights(txt2img, folder)
        scheduler_class = base.STYLES[style]["scheduler"][0]
        txt2img.folder_scheduler_config = scheduler_class.from_pretrained(folder, subfolder="scheduler").config
        img2img = StableDiffusionImg2ImgPipeline.from_pipe(txt2img)
        img2img.set_progress_bar_config(disable=True)
        height, width = base.STYLES[style]["size"]
        path = os.path.join(folder, "init-image.png")
        init_image(height, width).save(path)
        image = Image.open(path).convert("RGB")
        tensors = {}
        encoder_check(txt2img, height, width, tensors)
        cases = [run_case(txt2img, img2img, case, image, tensors) for case in CASES]
        save_file(tensors, os.path.join(folder, "img2img.safetensors"))
        with open(os.path.join(folder, "img2img.json"), "w") as f:
            json.dump({"cases": cases}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
