#!/usr/bin/env python3
"""Template for putting a learned (or any Python) codec behind codecbench's external-codec
interface. Replace `analyse` / `synthesise` with your model's calls (e.g. a CompressAI model's
compress/decompress); the file handling, timing report and exit codes stay as they are.

    learned_template.py encode IN.ppm OUT.bin TIME_FILE STEP
    learned_template.py decode IN.bin OUT.ppm TIME_FILE

Input and output are binary PPM/PGM (P6/P5, maxval 255). The stand-in "model" here quantises
samples to multiples of STEP and deflates them, so the template runs with the standard library
only. The script writes the seconds spent in the model (not in Python start-up or file I/O) to
TIME_FILE, which codecbench records as the encode/decode time (timing = reported).
"""
import struct
import sys
import time
import zlib


def read_pnm(path):
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if maxval != 255 or magic not in (b"P5", b"P6"):
        sys.exit("learned_template: only 8-bit P5/P6 input (set depth = 8 in the definition)")
    channels = 3 if magic == b"P6" else 1
    return w, h, channels, data[pos + 1:pos + 1 + w * h * channels]


def analyse(pixels, step):
    """Stand-in for the model's encoder: quantise, then deflate."""
    return zlib.compress(bytes(p // step for p in pixels), 9)


def synthesise(code, step):
    """Stand-in for the model's decoder: inflate, then reconstruct at the bin centre."""
    return bytes(min(255, q * step + step // 2) for q in zlib.decompress(code))


def main(argv):
    mode, src, dst, time_file = argv[1:5]
    if mode == "encode":
        step = int(argv[5])
        w, h, c, pixels = read_pnm(src)
        t = time.perf_counter()
        code = analyse(pixels, step)
        spent = time.perf_counter() - t
        with open(dst, "wb") as f:
            f.write(struct.pack("<IIBB", w, h, c, step) + code)
    elif mode == "decode":
        blob = open(src, "rb").read()
        w, h, c, step = struct.unpack("<IIBB", blob[:10])
        t = time.perf_counter()
        pixels = synthesise(blob[10:], step)
        spent = time.perf_counter() - t
        with open(dst, "wb") as f:
            f.write(b"%s\n%d %d\n255\n" % (b"P6" if c == 3 else b"P5", w, h) + pixels)
    else:
        sys.exit(f"learned_template: unknown mode {mode}")
    with open(time_file, "w") as f:
        f.write(f"{spent:.9f}\n")


if __name__ == "__main__":
    main(sys.argv)
