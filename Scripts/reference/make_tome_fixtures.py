#!/usr/bin/env python3
"""Ground truth for the ToMe core: runs tomesd 0.1.3's bipartite_soft_matching_random2d and writes what it did.

Run by hand from the repository root with the reference venv (torch, tomesd 0.1.3, safetensors):

    "${TOMESD_REFERENCE_PYTHON:-python3}" Scripts/reference/make_tome_fixtures.py

It rewrites Tests/Fixtures/tome/*.safetensors, one file per case (name = the case's key), each holding
  x             F32 [B, N, C]   the input (used as metric and as the merged tensor, as tomesd's patch does)
  merged        F32 [B, N-r, C] tomesd's m(x)
  restored      F32 [B, N, C]   tomesd's u(m(x))
  merged_token  I64 [B, N-r]    the token that identifies each merged row (the kept source, or the destination),
                                so rows can be compared whatever their order (tomesd's argsort is not stable)
  role          I64 [B, N]      per token: -1 destination, -2 kept source, t >= 0 merged into destination token t
  cell_choices  I64 [cells]     the destination chosen in each cell (torch's rand_idx, drawn from a clone of the
                                generator tomesd then draws from; all 0 for no_rand)
and metadata h, w, sx, sy, ratio, r (= int(N * ratio), before tomesd clamps it), random ("1"/"0").
Reruns give the same tensors (fixed seeds); only the order of the metadata keys in the header may change.

Inputs are redrawn (next seed) until the plan is unambiguous in float64: every merged source's best destination
beats the runner-up by more than MARGIN, and the r-th and (r+1)-th ranked sources differ by more than MARGIN, so
fp32 rounding cannot flip a decision and the fixture tests semantics, not rounding luck. The float64 plan must
equal tomesd's.
"""
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from tomesd.merge import bipartite_soft_matching_random2d

MARGIN = 1e-5
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "tome")

# name: (h, w, sx, sy, ratio, B, C, random, data)
CASES = {
    "grid8x8_s2_r50_b2_c8_rand": (8, 8, 2, 2, 0.5, 2, 8, True, "randn"),
    "grid8x8_s2_r50_b2_c8_norand": (8, 8, 2, 2, 0.5, 2, 8, False, "randn"),
    "grid16x16_s2_r75_b2_c8_rand": (16, 16, 2, 2, 0.75, 2, 8, True, "randn"),
    "grid13x17_s2_r50_b1_c8_rand": (13, 17, 2, 2, 0.5, 1, 8, True, "randn"),
    "grid13x17_s3_r50_b2_c8_norand": (13, 17, 3, 3, 0.5, 2, 8, False, "randn"),
    "grid7x5_s2_r75_b3_c8_rand": (7, 5, 2, 2, 0.75, 3, 8, True, "randn"),
    "grid7x5_sx3sy2_r10_b2_c8_norand": (7, 5, 3, 2, 0.1, 2, 8, False, "randn"),
    "grid9x11_sx2sy3_r10_b3_c8_rand": (9, 11, 2, 3, 0.1, 3, 8, True, "randn"),
    "grid12x9_s3_r90_b2_c8_rand": (12, 9, 3, 3, 0.9, 2, 8, True, "randn"),  # above the 1 - 1/9 cap
    "grid6x10_sx1sy2_r50_b1_c8_rand": (6, 10, 1, 2, 0.5, 1, 8, True, "randn"),
    "grid5x7_sx2sy1_r60_b2_c8_norand": (5, 7, 2, 1, 0.6, 2, 8, False, "randn"),  # above the 1/2 cap
    "grid4x6_s1_r50_b1_c8_rand": (4, 6, 1, 1, 0.5, 1, 8, True, "randn"),  # every token a destination
    "grid4x4_s2_r50_b1_c320_rand": (4, 4, 2, 2, 0.5, 1, 320, True, "randn"),
    "grid5x6_s2_r75_b2_c320_norand": (5, 6, 2, 2, 0.75, 2, 320, False, "randn"),
    "grid3x7_sx3sy1_r50_b1_c320_rand": (3, 7, 3, 1, 0.5, 1, 320, True, "randn"),
    "grid6x6_s2_r50_b1_c320_common": (6, 6, 2, 2, 0.5, 1, 320, True, "common"),  # shared component: cos ~ 0.9
}


