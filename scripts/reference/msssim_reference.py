#!/usr/bin/env python3
"""Reference MS-SSIM values for tests/perceptual.rs, computed with pytorch_msssim.

Writes tests/data/msssim_reference.csv from the rows of tests/data/reference/reference.csv whose
images are large enough for 5-scale MS-SSIM (pytorch_msssim asserts min(H, W) > 160 for an
11-px window), with the same channel handling as that file's `channels_compared` column. To keep
the Rust test quick in debug builds it takes a subset: per image the two metric pairs (Gaussian
noise, binomial blur), JPEG q10, WebP q50, and the `identical` pair; plus 16-bit rows derived from
the metric pairs (see `to16`).

Setup (PyPI only): pip install numpy pillow torch pytorch-msssim
(used: numpy 2.4.6, Pillow 13.0.0, torch 2.15.0, pytorch-msssim 1.0.0, Python 3.11)
Run from the repository root:  python3 scripts/reference/msssim_reference.py

Conventions (all pytorch_msssim 1.0.0 defaults except the dtype): images are float64 tensors
(N=1, C, H, W) holding the raw sample values, data_range = 2^depth - 1, win_size 11, sigma 1.5,
K = (0.01, 0.03), weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 'valid' Gaussian filtering,
avg_pool2d(2, padding=[H%2, W%2]) between scales, relu on cs (scales 1-4) and ssim (scale 5),
product over scales per channel, mean over channels.

Columns:
  original, distorted   paths relative to the repository root
  channels_compared     as in reference.csv: RGB, L, RGBA, L->RGB (gray replicated to R=G=B);
                        an RGBA original compared as RGB has its alpha dropped (and so has an
                        RGBA decode)
  to16                  empty: samples as decoded. 'x257': both images are the 8-bit samples
                        times 257 (the harness's 8->16-bit rule). 'x257+pattern': the original is
                        times 257 and the distorted is min(v*257 + (31x + 17y + 7c) % 256, 65535)
                        (x, y pixel position, c channel index), a genuine 16-bit image.
                        'x257' rows exist for the astronaut pairs only (they equal the 8-bit
                        rows up to rounding); 'x257+pattern' for every metric pair.
  data_range            2^depth - 1 of the compared arrays
  ms_ssim               pytorch_msssim.ms_ssim(X, Y, data_range) with its default window, which
                        it builds in float32 and then casts to float64
  ms_ssim_f64_window    the same call with win= the same Gaussian computed in float64
                        (scipy.ndimage's kernel), to separate the window's float32 rounding from
                        the algorithm
  tool, tool_version

Decoding: Pillow (libjpeg-turbo, libwebp). Every decoded pair is checked against the row's
sk_mse in reference.csv (computed from djpeg/dwebp output), so these are the same pixels.
"""

import csv
import os
import sys

import numpy as np
import torch
import pytorch_msssim
from PIL import Image

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
REF = os.path.join(ROOT, "tests", "data", "reference")
OUT = os.path.join(ROOT, "tests", "data", "msssim_reference.csv")
TOOL_VERSION = f"pytorch_msssim 1.0.0, torch {torch.__version__}, CPU, float64 inputs"


def load(rel):
    """Samples as uint8/uint16 array (H, W, C), paths relative to the repository root."""
    with Image.open(os.path.join(ROOT, rel)) as im:
        if im.mode == "I;16":
            a = np.array(im, dtype=np.uint16)
        elif im.mode == "I":
            a = np.array(im).astype(np.uint16)
        else:
            a = np.array(im)
    return a[:, :, None] if a.ndim == 2 else a


def paths(row):
    image = row["image"]
    if image.startswith("pairs/"):
        orig = os.path.join("tests/data/reference", image)
    else:
        orig = os.path.join("corpus", image)
    other = row["distorted_file"] if row["row_type"] == "pair" else row["encoded_file"]
    dist = other if other.startswith("corpus/") else os.path.join("tests/data/reference", other)
    return orig, dist


def pair_arrays(orig, dist, compared):
    if compared == "L->RGB":
        orig = np.repeat(orig, 3, axis=2)
    elif compared == "RGB":
        orig, dist = orig[:, :, :3], dist[:, :, :3]
    assert orig.shape == dist.shape, (orig.shape, dist.shape)
    return orig, dist


def f64_window(channels):
    x = np.arange(11, dtype=np.float64) - 5
    g = np.exp(-0.5 / 1.5**2 * x**2)
    g /= g.sum()
    return torch.from_numpy(g).reshape(1, 1, 1, 11).repeat(channels, 1, 1, 1)


def ms_ssim(a, b, data_range):
    x = torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None]
    y = torch.from_numpy(b.astype(np.float64)).permute(2, 0, 1)[None]
    default = pytorch_msssim.ms_ssim(x, y, data_range=data_range).item()
    exact = pytorch_msssim.ms_ssim(x, y, data_range=data_range, win=f64_window(a.shape[2])).item()
    return default, exact


def pattern(shape):
    h, w, c = shape
    yy, xx, cc = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return (31 * xx + 17 * yy + 7 * cc) % 256


SUBSET = {
    ("none", "gaussian_noise_sigma10_seed42"),
    ("none", "blur_binomial5x5"),
    ("none", "identical"),
    ("jpeg", "q10"),
    ("webp", "q50"),
}


def main():
    rows = list(csv.DictReader(open(os.path.join(REF, "reference.csv"))))
    out, worst = [], 0.0
    for row in rows:
        if min(int(row["width"]), int(row["height"])) <= 160:
            continue
        if (row["codec"], row["setting"]) not in SUBSET:
            continue
        assert row["bit_depth"] == "8" and float(row["data_range"]) == 255.0
        orig_path, dist_path = paths(row)
        compared = row["channels_compared"]
        a, b = pair_arrays(load(orig_path), load(dist_path), compared)
        mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
        want = float(row["sk_mse"])
        assert abs(mse - want) <= 1e-12 * max(want, 1e-300), (dist_path, mse, want)
        variants = [("", a, b, 255)]
        if row["codec"] == "none" and row["setting"] != "identical":
            a16 = a.astype(np.uint32) * 257
            b16 = b.astype(np.uint32) * 257
            if orig_path == "corpus/astronaut.png":
                variants.append(("x257", a16, b16, 65535))
            b16p = np.minimum(b16 + pattern(b.shape), 65535)
            variants.append(("x257+pattern", a16, b16p, 65535))
        for to16, x, y, data_range in variants:
            default, exact = ms_ssim(x, y, data_range)
            out.append([orig_path, dist_path, compared, to16, data_range, repr(default), repr(exact),
                        "pytorch_msssim", TOOL_VERSION])
            worst = max(worst, abs(default - exact))
            print(f"{dist_path} {compared} {to16 or '-'}: {default!r} (f64 window {exact!r})",
                  file=sys.stderr)
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["original", "distorted", "channels_compared", "to16", "data_range", "ms_ssim",
                    "ms_ssim_f64_window", "tool", "tool_version"])
        w.writerows(out)
    print(f"{len(out)} rows -> {os.path.relpath(OUT, ROOT)}; largest |default - f64 window| "
          f"{worst:.3e}", file=sys.stderr)


if __name__ == "__main__":
    main()
