#!/usr/bin/env bash
# The attribution study of chapter "Why the numbers differ from the paper", one stage a call:
#
#   bash tools/attribution.sh screen      # rung 1 (synthetic-small, dev-eval, full CRNN, 30 epochs):
#                                         # SGD's learning rate on BCE, then every arm, 3 seeds
#   bash tools/attribution.sh calibrate   # the difficulty: BCE alone on synthetic-tut-timeline at
#                                         # event-to-background offsets $OFFSETS (dB), rung 2's
#                                         # settings (4 folds of the development set, 32 channels,
#                                         # 15 epochs); the chapter picks the offset whose BCE
#                                         # lands nearest the paper's (development data only)
#
# Every stage is a list of `sedlib sweep` commands: they resume where they stopped, skip
# finished runs (identity), and aggregate into data/results/<grid>/. Environment:
# SEDLIB (default: sedlib on PATH, else .venv/bin/sedlib), JOBS (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
SEDLIB=${SEDLIB:-$(command -v sedlib || echo .venv/bin/sedlib)}
JOBS=${JOBS:-1}
RUNG1=(--dataset synthetic-small --protocol dev-eval --epochs 30 --device cpu --executor python --jobs "$JOBS")
RUNG2=(--protocol folds --epochs 15 --set model.channels=32 --device cpu --executor python --jobs "$JOBS")
OFFSETS=${OFFSETS:-"-10 -20 -30"}

screen() {
  for lr in 0.01 0.03 0.1 0.3 1 3; do
    "$SEDLIB" sweep --grid sgd-lr "${RUNG1[@]}" --set lr=$lr
  done
  for grid in cause-baseline cause-zero-bias cause-last-epoch cause-clip-frames cause-sgd; do
    "$SEDLIB" sweep --grid "$grid" "${RUNG1[@]}"
  done
}

calibrate() {
  for offset in $OFFSETS; do
    "$SEDLIB" sweep --grid calibration --dataset "synthetic-tut-timeline-ebr$offset" "${RUNG2[@]}"
  done
}

case "${1:-}" in
  screen) screen ;;
  calibrate) calibrate ;;
  *) echo "usage: bash tools/attribution.sh screen|calibrate" >&2; exit 2 ;;
esac
