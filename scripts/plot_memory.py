#!/usr/bin/env python3
"""Draws docs/memory.svg from docs/memory.csv (measurements of scripts/bench_memory.sh, entered
by hand: one line per run). Two panels: peak RSS against corpus size (1 MP images, one jpeg cell
each, PSNR only) and against image size (one image, jpeg + webp, default metrics), each with a
line per build ("before" / "after"). Plain SVG, no plotting library needed.
usage: scripts/plot_memory.py [CSV] [SVG]
csv columns: panel (corpus|image), build, x (images | megapixels), peak_rss_mib
"""
import csv
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "docs/memory.csv"
out = sys.argv[2] if len(sys.argv) > 2 else "docs/memory.svg"
rows = list(csv.DictReader(open(src)))
COLOURS = {"before": "#c0392b", "after": "#2471a3", "lean ssimulacra2": "#1e8449"}
W, H, M = 360, 260, 60  # panel size and margin


def nice_max(v):
    for e in range(0, 7):
        for step in (1, 2, 2.5, 5):
            top = step * 10 ** e
            if top >= v:
                return top
    return v


def panel(x0, name, title, xlabel):
    pts = [r for r in rows if r["panel"] == name]
    xs = [float(r["x"]) for r in pts]
    ys = [float(r["peak_rss_mib"]) for r in pts]
    xmax, ymax = nice_max(max(xs) * 1.05), nice_max(max(ys) * 1.1)
    px = lambda x: x0 + M + (W - M - 12) * x / xmax
    py = lambda y: H - M + 10 - (H - M - 20) * y / ymax
    s = [f'<text x="{x0 + W / 2}" y="16" text-anchor="middle" font-weight="bold">{title}</text>']
    s.append(f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(xmax)}" y2="{py(0)}" stroke="#333"/>')
    s.append(f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(0)}" y2="{py(ymax)}" stroke="#333"/>')
    for i in range(5):
        y = ymax * i / 4
        s.append(f'<line x1="{px(0)}" y1="{py(y)}" x2="{px(xmax)}" y2="{py(y)}" stroke="#ddd"/>')
        s.append(f'<text x="{px(0) - 4}" y="{py(y) + 4}" text-anchor="end">{y:g}</text>')
        x = xmax * i / 4
        s.append(f'<text x="{px(x)}" y="{py(0) + 16}" text-anchor="middle">{x:g}</text>')
    s.append(f'<text x="{x0 + W / 2}" y="{H - 6}" text-anchor="middle">{xlabel}</text>')
    s.append(f'<text x="{x0 + 12}" y="{H / 2}" text-anchor="middle" '
             f'transform="rotate(-90 {x0 + 12} {H / 2})">peak RSS, MiB</text>')
    for k, build in enumerate(b for b in COLOURS if any(r["build"] == b for r in pts)):
        line = sorted((float(r["x"]), float(r["peak_rss_mib"])) for r in pts if r["build"] == build)
        c = COLOURS[build]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line)
        s.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in line:
            s.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>')
            dy = -5 if build == "before" else 14  # labels of the two builds apart
            s.append(f'<text x="{px(x) + 5:.1f}" y="{py(y) + dy:.1f}" fill="{c}">{y:.0f}</text>')
        s.append(f'<rect x="{px(0) + 10}" y="{28 + 16 * k}" width="10" height="10" fill="{c}"/>')
        s.append(f'<text x="{px(0) + 24}" y="{37 + 16 * k}">{build}</text>')
    return s


body = panel(0, "corpus", "Peak RSS against corpus size", "1 MP images in the corpus")
body += panel(W + 20, "image", "Peak RSS against image size", "megapixels of the one image")
svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W + 20}" height="{H}" '
       f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n'
       + "\n".join(body) + "\n</svg>\n")
open(out, "w").write(svg)
print("wrote", out)
