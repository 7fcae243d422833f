"""Reference fixtures for the network-free parts of the Stable Diffusion pipeline.

Writes Tests/Fixtures/sd/{random,tokenizer,schedulers,image}/ from PyTorch, transformers' CLIPTokenizer,
diffusers' schedulers and Pillow. Run by hand from the repository root, with the reference venv:

    /work/.venv-ref/bin/pip install open_clip_torch --no-deps    # ships CLIP's BPE merges
    /work/.venv-ref/bin/python Scripts/reference/make_pipeline_part_fixtures.py [random|tokenizer|schedulers|image ...]

With no argument every area is regenerated. Versions used: torch 2.15 (CPU), transformers 5.24,
diffusers 0.42.1, open_clip_torch 3.3.0, Pillow 13. The Swift tests read these files and never need Python.
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


AREAS = {"random": make_random, "image": make_image}

if __name__ == "__main__":
    torch.set_num_threads(1)
    for name in sys.argv[1:] or list(AREAS):
        AREAS[name]()
        print("wrote", name)
