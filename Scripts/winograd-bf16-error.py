"""How much error Winograd convolutions of larger tiles would add in bfloat16 (why we keep F(2x2, 3x3)).

One 3x3 convolution (320 -> 320 channels, 32x32 map, seeded random input, weights of fan-in variance) computed in
double precision as the reference, then: directly with input and weights rounded to bfloat16 (what a bf16 GEMM
does), and by Winograd F(m x m, 3x3) for m = 2, 3, 4 with the transformed patches and transformed weights rounded to
bfloat16 and the products summed exactly (what our bf16 Winograd path does, less its fp32 sum error). Prints each
relative L2 error. The Toom-Cook matrices come from the interpolation points (0, +-1, +-2 or +-1/2, and infinity).
Run with the reference venv (Scripts/reference/README.md): `python Scripts/winograd-bf16-error.py`.
On 2026-12-05: direct 2.4e-3, F(2x2) 3.9e-3, F(3x3) 1.4e-2, F(4x4) 2.6e-2.
"""
import numpy as np
import torch

torch.manual_seed(0)
C, K, H = 320, 320, 32
x = torch.randn(1, C, H, H, dtype=torch.float64)
w = torch.randn(K, C, 3, 3, dtype=torch.float64) / np.sqrt(9 * C)
reference = torch.nn.functional.conv2d(x, w, padding=1)


def bf16(t):
    return t.to(torch.bfloat16).to(torch.float64)


def relative(y):
    return ((y - reference).norm() / reference.norm()).item()


def toom_cook(m, points):
    """A^T (m x n), G (n x 3), B^T (n x n) of F(m, 3) for the n - 1 finite points and infinity (n = m + 2)."""
    n, p = m + 2, np.array(points, dtype=np.float64)
    a_t, g = np.zeros((m, n)), np.zeros((n, 3))
    for j in range(n - 1):
        a_t[:, j] = p[j] ** np.arange(m)
        g[j] = p[j] ** np.arange(3) / np.prod([p[j] - p[l] for l in range(n - 1) if l != j])
    a_t[m - 1, n - 1] = g[n - 1, 2] = 1
    # B^T solves sum_j A^T[i, j] G[j, k] B^T[j, l] = [l == i + k] for every output i, tap k and input l.
    rows, rhs = [], []
    for i in range(m):
        for k in range(3):
            for l in range(n):
                row = np.zeros((n, n))
                row[:, l] = a_t[i, :] * g[:, k]
                rows.append(row.ravel())
                rhs.append(1.0 if l == i + k else 0.0)
    b_t = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(n, n)
    return [torch.tensor(t) for t in (a_t, g, b_t)]


def winograd(m, points):
    a_t, g, b_t = toom_cook(m, points)
    n, tiles = m + 2, (H + m - 1) // m
    padded = torch.nn.functional.pad(x, (1, 1 + tiles * m - H, 1, 1 + tiles * m - H))
    u = bf16(torch.einsum('ai,kcij,bj->kcab', g, w, g))
    out = torch.zeros(1, K, tiles * m, tiles * m, dtype=torch.float64)
    for ty in range(tiles):
        for tx in range(tiles):
            d = padded[0, :, ty * m:ty * m + n, tx * m:tx * m + n]
            v = bf16(torch.einsum('ai,cij,bj->cab', b_t, d, b_t))
            out[0, :, ty * m:ty * m + m, tx * m:tx * m + m] = torch.einsum('ia,kab,jb->kij', a_t, torch.einsum('kcab,cab->kab', u, v), a_t)
    return out[:, :, :H, :H]


print(f"direct bf16     {relative(torch.nn.functional.conv2d(bf16(x), bf16(w), padding=1)):.2e}")
for m, points in [(2, [0, 1, -1]), (3, [0, 1, -1, 2]), (4, [0, 1, -1, 2, -2])]:
    print(f"F({m}x{m}, 3x3) bf16 {relative(winograd(m, points)):.2e}")
