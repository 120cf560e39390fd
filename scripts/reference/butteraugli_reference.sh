#!/usr/bin/env bash
# Reference butteraugli values for tests/butteraugli.rs, from libjxl's own tool.
#
# Needs Debian `libjxl-devtools` (butteraugli_main, libjxl 0.7), `libjpeg-turbo-progs` (djpeg)
# and `webp` (dwebp). Run from the repository root:
#     bash scripts/reference/butteraugli_reference.sh > tests/data/butteraugli/reference.csv
#
# Each row: the original (a corpus image or a reference pair's original), the distorted file
# as the test reads it, and butteraugli_main's two outputs at its default intensity target of
# 80 nits: the first line (max norm, 10 decimals) and "3-norm: X" (6 decimals). Encoded files
# are decoded with djpeg/dwebp to a temporary PNM/PNG first (codecbench's decoders give the
# same samples: tests/reference.rs checks that through the MSE).
set -euo pipefail
ref=tests/data/reference
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

score() { # original distorted-as-read distorted-as-scored
    local out max p3
    out=$(butteraugli_main "$1" "$3" 2>/dev/null)
    max=$(printf '%s\n' "$out" | sed -n 1p)
    p3=$(printf '%s\n' "$out" | sed -n 's/^3-norm: //p')
    printf '%s,%s,%s,%s\n' "$1" "$2" "$max" "$p3"
}

echo "original,distorted,max_norm,pnorm_3"
for d in "$ref"/pairs/*__*.png; do
    name=$(basename "$d" .png)
    score "corpus/${name%%__*}.png" "$d" "$d"
done
score "$ref/pairs/tiny_8x8_ref.png" "$ref/pairs/tiny_8x8_dist.png" "$ref/pairs/tiny_8x8_dist.png"
for e in astronaut__jpeg_q10 astronaut__jpeg_q50 astronaut__jpeg_q90 chelsea__jpeg_q30 \
         camera__jpeg_q50 rustdoc_screenshot__jpeg_q75; do
    djpeg -outfile "$tmp/$e.pnm" "$ref/encoded/$e.jpg"
    score "corpus/${e%%__*}.png" "$ref/encoded/$e.jpg" "$tmp/$e.pnm"
done
for e in astronaut__webp_q50 chelsea__webp_q75 rustdoc_screenshot__webp_q50; do
    dwebp -quiet -nodither "$ref/encoded/$e.webp" -o "$tmp/$e.png"
    score "corpus/${e%%__*}.png" "$ref/encoded/$e.webp" "$tmp/$e.png"
done
