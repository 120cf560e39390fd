#!/usr/bin/env bash
# A CI job step that fails when a codec got worse: sweep a pinned corpus, compare with the
# committed baseline, write a Markdown table for the pull request, exit 1 on regression.
#
#   scripts/ci/regression-gate.sh            # run in CI (see github-actions.yml)
#   scripts/ci/regression-gate.sh --update   # refresh the committed baseline after an accepted change
#
# Pin the corpus (a folder in the repository, or fetched at a fixed revision and checked by
# its hashes in run.json) and the sweep file, so BASELINE and NEW measure the same cells.
set -euo pipefail
cd "$(dirname "$0")/../.."

CORPUS=${CORPUS:-corpus}
SWEEP=${SWEEP:-scripts/ci/gate-sweep.toml}
BASELINE=${BASELINE:-scripts/ci/baseline/results.csv}
OUT=${OUT:-reports/ci-gate}

cargo build --release --quiet
bin=target/release/codecbench
# Sizes and qualities are deterministic; timings are not. Time is judged only with RETIME=N:
# compare then re-encodes BASELINE's and NEW's settings of every cell in one process,
# interleaved over N rounds (docs/gate.md, "The time gate"); it times the settings with this
# build's codecs, so it catches a slower setting or external pipeline, not an older build.
RETIME=${RETIME:-}
"$bin" run --quiet --no-cache --corpus "$CORPUS" --sweep "$SWEEP" --out "$OUT" || [ $? -eq 1 ]

if [ "${1:-}" = "--update" ]; then
  mkdir -p "$(dirname "$BASELINE")"
  cp "$OUT/results.csv" "$BASELINE"
  cp "$OUT/run.json" "$(dirname "$BASELINE")/run.json"
  echo "baseline updated: $BASELINE"
  exit 0
fi

"$bin" compare "$BASELINE" "$OUT" --sweep "$SWEEP" --markdown "$OUT/gate.md" \
  --json "$OUT/gate.json" ${RETIME:+--retime "$RETIME"}
