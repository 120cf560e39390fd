#!/usr/bin/env python3
"""Figures for README "Current encoders" from one run folder (results.csv + bd.csv):
BD-rate on SSIMULACRA2 (geomean over images) of each pair asked for, and the median encode CPU
ms per megapixel of each curve.

    scripts/current_encoders_table.py RUN_DIR
"""
import csv
import statistics
import sys

run = sys.argv[1]
rows = list(csv.DictReader(open(f"{run}/results.csv")))
bd = list(csv.DictReader(open(f"{run}/bd.csv")))

PAIRS = [
    ("avif:speed=6,depth=10,encoder=aom,tune=iq,yuv=444",
     "avif:speed=6,depth=10,encoder=aom,tune=ssim,yuv=444"),
    ("avif:speed=6,depth=10,encoder=aom,tune=iq,yuv=444",
     "avif:speed=6,depth=10,encoder=rav1e,tune=default,yuv=444"),
    ("avif:speed=6,depth=10,encoder=aom,tune=ssim,yuv=444",
     "avif:speed=6,depth=10,encoder=rav1e,tune=default,yuv=444"),
    ("jpegli:d=0,yuv=420", "jpeg:subsampling=420,progressive=true,arithmetic=false"),
    ("jxl:effort=7", "cjxl:effort=7"),
]


def curve_speed(curve):
    per = {}
    for r in rows:
        if r["curve"] != curve or r["status"] != "ok" or not r["encode_cpu_ms"]:
            continue
        mp = int(r["width"]) * int(r["height"]) / 1e6
        per.setdefault(r["image"], []).append(float(r["encode_cpu_ms"]) / mp)
    # Per image the median over its settings, then the median over images.
    return statistics.median(statistics.median(v) for v in per.values()) if per else None


def find_bd(a, b):
    for r in bd:
        if (r["metric"] == "ssimulacra2" and r["curve_a"] == a and r["curve_b"] == b
                and r["image"].startswith("*") and r["aggregate"] == "geomean"):
            yield r


print("| A | B | BD-rate A vs B (SSIMULACRA2) | images | A encode ms/MP | B encode ms/MP |")
print("|---|---|---|---|---|---|")
for a, b in PAIRS:
    found = list(find_bd(a, b))
    if not found:
        print(f"| {a} | {b} | (not in bd.csv) | | | |")
        continue
    for r in found:
        depth = r["image"].replace("*", "").strip() or "all"
        sa, sb = curve_speed(a), curve_speed(b)
        fmt = lambda v: "-" if v is None else f"{v:.0f}"
        print(f"| `{a}` | `{b}` | {float(r['bd_rate']):+.1f}% {depth} | {r['points_a']} | "
              f"{fmt(sa)} | {fmt(sb)} |")
