#!/usr/bin/env bash
# Benchmark of the harness itself on the bundled corpus (not a test: it depends on the machine).
# Prints, for the default sweep at --jobs 1 and --jobs N: wall time, the sum of the cells'
# codec+metric time, parallel efficiency = sum / (wall x jobs) and the harness overhead; then
# the same for the `identity` codec, whose cells cost almost nothing, so what remains is the
# harness's own cost per cell. Quote ratios from one run, not absolute seconds.
#
# Last, the cell cache: the default sweep into an empty cache, then the same sweep again; the
# re-run's wall time over the first's (target: under 2%), without and with the report.
#
# usage: scripts/bench.sh [JOBS]   (default: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-$(nproc)}
cargo build --release --quiet
bin=target/release/codecbench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

field() { # field RUN_DIR KEY -> value from run.json's "timing"
  python3 -c "import json,sys; t=json.load(open(sys.argv[1]+'/run.json'))['timing']; print(t[sys.argv[2]])" "$1" "$2"
}
report() { # report LABEL RUN_DIR JOBS
  printf '%-28s jobs=%-2s wall=%7.2fs  codec+metric=%7.2fs  efficiency=%.3f  overhead=%.2f%% (in cells %.2f%%)\n' \
    "$1" "$3" "$(field "$2" wall_s)" "$(field "$2" measured_s)" "$(field "$2" efficiency)" \
    "$(python3 -c "print(100*$(field "$2" overhead_share))")" \
    "$(python3 -c "print(100*$(field "$2" in_cell_overhead_share))")"
}

"$bin" run --quiet --no-cache --no-report --jobs 1 --out "$out/default-1" >/dev/null
report "default sweep" "$out/default-1" 1
"$bin" run --quiet --no-cache --no-report --jobs "$jobs" --out "$out/default-n" >/dev/null
report "default sweep" "$out/default-n" "$jobs"
python3 -c "print('speed-up jobs=$jobs over jobs=1: %.2fx' % ($(field "$out/default-1" wall_s)/$(field "$out/default-n" wall_s)))"
"$bin" run --quiet --no-cache --no-report --jobs "$jobs" --codec identity --metrics psnr --repeat 20 --out "$out/identity" >/dev/null
report "identity codec (repeat 20)" "$out/identity" "$jobs"
python3 - "$out/identity/run.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); t = m["timing"]
cells = m["cells_done"]
print("identity: harness bookkeeping inside a cell %.1f us/cell; whole-run cost beyond codec calls %.2f ms/cell (includes loading the corpus)"
      % (1e6 * (t["cells_busy_s"] - t["measured_s"]) / cells, 1e3 * (t["wall_s"] * m["jobs"] - t["measured_s"]) / cells))
PY

# Cache: first run fills an empty cache, the unchanged re-run reads it.
"$bin" run --quiet --no-report --jobs "$jobs" --cache "$out/cache" --out "$out/cache-1" >/dev/null
"$bin" run --quiet --no-report --jobs "$jobs" --cache "$out/cache" --out "$out/cache-2" >/dev/null
python3 -c "print('cache: unchanged re-run %.3f s vs first run %.2f s: %.2f%% of the first run (sweep only)' % ($(field "$out/cache-2" wall_s), $(field "$out/cache-1" wall_s), 100*$(field "$out/cache-2" wall_s)/$(field "$out/cache-1" wall_s)))"
t0=$(date +%s.%N)
"$bin" run --quiet --jobs "$jobs" --cache "$out/cache" --out "$out/cache-3" >/dev/null
t1=$(date +%s.%N)
python3 -c "print('cache: unchanged re-run with report, whole command %.2f s: %.1f%% of the first run' % ($t1-$t0, 100*($t1-$t0)/$(field "$out/cache-1" wall_s)))"
