#!/usr/bin/env bash
# Memory and CPU benchmark of the harness (not a test: it depends on the machine). Prints:
#  1. peak RSS (/usr/bin/time -v) for 10 / 40 / 160 generated 1 MP images, one jpeg cell each,
#     PSNR only, --jobs 2 (target: 160 images within 1.3x of 10);
#  2. peak RSS of one large generated image (default 4000x4000 = 16 MP; LARGE=WxH to change)
#     with jpeg + webp, one setting each, default metrics, --jobs 2, as bytes per pixel
#     (target: at most 100 B/px);
#  3. the default sweep on the bundled corpus: wall, process CPU (user+sys) and peak RSS.
# With PER_METRIC=1: the large image at --jobs 1, one cell, with each metric alone (B/px).
# With HUGE=1: generated 1-bit PNGs of 10000x10000 and 20000x20000 with --max-pixels 4e8, default
#   metrics and PSNR only: each is measured or skipped with a message (printed), never aborts.
# SIZES="2000x2000 4000x4000": more image sizes for case 2 (the RSS-against-size plot).
# SKIP_DEFAULT=1 leaves out the default sweep (the slow part); SKIP_CORPUS=1 leaves out case 1.
# Quote ratios from one run; the machine is shared, so CPU time is printed beside wall time.
#
# usage: scripts/bench_memory.sh [BIN]   (default: target/release/codecbench, built first)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then bin=$1; else cargo build --release --quiet; bin=target/release/codecbench; fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
large=${LARGE:-4000x4000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

corpora=(10 40 160); [ "${SKIP_CORPUS:-0}" = 1 ] && corpora=()
[ ${#corpora[@]} -gt 0 ] && python3 scripts/gen_images.py "$tmp/all" 160 1000 1000
for n in "${corpora[@]}"; do
  mkdir -p "$tmp/c$n"
  for f in $(ls "$tmp/all" | head -n "$n"); do ln -s "$tmp/all/$f" "$tmp/c$n/$f"; done
done
python3 scripts/gen_images.py "$tmp/large" 1 "${large%x*}" "${large#*x}"

measure() { # measure LABEL PIXELS ARGS... -> one line: wall, CPU, peak RSS (and B/px if PIXELS>0)
  local label=$1 px=$2; shift 2
  /usr/bin/time -v -o "$tmp/time.txt" "$bin" run --quiet --no-cache --no-report "$@" >/dev/null 2>"$tmp/err.txt" \
    || { echo "$label: exit $? ($(tail -n 3 "$tmp/err.txt"))"; }
  python3 - "$tmp/time.txt" "$label" "$px" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def f(k):
    return re.search(re.escape(k) + r":\s*(\S+)", t).group(1)
wall = f("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
cpu = float(f("User time (seconds)")) + float(f("System time (seconds)"))
rss = int(f("Maximum resident set size (kbytes)")) * 1024
px = int(sys.argv[3])
extra = "  %.0f B/px" % (rss / px) if px else ""
print("%-34s wall=%7.2fs  cpu=%7.2fs  peak_rss=%7.1f MiB%s" % (sys.argv[2], wall, cpu, rss / 2**20, extra))
PY
}

for n in "${corpora[@]}"; do
  measure "$n x 1 MP, jpeg, psnr" 0 --jobs 2 --codec jpeg:q=75 --metrics psnr --corpus "$tmp/c$n" --out "$tmp/r$n"
done
w=${large%x*}; h=${large#*x}
measure "1 x $large, jpeg+webp, defaults" $((w * h)) --jobs 2 --codec jpeg:q=75 --codec webp:q=75 --corpus "$tmp/large" --out "$tmp/rl"
for size in ${SIZES:-}; do
  python3 scripts/gen_images.py "$tmp/s$size" 1 "${size%x*}" "${size#*x}"
  measure "1 x $size, jpeg+webp, defaults" $((${size%x*} * ${size#*x})) --jobs 2 --codec jpeg:q=75 --codec webp:q=75 --corpus "$tmp/s$size" --out "$tmp/rs"
  rm -rf "$tmp/s$size"
done
if [ "${PER_METRIC:-0}" = 1 ]; then
  for m in psnr psnr,psnr-y psnr,ssim psnr,ms-ssim psnr,ssimulacra2 psnr,psnr-y,ssim,ssimulacra2; do
    measure "1 x $large, jpeg, jobs 1, $m" $((w * h)) --jobs 1 --codec jpeg:q=75 --metrics "$m" --corpus "$tmp/large" --out "$tmp/rm"
  done
fi
if [ "${HUGE:-0}" = 1 ]; then
  for side in 10000 20000; do
    mkdir -p "$tmp/huge$side"
    python3 scripts/gen_bilevel.py "$tmp/huge$side/bilevel.png" $side $side
    for m in default psnr; do
      margs=(); [ $m = psnr ] && margs=(--metrics psnr)
      rm -rf "$tmp/rh"
      measure "1 x ${side}x${side} 1-bit PNG, $m" $((side * side)) --jobs 2 --max-pixels 4e8 --codec jpeg:q=75 "${margs[@]}" --corpus "$tmp/huge$side" --out "$tmp/rh"
      rows=$( [ -f "$tmp/rh/results.csv" ] && python3 -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(len(r), 'rows:', ', '.join(x['spec'].split(':')[0]+'='+x['status'] for x in r))" "$tmp/rh/results.csv" || echo "no results.csv")
      echo "    -> $rows; stderr: $(grep -v '^$' "$tmp/err.txt" | tail -n 2 | tr '\n' ' ')"
    done
  done
fi
[ "${SKIP_DEFAULT:-0}" = 1 ] && exit 0
measure "default sweep, bundled corpus" 0 --jobs 2 --out "$tmp/rd"
python3 - "$tmp/rd/run.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["timing"]
print("default sweep run.json timing: " + ", ".join("%s=%s" % (k, round(v, 3) if isinstance(v, float) else v) for k, v in t.items()))
PY
