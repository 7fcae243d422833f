"""PyTorch's own bfloat16 error: the accuracy bar for our bf16 path (Tests/Fixtures/sd/bf16_reference.json).

Run by hand from the repository root with the reference venv (CPU only, nothing downloaded; about a minute, plus
the SD 1.5-shaped model: ~20 s and ~6 GB of memory):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_bf16_reference.py [--sd15-dir DIR] [--skip-sd15]

For the same inputs, the relative L2 error ||bf16 - fp32|| / ||fp32|| (in float64) of diffusers in bfloat16 against
diffusers in float32 (the committed fixtures' outputs; the fp32 run is redone here and must reproduce them):

* "unet-sd1", "unet-sd2", "unet-sdxl": per case of Tests/Fixtures/sd/unet-*/cases.safetensors (written by
  make_unet_fixtures.py), `unet.to(torch.bfloat16)` on the case's inputs cast to bfloat16 (sample,
  encoder_hidden_states, and SDXL's text_embeds and time_ids; the timestep stays float32, as a pipeline's
  scheduler hands it over), output cast back to float32, against "<case>.out".
* "pipeline-sd1", "pipeline-sd2": per case of Tests/Fixtures/sd/pipeline-*/cases.json (written by
  make_pipeline_fixtures.py), the whole pipeline in bfloat16 (`pipe.to(torch.bfloat16)`: text encoder, UNet,
  latents and scheduler arithmetic all bfloat16, the seeded noise drawn in bfloat16 by diffusers, explicit initial
  latents cast to bfloat16), final latents (output_type="latent") cast to float32, against "<case>.latents".
* "pipeline-sd1-bf16-models", "pipeline-sd2-bf16-models": the same cases with only the networks in bfloat16 (text
  encoder and UNet; their outputs cast back to float32) while the latents, the noise and the scheduler stay
  float32 -- what a bf16 path that keeps the scheduler in fp32 computes, and the tighter bar for it.
* "sd15-random": an SD 1.5-shaped UNet (diffusers' default initialisation after torch.manual_seed(0), as
  Benchmarks/python/unet_vs_diffusers.py builds it) on one 512x512 input (latents [1, 4, 64, 64], timestep 500,
  encoder_hidden_states [1, 77, 768], torch.Generator seed 0), key "512x512-batch1". With --sd15-dir DIR the model
  (config.json + diffusion_pytorch_model.safetensors, 3.4 GB), its inputs (inputs.safetensors, as `tomesd unet
  --inputs` reads them) and both outputs (out-fp32.safetensors, out-bf16.safetensors, key "sample", NCHW) are written
  there, outside git, so that our bf16 output can be compared against the same fp32 output:
      tomesd unet --model DIR --inputs DIR/inputs.safetensors --output ours.safetensors --precision bf16

"_about" in the JSON records the versions and the CPU capability torch used: bfloat16 results depend on the kernels
(oneDNN uses AVX512-BF16 where the CPU has it), so the figures are this machine's. Versions used: torch 2.15.0,
diffusers 0.42.1, transformers 5.24.0 (Scripts/reference/requirements.txt).
"""

import argparse
import copy
import json
import os
import sys

import diffusers
import torch
import transformers
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_pipeline_fixtures import PRESETS  # noqa: E402  (the scheduler presets, one home)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "sd")
OUTPUT = os.path.join(ROOT, "bf16_reference.json")
SD15 = {"cross_attention_dim": 768, "sample_size": 64}  # as Benchmarks/python/unet_vs_diffusers.py

torch.set_num_threads(1)
diffusers.utils.logging.set_verbosity_error()  # keeps the progress bars and cast warnings out of the output
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


def relative_error(value, reference):
    value, reference = value.double(), reference.double()
    return float((value - reference).norm() / reference.norm())


def unet_inputs(tensors, case, dtype):
    """The forward's arguments for one case, floats in `dtype` except the timestep (float32, or a Python float)."""
    timestep = tensors[f"{case}.timestep"]
    kwargs = {}
    if f"{case}.text_embeds" in tensors:
        kwargs["added_cond_kwargs"] = {"text_embeds": tensors[f"{case}.text_embeds"].to(dtype),
                                       "time_ids": tensors[f"{case}.time_ids"].to(dtype)}
    return (tensors[f"{case}.sample"].to(dtype), float(timestep) if timestep.dim() == 0 else timestep,
            tensors[f"{case}.encoder_hidden_states"].to(dtype)), kwargs


def unet_errors(name):
    folder = os.path.join(ROOT, name)
    model = UNet2DConditionModel.from_pretrained(folder).eval()
    half = copy.deepcopy(model).to(torch.bfloat16)
    tensors = load_file(os.path.join(folder, "cases.safetensors"))
    errors = {}
    for case in sorted({key.split(".")[0] for key in tensors if key.endswith(".sample")}):
        reference = tensors[f"{case}.out"]
        with torch.no_grad():
            args, kwargs = unet_inputs(tensors, case, torch.float32)
            fp32 = model(*args, **kwargs).sample
            args, kwargs = unet_inputs(tensors, case, torch.bfloat16)
            bf16 = half(*args, **kwargs).sample.float()
        assert relative_error(fp32, reference) < 1e-6, f"{name}/{case}: the fp32 rerun does not reproduce the fixture"
        errors[case] = relative_error(bf16, reference)
        print(f"  {name}/{case}: {errors[case]:.4e}", flush=True)
    return errors


