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


AREAS = {"random": make_random}

if __name__ == "__main__":
    torch.set_num_threads(1)
    for name in sys.argv[1:] or list(AREAS):
        AREAS[name]()
        print("wrote", name)
