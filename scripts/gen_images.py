#!/usr/bin/env python3
"""Writes N generated RGB8 PPM images of WxH pixels into DIR (for scripts/bench_memory.sh).

Each image is diagonal colour bands (smooth, so codecs compress them like a photo's gradients)
over seeded noise in the blue channel (so they do not compress to nothing); image i differs
from the others in its seed, so every image has its own pixel hash.
usage: gen_images.py DIR N W H
"""
import math
import os
import random
import sys

out, n, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
for i in range(n):
    rnd = random.Random(i)
    base = bytearray()
    for x in range(w):
        base += bytes((x * 255 // w,
                       int(128 + 100 * math.sin(x / 37.0 + i)),
                       (x // 3 + rnd.randrange(64)) & 255))
    base2 = base + base
    step = 3 * (7 + i % 5)
    with open(os.path.join(out, f"img{i:04d}.ppm"), "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        for y in range(h):
            off = (y * step) % (3 * w)
            f.write(base2[off:off + 3 * w])
