#!/usr/bin/env bash
# How often the time gate of `codecbench compare` cries wolf, and how often it catches a real
# slowdown, on this machine: AA_PAIRS comparisons of two identical runs (A/A: any time
# regression is a false alarm) and AB_PAIRS comparisons of A against B, the same pipeline label
# with a setting that encodes ~25-30% slower (jpeg 4:2:0 -> 4:4:4; the script prints the median
# slowdown it actually measured). Each run is small on purpose (shared 2-core machine): IMAGES
# images x 5 JPEG settings, --repeat 5, one job, PSNR only.
#
#   scripts/gate_false_alarms.sh [OUT_DIR]      (env: AA_PAIRS=20 AB_PAIRS=5 MAX_SLOWDOWN=10)
#
# Needs `cargo build --release` first. Prints one line per comparison and the two rates.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/codecbench
OUT=${1:-$(mktemp -d)}
AA_PAIRS=${AA_PAIRS:-20}
AB_PAIRS=${AB_PAIRS:-5}
MAX_SLOWDOWN=${MAX_SLOWDOWN:-10}
IMAGES=(corpus/camera.png corpus/chelsea.png)
A="site=jpeg:q=50..90:10,subsampling=420"
B="site=jpeg:q=50..90:10,subsampling=444"
mkdir -p "$OUT/corpus"
cp "${IMAGES[@]}" "$OUT/corpus/"

run() { # SPEC DIR
  "$BIN" run -q --no-cache --no-report -j 1 --repeat 5 --metrics psnr \
    --corpus "$OUT/corpus" --codec "$1" --out "$2" >/dev/null
}

# Prints "KIND I time-regressed(0/1) encode% decode%" from compare's JSON verdict.
judge() { # KIND I BASE NEW
  "$BIN" compare "$3" "$4" --max-slowdown "$MAX_SLOWDOWN" --allow-missing \
    --json "$OUT/$1_$2.json" >/dev/null || true
  python3 - "$OUT/$1_$2.json" "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
c = v["curves"][0]
slow = any(f["rule"] == "time" and f["verdict"] == "regressed" for f in c["findings"])
fmt = lambda x: "-" if x is None else f"{x:+.1f}"
print(sys.argv[2], sys.argv[3], int(slow), fmt(c["encode_time"]), fmt(c["decode_time"]))
PY
}

: >"$OUT/log.txt"
for i in $(seq 1 "$AA_PAIRS"); do
  run "$A" "$OUT/a$i"
  run "$A" "$OUT/a${i}b"
  judge AA "$i" "$OUT/a$i" "$OUT/a${i}b" | tee -a "$OUT/log.txt"
  # A/B pairs interleaved with the A/A ones, so both see the same machine.
  if [ "$i" -le "$AB_PAIRS" ]; then
    run "$B" "$OUT/b$i"
    judge AB "$i" "$OUT/a${i}b" "$OUT/b$i" | tee -a "$OUT/log.txt"
  fi
done
python3 - "$OUT/log.txt" "$MAX_SLOWDOWN" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
aa = [r for r in rows if r[0] == "AA"]
ab = [r for r in rows if r[0] == "AB"]
enc = [float(r[3]) for r in ab if r[3] != "-"]
print(f"A/A false alarms: {sum(int(r[2]) for r in aa)} of {len(aa)}  (--max-slowdown {sys.argv[2]})")
print(f"A/B slowdown caught: {sum(int(r[2]) for r in ab)} of {len(ab)}  "
      f"(median encode CPU change of the A/B pairs {statistics.median(enc) if enc else float('nan'):+.1f}%)")
aa_enc = [abs(float(r[3])) for r in aa if r[3] != "-"]
if aa_enc:
    print(f"A/A median |encode change| {statistics.median(aa_enc):.1f}%, largest {max(aa_enc):.1f}%")
PY
