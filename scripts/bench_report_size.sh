#!/usr/bin/env bash
# The size of report.html at scale (issue 24: "at most 20 MB for 250 images"): makes 250
# small images (256-512 px crops and resizes of real photos and wallpapers), runs a small
# sweep over them (3 formats, 4 settings each), makes the report with the default size limit
# and prints the page's size, how many images' crops it embeds and how long each step took.
#
#   scripts/bench_report_size.sh [CORPUS_DIR] [RUN_DIR]
#
# Needs ImageMagick (convert, identify) and a release build (cargo build --release).
# Sources: /work/photos/*.png and the largest picture of each /usr/share/wallpapers/*/
# (Debian's desktop-base and KDE wallpapers); any folder of photos works through PHOTOS=DIR.
set -euo pipefail
corpus=${1:-/tmp/corpus250}
run=${2:-/tmp/run250}
bin=${BIN:-target/release/codecbench}
n=${N:-250}

sources() {
  ls "${PHOTOS:-/work/photos}"/*.png 2>/dev/null || true
  for d in /usr/share/wallpapers/*/contents/images; do
    # The largest file of each wallpaper (the most detail to crop from).
    ls -S "$d"/* 2>/dev/null | head -1
  done
}

if [ "$(ls "$corpus" 2>/dev/null | wc -l)" -lt "$n" ]; then
  mkdir -p "$corpus"
  mapfile -t src < <(sources)
  [ "${#src[@]}" -gt 0 ] || { echo "no source pictures found" >&2; exit 2; }
  tmp=$(mktemp -d)
  k=0
  for s in "${src[@]}"; do
    # One decode per source: a 1600 px copy to cut from.
    convert "$s" -resize '1600x1600>' -alpha off "$tmp/$k.png"
    k=$((k + 1))
  done
  i=0
  while [ "$i" -lt "$n" ]; do
    s=$((i % k))
    round=$((i / k))
    read -r w h < <(identify -format '%w %h\n' "$tmp/$s.png")
    case $((round % 4)) in
      0) size=384 ;;
      1) size=512 ;;
      2) size=256 ;;
      3) size=448 ;;
    esac
    if [ $((round % 5)) -eq 4 ]; then
      # A whole picture made small.
      convert "$tmp/$s.png" -resize "${size}x${size}" "$corpus/img$(printf %03d "$i").png"
    else
      # A crop at a spread of places.
      x=$(( (w - size) * ((round * 37 + s * 11) % 100) / 100 ))
      y=$(( (h - size) * ((round * 53 + s * 7) % 100) / 100 ))
      convert "$tmp/$s.png" -crop "${size}x${size}+${x}+${y}" +repage "$corpus/img$(printf %03d "$i").png"
    fi
    i=$((i + 1))
  done
  rm -rf "$tmp"
fi
echo "corpus: $(ls "$corpus" | wc -l) images in $corpus ($(du -sh "$corpus" | cut -f1))"

rm -rf "$run"
start=$(date +%s)
# The run measures, cuts the crops and writes the report; `report` then makes it again alone.
"$bin" run --quiet --no-cache --corpus "$corpus" --out "$run" \
  --codec jpeg:q=50,70,85,95 --codec webp:q=50,70,85,95 --codec avif:q=50,70,85,95,speed=9 \
  > /dev/null
mid=$(date +%s)
"$bin" report "$run" > /dev/null
end=$(date +%s)

html="$run/report.html"
bytes=$(stat -c %s "$html")
python3 - "$html" <<'PY'
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
data = json.loads(re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', html, re.S).group(1))
ims = data["images"]
emb = sum(1 for i in ims if i["embedded"])
print(f"images with crops: {len(ims)}; embedded: {emb}; loaded from crops/: {len(data['linked'])}")
print(f"page limit {data['max_mb']} MB; every crop embedded would take about {data['all_mb']} MB")
PY
echo "report.html: $bytes bytes ($(awk "BEGIN{printf \"%.1f\", $bytes/1e6}") MB)"
echo "crops/: $(du -sb "$run/crops" | cut -f1) bytes in $(find "$run/crops" -type f | wc -l) files"
echo "time: run (measure, cut crops, report) $((mid - start)) s; report alone $((end - mid)) s"
