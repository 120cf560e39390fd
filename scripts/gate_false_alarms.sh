#!/usr/bin/env bash
# How often the time gate of `codecbench compare --retime` cries wolf, and how often it catches
# a real slowdown, on this machine (docs/gate.md, "The time gate"):
#
#  - AA_PAIRS A/A comparisons: two separate runs of the same pipeline with the same build
#    (BASELINE and NEW, as a CI job would make them), compared with the default time gate
#    (`--retime`: both sides re-measured interleaved over ROUNDS rounds, noise floor 10%).
#    Any time regression is a false alarm.
#  - AB_PAIRS A/B comparisons, spread among the A/A ones so both see the same machine: the
#    same pipeline label with a setting that is slower (jpeg 4:2:0 -> 4:2:2 chroma subsampling,
#    about +20% encode and +15% decode CPU time on these images; the script prints the median
#    slowdown it measured). A time regression is a catch.
#
# Small on purpose (shared 2-core machine): IMAGES (4 colour photos, 0.1-0.26 MP) x 5 JPEG
# settings = 20 cells per run, PSNR only, one job; the whole script takes 1-3 minutes.
#
#   scripts/gate_false_alarms.sh [OUT_DIR]   (env: AA_PAIRS=20 AB_PAIRS=5 ROUNDS=5 MAX_SLOWDOWN=)
#
# Needs `cargo build --release` first. Prints one line per comparison, then the two rates.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/codecbench
OUT=${1:-$(mktemp -d)}
AA_PAIRS=${AA_PAIRS:-20}
AB_PAIRS=${AB_PAIRS:-5}
ROUNDS=${ROUNDS:-5}
MAX_SLOWDOWN=${MAX_SLOWDOWN:-}
IMAGES=(corpus/chelsea.png corpus/coffee.png corpus/landsat7_truecolor.png corpus/astronaut.png)
A="site=jpeg:q=50..90:10,subsampling=420"
B="site=jpeg:q=50..90:10,subsampling=422"
mkdir -p "$OUT/corpus"
cp "${IMAGES[@]}" "$OUT/corpus/"
started=$(date +%s)

run() { # SPEC DIR
  "$BIN" run -q --no-cache --no-report -j 1 --metrics psnr \
    --corpus "$OUT/corpus" --codec "$1" --out "$2" >/dev/null
}

# Prints "KIND I time-regressed(0/1) encode% decode% wall-encode% p" from compare's JSON.
judge() { # KIND I BASE NEW
  local flags=(--retime "$ROUNDS")
  [ -n "$MAX_SLOWDOWN" ] && flags+=(--max-slowdown "$MAX_SLOWDOWN")
  local rc=0
  "$BIN" compare "$3" "$4" "${flags[@]}" --json "$OUT/$1_$2.json" >"$OUT/$1_$2.txt" 2>&1 || rc=$?
  if [ "$rc" -gt 1 ]; then
    echo "compare failed (exit $rc):" >&2
    cat "$OUT/$1_$2.txt" >&2
    exit 2
  fi
  python3 - "$OUT/$1_$2.json" "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
c = v["curves"][0]
slow = any(f["rule"] == "time" and f["verdict"] == "regressed" for f in c["findings"])
t = c.get("time") or {}
enc, dec = t.get("encode") or {}, t.get("decode") or {}
fmt = lambda x: "-" if x is None else f"{x:+.1f}"
print(sys.argv[2], sys.argv[3], int(slow), fmt(enc.get("change")), fmt(dec.get("change")),
      fmt(enc.get("wall_change")), f"{enc.get('p_slower', float('nan')):.4f}")
PY
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); AA_PAIRS=$AA_PAIRS AB_PAIRS=$AB_PAIRS ROUNDS=$ROUNDS MAX_SLOWDOWN=${MAX_SLOWDOWN:-default}" | tee "$OUT/log.txt"
echo "# kind pair time-regressed encode_cpu% decode_cpu% encode_wall% p_slower(encode)" | tee -a "$OUT/log.txt"
ab=0
for i in $(seq 1 "$AA_PAIRS"); do
  run "$A" "$OUT/a$i"
  run "$A" "$OUT/a${i}b"
  judge AA "$i" "$OUT/a$i" "$OUT/a${i}b" | tee -a "$OUT/log.txt"
  # A/B pairs spread among the A/A ones (pairs 2, 6, 10, ...), so both see the same machine.
  if [ "$ab" -lt "$AB_PAIRS" ] && { [ $((i % 4)) -eq 2 ] || [ $((AA_PAIRS - i)) -lt $((AB_PAIRS - ab)) ]; }; then
    ab=$((ab + 1))
    run "$B" "$OUT/b$ab"
    judge AB "$ab" "$OUT/a${i}b" "$OUT/b$ab" | tee -a "$OUT/log.txt"
  fi
done
python3 - "$OUT/log.txt" "$(($(date +%s) - started))" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
aa = [r for r in rows if r[0] == "AA"]
ab = [r for r in rows if r[0] == "AB"]
num = lambda rs, k: [float(r[k]) for r in rs if r[k] != "-"]
med = lambda v: f"{statistics.median(v):+.1f}%" if v else "-"
print(f"A/A false alarms: {sum(int(r[2]) for r in aa)} of {len(aa)}")
print(f"A/B slowdown caught: {sum(int(r[2]) for r in ab)} of {len(ab)}  "
      f"(measured slowdown, median of the A/B pairs: encode CPU {med(num(ab, 3))}, decode CPU {med(num(ab, 4))})")
aa_enc = [abs(x) for x in num(aa, 3)]
if aa_enc:
    print(f"A/A |encode CPU change|: median {statistics.median(aa_enc):.1f}%, largest {max(aa_enc):.1f}%")
print(f"took {sys.argv[2]} s")
PY