def unet_in_bf16(pipe):
    """The pipeline's UNet in bfloat16, called with and returning float32, so the latents and the scheduler stay
    float32 (the text encoder stays float32 too: `generate` hands it the bf16 text encoder's embeddings)."""
    unet = pipe.unet.to(torch.bfloat16)
    forward = unet.forward

    def denoise(sample, timestep, encoder_hidden_states, *args, **kwargs):
        output = forward(sample.to(torch.bfloat16), timestep, encoder_hidden_states.to(torch.bfloat16), *args, **kwargs)
        return (output[0].float(),) if isinstance(output, tuple) else output.__class__(sample=output.sample.float())

    unet.forward = denoise
    return pipe


def generate(pipe, case, initial, scheduler_config, dtype, encoder=None):
    """Final latents (float32) of one case; with `encoder`, the prompt embeddings come from that pipeline's text
    encoder, cast to float32 (prepare_latents takes the embeddings' dtype)."""
    scheduler_class, options = PRESETS[case["scheduler"]]
    pipe.scheduler = scheduler_class.from_config(scheduler_config, **options)
    kwargs = {"latents": initial.to(dtype)} if initial is not None else {}
    prompt, negative_prompt = case["prompt"], case["negative_prompt"]
    with torch.no_grad():
        if encoder is not None:
            positive, negative = encoder.encode_prompt(prompt, "cpu", 1, case["guidance"] > 1,
                                                       negative_prompt=negative_prompt)
            kwargs["prompt_embeds"] = positive.float()
            if negative is not None:
                kwargs["negative_prompt_embeds"] = negative.float()
            prompt, negative_prompt = None, None
        return pipe(prompt, negative_prompt=negative_prompt, height=case["height"], width=case["width"],
                    num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                    generator=torch.Generator().manual_seed(case["seed"]), output_type="latent",
                    **kwargs).images.float()


def load_pipeline(folder):
    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pipeline_errors(name):
    folder = os.path.join(ROOT, name)
    with open(os.path.join(folder, "cases.json")) as f:
        cases = json.load(f)["cases"]
    tensors = load_file(os.path.join(folder, "cases.safetensors"))
    fp32 = load_pipeline(folder)
    scheduler_config = fp32.scheduler.config  # as from_pretrained reads it back, as make_pipeline_fixtures.py
    whole = load_pipeline(folder).to(torch.bfloat16)
    models = unet_in_bf16(load_pipeline(folder))
    errors = {name: {}, f"{name}-bf16-models": {}}
    for case in cases:
        initial = tensors.get(case["name"] + ".initial_latents")
        reference = tensors[case["name"] + ".latents"]
        rerun = generate(fp32, case, initial, scheduler_config, torch.float32)
        assert relative_error(rerun, reference) < 1e-6, f"{name}/{case['name']}: the fp32 rerun does not reproduce the fixture"
        errors[name][case["name"]] = relative_error(generate(whole, case, initial, scheduler_config, torch.bfloat16),
                                                    reference)
        errors[f"{name}-bf16-models"][case["name"]] = relative_error(
            generate(models, case, initial, scheduler_config, torch.float32, encoder=whole), reference)
        print(f"  {name}/{case['name']}: whole pipeline {errors[name][case['name']]:.4e}, "
              f"networks only {errors[name + '-bf16-models'][case['name']]:.4e}", flush=True)
    return errors


def sd15_errors(folder):
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = UNet2DConditionModel(**SD15).eval()
    generator = torch.Generator().manual_seed(0)
    inputs = {"sample": torch.randn(1, 4, 64, 64, generator=generator), "timestep": torch.full((1,), 500.0),
              "encoder_hidden_states": torch.randn(1, 77, 768, generator=generator)}
    with torch.no_grad():
        fp32 = model(inputs["sample"], inputs["timestep"], inputs["encoder_hidden_states"]).sample
        if folder:
            model.save_pretrained(folder, safe_serialization=True)
        model.to(torch.bfloat16)
        bf16 = model(inputs["sample"].to(torch.bfloat16), inputs["timestep"],
                     inputs["encoder_hidden_states"].to(torch.bfloat16)).sample.float()
    if folder:
        save_file(inputs, os.path.join(folder, "inputs.safetensors"))
        save_file({"sample": fp32.contiguous()}, os.path.join(folder, "out-fp32.safetensors"))
        save_file({"sample": bf16.contiguous()}, os.path.join(folder, "out-bf16.safetensors"))
    error = relative_error(bf16, fp32)
    print(f"  sd15-random/512x512-batch1: {error:.4e}", flush=True)
    torch.set_num_threads(1)
    return {"512x512-batch1": error}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sd15-dir", help="write the SD 1.5-shaped model, its inputs and outputs here (outside git)")
    parser.add_argument("--skip-sd15", action="store_true", help="keep the committed sd15-random figure")
    args = parser.parse_args()

    result = {}
    if os.path.exists(OUTPUT):
        with open(OUTPUT) as f:
            result = json.load(f)
    result["_about"] = (f"relative L2 error of diffusers in bfloat16 against float32 on the same inputs; torch "
                        f"{torch.__version__.split('+')[0]}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
                        f"written by Scripts/reference/make_bf16_reference.py")
    for name in ("unet-sd1", "unet-sd2", "unet-sdxl"):
        result[name] = unet_errors(name)
    for name in ("pipeline-sd1", "pipeline-sd2"):
        result.update(pipeline_errors(name))
    if not args.skip_sd15:
        if args.sd15_dir:
            os.makedirs(args.sd15_dir, exist_ok=True)
        result["sd15-random"] = sd15_errors(args.sd15_dir)
    with open(OUTPUT, "w") as f:
        json.dump({key: result[key] for key in sorted(result)}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
