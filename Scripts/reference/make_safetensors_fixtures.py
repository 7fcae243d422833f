#!/usr/bin/env python3
"""Ground truth for the safetensors reader: files written (or read back) by the Python `safetensors` package.

Run by hand from the repository root with the reference venv (torch, safetensors 0.8):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_safetensors_fixtures.py

It rewrites Tests/Fixtures/tensorcore/:

  dtypes.safetensors      written by safetensors.torch.save_file, metadata {"format": "pt", "note": <unicode>}:
    f32            F32 [2, 3]   ordinary values, -0.0, +Inf
    f16_all        F16 [65536]  every binary16 bit pattern, in order (subnormals, ±Inf, NaNs, -0 included)
    f16_all_as_f32 F32 [65536]  torch's conversion of f16_all to float32
    bf16           BF16 [16]    zeros, ±1, subnormals, extremes, ±Inf, quiet and signalling NaNs, ordinary values
    bf16_as_f32    F32 [16]     torch's conversion of bf16
    f64            F64 [10]     values that round, overflow to Inf, underflow to 0 or a float32 subnormal, NaN
    f64_as_f32     F32 [10]     torch's conversion of f64 (round to nearest even)
    i64            I64 [3, 2]   extremes of int64
    i32            I32 [4]      extremes of int32
    u8             U8 [5]
    i16            I16 [3]      extremes of int16, -1
    i8             I8 [3]       extremes of int8, 0
    bool           BOOL [3]
    empty          F32 [0]
    empty_2d       F16 [2, 0, 3]
    scalar         F32 []

  unaligned.safetensors   assembled byte by byte here (the Python writer always aligns): a header of odd length
                          with no padding, so the data section starts at an odd offset, and tensors in the order
                          u8 [3], f32 [5], f16 [3], bf16 [2], f64 [2], i64 [2], i32 [1], so almost every tensor
                          starts at an offset that is not a multiple of its element size. safetensors loads it;
  unaligned_expected.safetensors  what safetensors.torch.load_file read from it: floats as F32 (torch's
                          conversion), integers as I64, under the same names.
"""
import json
import os
import struct

import numpy as np
import torch
from safetensors.torch import load_file, save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "tensorcore")


def bf16_from_bits(bits):
    return torch.tensor(np.array(bits, dtype=np.uint16).view(np.int16)).view(torch.bfloat16)


def write_dtypes():
    f16_all = torch.from_numpy(np.arange(65536, dtype=np.uint16).view(np.float16).copy())
    bf16 = bf16_from_bits([0x0000, 0x8000, 0x3F80, 0xBF80, 0x0001, 0x007F, 0x0080, 0x7F7F,
                           0xFF7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFC1, 0x4049, 0xC2F7])
    f64 = torch.tensor([0.1, -2.5, 1e300, -1e300, 1e-50, -1e-50, 1e-40, 1.0 + 2.0**-24, 3.4028235677973366e38, float("nan")],
                       dtype=torch.float64)
    tensors = {
        "f32": torch.tensor([[1.5, -2.25, 3.0e-39], [-0.0, float("inf"), 65504.0]], dtype=torch.float32),
        "f16_all": f16_all,
        "f16_all_as_f32": f16_all.float(),
        "bf16": bf16,
        "bf16_as_f32": bf16.float(),
        "f64": f64,
        "f64_as_f32": f64.float(),
        "i64": torch.tensor([[-(2**63), 2**63 - 1], [-1, 0], [2**40, -(2**40)]], dtype=torch.int64),
        "i32": torch.tensor([-(2**31), 2**31 - 1, -7, 0], dtype=torch.int32),
        "u8": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
        "i16": torch.tensor([-(2**15), 2**15 - 1, -1], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, 0], dtype=torch.int8),
        "bool": torch.tensor([True, False, True], dtype=torch.bool),
        "empty": torch.zeros(0, dtype=torch.float32),
        "empty_2d": torch.zeros(2, 0, 3, dtype=torch.float16),
        "scalar": torch.tensor(-4.75, dtype=torch.float32),
    }
    save_file(tensors, os.path.join(OUT, "dtypes.safetensors"),
              metadata={"format": "pt", "note": "grüße \"quoted\" \\ ✓"})


def write_unaligned():
    parts = [
        ("u8", "U8", [3], np.array([7, 200, 0], dtype=np.uint8)),
        ("f32", "F32", [5], np.array([1.0, -0.5, 3.25e-40, np.inf, -123456.78], dtype=np.float32)),
        ("f16", "F16", [3], np.array([0.333, -65504.0, 6.0e-8], dtype=np.float16)),
        ("bf16", "BF16", [2], np.array([0x3FC0, 0xC0A0], dtype=np.uint16)),  # 1.5, -5.0
        ("f64", "F64", [2], np.array([np.pi, -1e-310], dtype=np.float64)),
        ("i64", "I64", [2], np.array([-3, 2**62], dtype=np.int64)),
        ("i32", "I32", [1], np.array([-2**31], dtype=np.int32)),
    ]
    header, data = {}, b""
    for name, dtype, shape, values in parts:
        raw = values.astype(values.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":"))
    if len(text) % 2 == 0:
        text += " "  # make the header length odd, so the data section starts at an odd file offset
    encoded = text.encode()
    path = os.path.join(OUT, "unaligned.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + data)

    loaded = load_file(path)
    expected = {name: (t.float() if t.is_floating_point() else t.to(torch.int64)) for name, t in loaded.items()}
    save_file(expected, os.path.join(OUT, "unaligned_expected.safetensors"))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_dtypes()
    write_unaligned()
    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