def draw(seed, B, N, C, data):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, C, generator=g)
    if data == "common":
        x = x + 3 * torch.randn(C, generator=g)
    return x


def float64_plan(x, cell_choices, h, w, sx, sy, r):
    """Roles per token from a float64 re-implementation, or None when a decision is within MARGIN."""
    B, N, C = x.shape
    hsy, wsx = h // sy, w // sx
    is_dst = np.zeros((h, w), bool)
    for cell, k in enumerate(cell_choices):
        is_dst[(cell // wsx) * sy + k // sx, (cell % wsx) * sx + k % sx] = True
    dst = np.flatnonzero(is_dst.ravel())
    src = np.flatnonzero(~is_dst.ravel())
    r = min(r, len(src))
    roles = np.full((B, N), -1, np.int64)
    for b in range(B):
        y = x[b].double().numpy()
        y = y / np.linalg.norm(y, axis=1, keepdims=True)
        scores = y[src] @ y[dst].T
        order = np.argsort(-scores, axis=1)
        best = order[:, 0]
        node = scores[np.arange(len(src)), best]
        ranked = np.argsort(-node, kind="stable")
        merged = ranked[:r]
        if len(dst) > 1 and np.any(scores[merged, order[merged, 0]] - scores[merged, order[merged, 1]] <= MARGIN):
            return None
        if 0 < r < len(src) and node[ranked[r - 1]] - node[ranked[r]] <= MARGIN:
            return None
        roles[b, src] = -2
        roles[b, src[merged]] = dst[best[merged]]
    return roles


def tomesd_plan(m):
    """tomesd's index tensors, read from the merge closure's cells."""
    cells = dict(zip(m.__code__.co_freevars, (c.cell_contents for c in m.__closure__)))
    split = cells["split"]
    split_cells = dict(zip(split.__code__.co_freevars, (c.cell_contents for c in split.__closure__)))
    return split_cells["a_idx"][0, :, 0], split_cells["b_idx"][0, :, 0], cells["unm_idx"][..., 0], \
        cells["src_idx"][..., 0], cells["dst_idx"][..., 0]


def make(name, h, w, sx, sy, ratio, B, C, random, data):
    N = h * w
    r = int(N * ratio)
    hsy, wsx = h // sy, w // sx
    for seed in range(1000):
        x = draw(seed, B, N, C, data)
        generator = torch.Generator().manual_seed(10_000 + seed)
        if random:
            clone = torch.Generator().set_state(generator.get_state())
            cell_choices = torch.randint(sy * sx, size=(hsy, wsx, 1), generator=clone).reshape(-1)
        else:
            cell_choices = torch.zeros(hsy * wsx, dtype=torch.int64)
        roles = float64_plan(x, cell_choices.tolist(), h, w, sx, sy, r)
        if roles is not None:
            break
    else:
        sys.exit(f"{name}: no unambiguous input in 1000 seeds")

    m, u = bipartite_soft_matching_random2d(x, w, h, sx, sy, r, no_rand=not random, generator=generator)
    merged = m(x)
    restored = u(merged)
    a_idx, b_idx, unm_idx, src_idx, dst_idx = tomesd_plan(m)
    tomesd_roles = torch.full((B, N), -1, dtype=torch.int64)
    merged_token = torch.empty(B, merged.shape[1], dtype=torch.int64)
    for b in range(B):
        tomesd_roles[b, a_idx[unm_idx[b]]] = -2
        tomesd_roles[b, a_idx[src_idx[b]]] = b_idx[dst_idx[b]]
        merged_token[b] = torch.cat([a_idx[unm_idx[b]], b_idx])
    assert np.array_equal(tomesd_roles.numpy(), roles), f"{name}: float64 plan differs from tomesd's"

    tensors = {"x": x, "merged": merged, "restored": restored, "merged_token": merged_token,
               "role": tomesd_roles, "cell_choices": cell_choices.to(torch.int64)}
    metadata = {"h": str(h), "w": str(w), "sx": str(sx), "sy": str(sy), "ratio": repr(ratio), "r": str(r),
                "random": "1" if random else "0"}
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, name + ".safetensors"), metadata)
    print(f"{name}: seed {seed}, r {r} (sources {N - hsy * wsx}), merged {tuple(merged.shape)}")


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".safetensors"):
            os.remove(os.path.join(OUT, old))
    for name, case in CASES.items():
        make(name, *case)


if __name__ == "__main__":
    main()
