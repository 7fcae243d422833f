"""Reference fixtures for the network-free parts of the Stable Diffusion pipeline.

Writes Tests/Fixtures/sd/{random,tokenizer,schedulers,image}/ from PyTorch, transformers' CLIPTokenizer,
diffusers' schedulers and Pillow. Run by hand from the repository root, with the reference venv:

    "${TOMESD_REFERENCE_PYTHON:-python3}" -m pip install open_clip_torch --no-deps    # ships CLIP's BPE merges
    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_pipeline_part_fixtures.py [random|tokenizer|long_prompts|schedulers|image ...]

With no argument every area is regenerated. Versions used: torch 2.15 (CPU), transformers 5.24,
diffusers 0.42.1, open_clip_torch 3.3.0, Pillow 13. The Swift tests read these files and never need Python.

Tokenizer fixtures: CLIP's real merge list is committed gzip'd once, as the package resource
Sources/StableDiffusion/Resources/clip_merges.txt.gz (~200 KB; the
Swift side inflates it with the package's own DEFLATE decoder and builds the vocabulary the way CLIP does), so
the token ids of the full tokenizer are checked against transformers. The folder-layout fixtures (SD 1, SD 2,
transformers 4 added_tokens_decoder, transformers 5 tokenizer.json) use the first 2000 merges only, which keeps
them small while still exercising every merge rule the corpus reaches; transformers is run on those same files.
"""
import gzip
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "sd")


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def floats(tensor):
    """Float32 values as a flat list of Python floats (exact: float32 -> float64 is lossless)."""
    return [float(x) for x in tensor.detach().reshape(-1).to(torch.float32).tolist()]


# ------------------------------------------------------------------------------------------------ random
def make_random():
    """torch.randn with a seeded CPU generator: several calls per generator, shapes below and above 16 elements."""
    cases = []
    sequences = [
        (0, [[3], [20]]),
        (0, [[15], [2], [1]]),  # the small path caches its spare sample across calls
        (42, [[16], [17], [1, 4, 8, 8]]),
        (1234, [[2, 4, 5, 7], [5], [33]]),  # 280 elements: not a multiple of 16
        (2**32 + 7, [[31]]),  # seeds are truncated to 32 bits by at::mt19937
        (2**63 + 12345, [[1, 4, 16, 16]]),
        (2024, [[1, 4, 64, 64], [1, 4, 64, 64]]),  # SD latents at 512x512: every 41st value is kept
    ]
    for seed, shapes in sequences:
        generator = torch.Generator().manual_seed(seed)
        draws = []
        for shape in shapes:
            values = floats(torch.randn(shape, generator=generator))
            stride = 41 if len(values) > 4096 else 1
            draws.append({"shape": shape, "stride": stride, "values": values[::stride]})
        cases.append({"seed": seed, "draws": draws})
    write_json(os.path.join(FIXTURES, "random", "randn.json"), {"cases": cases})


