#!/usr/bin/env python3
"""Writes one 1-bit (bilevel) greyscale PNG of WxH pixels to PATH (for scripts/bench_memory.sh):
a scanned-document-like pattern of bars whose widths change down the page, tiny on disk (a
20000x20000 image is well under 1 MB) but W x H pixels once decoded.
usage: gen_bilevel.py PATH W H
"""
import struct
import sys
import zlib

path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
stride = (w + 7) // 8


def row(k):
    bits = bytearray(stride)
    period = 8 + 3 * k
    for x in range(0, w, period):
        for b in range(x, min(x + period // 2, w)):
            bits[b >> 3] |= 0x80 >> (b & 7)
    return bytes(bits)


rows = [row(k) for k in range(16)]
comp = zlib.compressobj(9)
data = bytearray()
for y in range(h):
    data += comp.compress(b"\x00" + rows[(y // 97) % 16])
data += comp.flush()


def chunk(kind, body):
    c = struct.pack(">I", len(body)) + kind + body
    return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n")
    f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)))
    f.write(chunk(b"IDAT", bytes(data)))
    f.write(chunk(b"IEND", b""))