# ------------------------------------------------------------------------------------------------ image
def make_image():
    """diffusers' decoder-output-to-8-bit conversion, PNG files written by Pillow, and zlib/gzip streams."""
    import base64
    import io
    import zlib

    from diffusers.image_processor import VaeImageProcessor
    from PIL import Image

    out = os.path.join(FIXTURES, "image")
    os.makedirs(out, exist_ok=True)

    # A [2, 3, 6, 9] batch sweeping [-1.2, 1.2] (clamped ends, many near-ties of x*255) plus random values.
    sweep = torch.linspace(-1.2, 1.2, 2 * 3 * 6 * 9 // 2)
    noise = torch.randn(2 * 3 * 6 * 9 // 2, generator=torch.Generator().manual_seed(7)) * 0.7
    decoded = torch.cat([sweep, noise]).reshape(2, 3, 6, 9)
    images = VaeImageProcessor().postprocess(decoded, output_type="pil")
    pixels = [np.asarray(image).reshape(-1).tolist() for image in images]
    write_json(os.path.join(out, "postprocess.json"),
               {"shape": list(decoded.shape), "input": floats(decoded), "pixels": pixels})

    # An RGB image Pillow saves with zlib's dynamic Huffman blocks and its own filter choices.
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:23, 0:37]
    rgb = np.stack([x * 7 % 256, y * 11 % 256, (x * y) % 256], axis=-1).astype(np.int64)
    rgb = np.clip(rgb + rng.integers(-20, 20, size=rgb.shape), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(os.path.join(out, "pillow_rgb_37x23.png"))
    write_json(os.path.join(out, "pillow_rgb_37x23.json"), {"width": 37, "height": 23, "pixels": rgb.reshape(-1).tolist()})

    # zlib at levels 0 (stored blocks), 1 and 9 (fixed/dynamic Huffman) and gzip, of text and of a tiny input.
    text = ("a photo of an astronaut riding a horse on mars, " * 40 + "".join(chr(c) for c in range(32, 127))).encode()
    b64 = lambda data: base64.b64encode(data).decode()
    streams = {"text": b64(text), "tiny": b64(b"ab"),
               "zlib": {f"{name}_level{level}": b64(zlib.compress(data, level))
                        for name, data in (("text", text), ("tiny", b"ab")) for level in (0, 1, 9)},
               "gzip_text": b64(gzip.compress(text, mtime=0))}
    write_json(os.path.join(out, "streams.json"), streams)


# ------------------------------------------------------------------------------------------------ tokenizer
PROMPTS = [
    "a photo of an astronaut riding a horse on mars",
    "",
    "   ",
    "Hello, World!!  it's 2024... I'M \"quoted\" (parens) [brackets] {braces}",
    "naïve café résumé Ωμέγα Straße İstanbul ΣΊΣΥΦΟΣ ǅemal",
    "東京タワー 北京 서울 こんにちは",
    "emoji 🐱🐶👩‍👩‍👧 ❤️ flags 🇫🇷",
    "tabs\tand\nnewlines\r\n and\u00a0nbsp\u3000ideographic\u2029space\u0085nel",
    "numbers 3.14159 1,000,000 ½ ² Ⅻ ٣ 𝟘",
    "contractions: don't won't they're we've I'm you'll he'd 'quoted' 'S 'LL '' 'st",
    "special <|startoftext|> inside <|endoftext|>x<|endoftext|> and <|ENDOFTEXT|> too",
    "a!b!!c !!! ! wow!",
    "a cat, " * 40,
    "e\u0301 vs é; A\u030a vs Å; \u212b; \u1e9b\u0323",
    "URL https://example.com/path?q=1&x=2 — email a@b.co",
    "under_score snake_case camelCase HTMLParser",
    "\u0000 control \u0007 chars \u200b zero-width \ufeff bom \ufffd",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "∑ ∫ √ ≠ ≤ ≥ ∞ → ⇒",
    "Stable-Diffusion v1.5 (8k, hdr:1.2), [[masterpiece]], <lora:x:0.8>",
    "unicode 17 letters \ua7ce\ua7cf and a 16.0 one \U0001e5d0",
    "  leading and   trailing   ",
]


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (as CLIP's tokenizer builds it)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(n) for n in cs]))


def clip_merges():
    """CLIP's 48 894 merges, from open_clip's bpe_simple_vocab_16e6.txt.gz (as CLIP's SimpleTokenizer reads it)."""
    import importlib.util

    package = importlib.util.find_spec("open_clip").submodule_search_locations[0]  # importing it needs torchvision
    path = os.path.join(package, "bpe_simple_vocab_16e6.txt.gz")
    lines = gzip.open(path).read().decode("utf-8").split("\n")
    return lines[1 : 49152 - 256 - 2 + 1]


def write_clip_files(folder, merges):
    """vocab.json + merges.txt as CLIP's vocabulary is built: bytes, bytes + </w>, one token per merge, specials."""
    os.makedirs(folder, exist_ok=True)
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def share_clip_files(folder, shared):
    """Replaces `folder`'s vocab.json and merges.txt, equal to `shared`'s, by relative links to them (one copy in git)."""
    for name in ("vocab.json", "merges.txt"):
        path = os.path.join(folder, name)
        with open(path, "rb") as a, open(os.path.join(shared, name), "rb") as b:
            assert a.read() == b.read(), path
        os.remove(path)
        os.symlink(os.path.relpath(os.path.join(shared, name), folder), path)


def legacy_token(content, with_type):
    token = {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return {"__type": "AddedToken", **token} if with_type else token


def write_legacy_configs(folder, pad):
    """tokenizer_config.json + special_tokens_map.json in the style of the SD 1.x / 2.x repositories."""
    config = {"add_prefix_space": False, "bos_token": legacy_token("<|startoftext|>", True), "do_lower_case": True,
              "eos_token": legacy_token("<|endoftext|>", True), "errors": "replace", "model_max_length": 77,
              "pad_token": "<|endoftext|>", "special_tokens_map_file": "./special_tokens_map.json",
              "tokenizer_class": "CLIPTokenizer", "unk_token": legacy_token("<|endoftext|>", True)}
    special = {"bos_token": legacy_token("<|startoftext|>", False), "eos_token": legacy_token("<|endoftext|>", False),
               "pad_token": pad, "unk_token": legacy_token("<|endoftext|>", False)}
    write_json(os.path.join(folder, "tokenizer_config.json"), config)
    write_json(os.path.join(folder, "special_tokens_map.json"), special)


def write_added_tokens_decoder_config(folder):
    """A transformers 4 style tokenizer_config.json with added_tokens_decoder (SDXL's tokenizer_2 pads with "!")."""
    token = lambda content, normalized: {"content": content, "lstrip": False, "normalized": normalized,
                                         "rstrip": False, "single_word": False, "special": True}
    config = {"add_prefix_space": False,
              "added_tokens_decoder": {"0": token("!", False), "49406": token("<|startoftext|>", True),
                                       "49407": token("<|endoftext|>", False)},
              "bos_token": "<|startoftext|>", "clean_up_tokenization_spaces": True, "do_lower_case": True,
              "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": 77, "pad_token": "!",
              "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>"}
    write_json(os.path.join(folder, "tokenizer_config.json"), config)


def encode_all(tokenizer):
    """What diffusers feeds the text encoder, the untruncated content ids, and their decoded text."""
    ids = [tokenizer(p, padding="max_length", max_length=tokenizer.model_max_length, truncation=True).input_ids
           for p in PROMPTS]
    content = [tokenizer(p, add_special_tokens=False).input_ids for p in PROMPTS]
    return {"ids": ids, "content": content, "decoded": [tokenizer.decode(c) for c in content],
            "pad_token_id": tokenizer.pad_token_id}


def unicode_classes():
    """Per code point: how the pre-tokeniser's regex classes it (L letter, N number, S space, O other, X surrogate),
    and what the normaliser makes of it when it changes."""
    from tokenizers import Regex, normalizers, pre_tokenizers

    pattern = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
    split = pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True)
    normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    classes, normalized = [], {}
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            classes.append("X")
            continue
        c = chr(code)
        pieces = len(split.pre_tokenize_str("a" + c + "a"))  # letter: 1 piece, space: 2, number/other: 3
        if pieces == 3:
            pieces = 4 if len(split.pre_tokenize_str("!" + c + "!")) == 1 else 3  # other: 1 piece
        classes.append({1: "L", 2: "S", 3: "N", 4: "O"}[pieces])
        if normalizer.normalize_str(c) != c:
            normalized[str(code)] = normalizer.normalize_str(c)
    runs, start = [], 0
    for i in range(1, 0x110001):
        if i == 0x110000 or classes[i] != classes[start]:
            runs.append([start, i - 1, classes[start]])
            start = i
    return {"runs": runs, "normalized": normalized}


def make_tokenizer():
    """CLIP's merges (gzip), token ids from transformers' CLIPTokenizer for the full vocabulary and for small
    tokenizer folders in each file layout, and the per-code-point Unicode classes of the pre-tokeniser."""
    from transformers import CLIPTokenizer

    out = os.path.join(FIXTURES, "tokenizer")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    merges = clip_merges()
    # One copy, in the package's resources (the built-in demo pipeline ships it); the tokenizer tests read it there.
    with open(os.path.join(ROOT, "Sources", "StableDiffusion", "Resources", "clip_merges.txt.gz"), "wb") as f:
        f.write(gzip.compress(("#version: 0.2\n" + "\n".join(merges) + "\n").encode(), compresslevel=9, mtime=0))

    expected = {"prompts": PROMPTS}
    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "full")
        write_clip_files(full, merges)
        write_legacy_configs(full, "<|endoftext|>")
        expected["full"] = encode_all(CLIPTokenizer.from_pretrained(full))

    small_merges = merges[:2000]
    for name in ("sd1_small", "sd2_small", "added_tokens_decoder_small"):
        folder = os.path.join(out, name)
        write_clip_files(folder, small_merges)
        if name == "added_tokens_decoder_small":
            write_added_tokens_decoder_config(folder)
        else:
            write_legacy_configs(folder, "!" if name == "sd2_small" else "<|endoftext|>")
        expected[name] = encode_all(CLIPTokenizer.from_pretrained(folder))
        if name != "sd1_small":
            share_clip_files(folder, os.path.join(out, "sd1_small"))
    # transformers 5's own layout: tokenizer.json (+ tokenizer_config.json) from save_pretrained.
    saved = os.path.join(out, "saved_by_transformers5")
    CLIPTokenizer.from_pretrained(os.path.join(out, "sd2_small")).save_pretrained(saved)
    expected["saved_by_transformers5"] = encode_all(CLIPTokenizer.from_pretrained(saved))
    write_json(os.path.join(out, "expected.json"), expected)
    write_json(os.path.join(out, "unicode_classes.json"), unicode_classes())


# One 100 000-character prompt per case, written as a unit repeated and cut (so the fixture stays tiny): words far
# over the limit, one very long word (BPE of the whole word before truncation), runs of punctuation and digits.
LONG_PROMPTS = [("a photo of an astronaut riding a horse on mars, highly detailed, 8k ", 100_000),
                ("xyzzyq", 100_000), ("a", 100_000), ("!?", 100_000), ("1234567890", 100_000),
                ("très détaillé ", 100_000)]


def make_long_prompts():
    """transformers' ids (padding to 77 with truncation, as diffusers calls it) for LONG_PROMPTS, with the full CLIP
    vocabulary built from the committed Sources/StableDiffusion/Resources/clip_merges.txt.gz."""
    from transformers import CLIPTokenizer

    out = os.path.join(FIXTURES, "tokenizer")
    with gzip.open(os.path.join(ROOT, "Sources", "StableDiffusion", "Resources", "clip_merges.txt.gz")) as f:
        merges = f.read().decode("utf-8").split("\n")[1:-1]
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        write_clip_files(tmp, merges)
        write_legacy_configs(tmp, "<|endoftext|>")
        tokenizer = CLIPTokenizer.from_pretrained(tmp)
        for unit, length in LONG_PROMPTS:
            prompt = (unit * (length // len(unit) + 1))[:length]
            ids = tokenizer(prompt, padding="max_length", max_length=77, truncation=True).input_ids
            cases.append({"unit": unit, "length": length, "ids": ids})
    write_json(os.path.join(out, "long_prompts.json"), {"cases": cases})


# ------------------------------------------------------------------------------------------------ schedulers
SD15_SCHEDULER = {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                  "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000, "set_alpha_to_one": False,
                  "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None}
SD2_SCHEDULER = {"_class_name": "DDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                 "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000,
                 "prediction_type": "v_prediction", "set_alpha_to_one": False, "skip_prk_steps": True,
                 "steps_offset": 1, "trained_betas": None}


def with_(config, **changes):
    return {**config, **changes}


# (name, config as in scheduler_config.json, class to switch to with from_config (or None), steps)
SCHEDULER_CASES = [
    ("pndm_sd15", SD15_SCHEDULER, None, 10),
    ("pndm_v_trailing", with_(SD15_SCHEDULER, prediction_type="v_prediction", timestep_spacing="trailing"), None, 10),
    ("pndm_prk_linear", with_(SD15_SCHEDULER, skip_prk_steps=False, beta_schedule="linear", beta_start=0.0001,
                              beta_end=0.02), None, 6),
    ("pndm_linspace_1_step", with_(SD15_SCHEDULER, timestep_spacing="linspace"), None, 1),
    ("ddim_sd15", with_(SD15_SCHEDULER, _class_name="DDIMScheduler"), None, 10),
    ("ddim_sd2_v", SD2_SCHEDULER, None, 10),
    ("ddim_v_trailing_zero_snr", with_(SD2_SCHEDULER, timestep_spacing="trailing", rescale_betas_zero_snr=True), None, 8),
    ("ddim_clip_linspace_cosine", {"_class_name": "DDIMScheduler", "beta_schedule": "squaredcos_cap_v2",
                                   "timestep_spacing": "linspace"}, None, 8),
    ("euler_from_pndm", SD15_SCHEDULER, "EulerDiscreteScheduler", 10),
    ("euler_defaults", with_(SD15_SCHEDULER, _class_name="EulerDiscreteScheduler"), None, 10),
    ("euler_karras_v_trailing", with_(SD2_SCHEDULER, _class_name="EulerDiscreteScheduler", use_karras_sigmas=True,
                                      timestep_spacing="trailing", final_sigmas_type="sigma_min"), None, 10),
    ("euler_ancestral", with_(SD15_SCHEDULER, _class_name="EulerAncestralDiscreteScheduler"), None, 10),
    ("euler_ancestral_v_from_ddim", SD2_SCHEDULER, "EulerAncestralDiscreteScheduler", 10),
    ("dpm_2m", with_(SD15_SCHEDULER, _class_name="DPMSolverMultistepScheduler"), None, 10),
    ("dpm_2m_karras_20", with_(SD15_SCHEDULER, _class_name="DPMSolverMultistepScheduler", use_karras_sigmas=True), None, 20),
    ("dpm_2m_from_pndm_karras", with_(SD15_SCHEDULER, use_karras_sigmas=True), "DPMSolverMultistepScheduler", 12),
    ("dpm_heun_v_trailing_sigma_min", with_(SD2_SCHEDULER, _class_name="DPMSolverMultistepScheduler", solver_type="heun",
                                            timestep_spacing="trailing", final_sigmas_type="sigma_min"), None, 10),
    ("dpm_order1_leading", with_(SD15_SCHEDULER, _class_name="DPMSolverMultistepScheduler", solver_order=1,
                                 timestep_spacing="leading"), None, 6),
    ("dpm_lambda_clipped_cosine", {"_class_name": "DPMSolverMultistepScheduler", "beta_schedule": "squaredcos_cap_v2",
                                   "lambda_min_clipped": -5.1}, None, 10),
    ("dpm_1_step", with_(SD15_SCHEDULER, _class_name="DPMSolverMultistepScheduler"), None, 1),
]


def make_schedulers():
    """Timesteps and every step's output of diffusers' schedulers, fed recorded model outputs (and, for the
    ancestral sampler, recorded noise) on a [1, 4, 2, 3] latent."""
    import diffusers

    short = lambda t: [float("%.9g" % x) for x in floats(t)]  # 9 significant digits: exact for float32
    cases = []
    for name, config, switch_to, steps in SCHEDULER_CASES:
        scheduler = getattr(diffusers, config["_class_name"]).from_config(config)
        if switch_to:
            scheduler = getattr(diffusers, switch_to).from_config(scheduler.config)
        scheduler.set_timesteps(steps)
        inputs = torch.Generator().manual_seed(len(cases))
        noise_generator = torch.Generator().manual_seed(1000 + len(cases))
        shape = [1, 4, 2, 3]
        sample = torch.randn(shape, generator=inputs) * float(scheduler.init_noise_sigma)
        case = {"name": name, "config_json": json.dumps(config), "switch_to": switch_to, "steps": steps,
                "init_noise_sigma": float(scheduler.init_noise_sigma), "timesteps": floats(scheduler.timesteps),
                "shape": shape, "sample": short(sample), "steps_data": []}
        for t in scheduler.timesteps:
            scaled = scheduler.scale_model_input(sample, t)
            model_output = torch.randn(shape, generator=inputs) * 0.8 + 0.1 * scaled  # a stand-in UNet
            record = {"scaled": short(scaled), "model_output": short(model_output)}
            kwargs = {}
            if isinstance(scheduler, diffusers.EulerAncestralDiscreteScheduler):
                # The noise the scheduler is about to draw, from a copy of its generator.
                record["noise"] = short(torch.randn(shape, generator=torch.Generator().set_state(noise_generator.get_state())))
                kwargs["generator"] = noise_generator
            sample = scheduler.step(model_output, t, sample, **kwargs).prev_sample
            record["prev_sample"] = short(sample)
            case["steps_data"].append(record)
        cases.append(case)
    write_json(os.path.join(FIXTURES, "schedulers", "steps.json"), {"cases": cases})


AREAS = {"random": make_random, "image": make_image, "tokenizer": make_tokenizer, "long_prompts": make_long_prompts,
         "schedulers": make_schedulers}

if __name__ == "__main__":
    torch.set_num_threads(1)
    for name in sys.argv[1:] or list(AREAS):
        AREAS[name]()
        print("wrote", name)
