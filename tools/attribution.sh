#!/usr/bin/env bash
# The attribution study of chapter "Why the numbers differ from the paper", one stage a call:
#
#   bash tools/attribution.sh screen      # rung 1 (synthetic-small, dev-eval, full CRNN, 30 epochs):
#                                         # SGD's learning rate on BCE, then every arm, 3 seeds
#                                         # (cause-sgd runs at the rate the sgd-lr sets chose),
#                                         # then the paper and γ grids with the settings that
#                                         # explain (the paper-like settings: those of the arms
#                                         # whose verdict is "explains"): the paper-like rung 1
#   bash tools/attribution.sh capacity    # rung 1's data at rung 2's model (32 channels, 15 epochs):
#                                         # the baseline and the arms that explain, 3 seeds (cause 6)
#   bash tools/attribution.sh calibrate   # the difficulty: BCE alone on synthetic-tut-timeline at
#                                         # event-to-background offsets $OFFSETS (dB), rung 2's
#                                         # settings (4 folds of the development set, 32 channels,
#                                         # 15 epochs); the offset whose BCE lands nearest the
#                                         # paper's (development data only) is chosen, read from
#                                         # these sets (sedlib.study.choices.calibrated_offset)
#   bash tools/attribution.sh confirm     # rung 2 on dev-eval (32 channels, 15 epochs), 3 seeds:
#                                         # the baseline at the calibrated difficulty and as
#                                         # generated (cause 5), the arms that explain on rung 1 at
#                                         # the calibrated difficulty, and the paper grid with their
#                                         # settings combined: the paper-like rung (its BCE and DR
#                                         # runs are the zero-bias arm's)
#
# The chosen values (the calibrated offset, the paper-like settings, the arms that explain) are
# read from the result sets that chose them, through sedlib: a stage that needs one before it
# exists stops with a message naming the stage that makes it.
#
# Every stage is a list of `sedlib sweep` commands: they resume where they stopped, skip
# finished runs (identity), and aggregate into data/results/<grid>/. A stage stops at the
# first command that fails, with its status, and never runs a sweep without the settings
# it promises. Environment: SEDLIB (default: sedlib on PATH, else .venv/bin/sedlib),
# PYTHON (default: the interpreter of $SEDLIB, read from its first line), JOBS (default 1),
# OFFSETS (calibrate's offsets in dB, default "-20 -30").
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "tools/attribution.sh: $*" >&2; exit 2; }
SEDLIB=${SEDLIB:-$(command -v sedlib || echo .venv/bin/sedlib)}
command -v "$SEDLIB" >/dev/null || die "SEDLIB=$SEDLIB is not a command: install sedlib (make setup) or set SEDLIB"
JOBS=${JOBS:-1}
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a whole number of at least 1, got '$JOBS'"
RUNG1=(--dataset synthetic-small --protocol dev-eval --epochs 30 --device cpu --executor python --jobs "$JOBS")
RUNG2=(--protocol folds --epochs 15 --set model.channels=32 --device cpu --executor python --jobs "$JOBS")
RUNG2_DEV_EVAL=(--protocol dev-eval --epochs 15 --set model.channels=32 --device cpu --executor python --jobs "$JOBS")
RUNG1_NARROW=(--dataset synthetic-small "${RUNG2_DEV_EVAL[@]}")
OFFSETS=${OFFSETS:-"-20 -30"}
for offset in $OFFSETS; do
  [[ "$offset" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || die "OFFSETS must be numbers of dB, got '$offset' in OFFSETS='$OFFSETS'"
done

sedlib_python() {  # the interpreter of the sedlib command (its first line), else python3
  local path line words
  path=$(command -v "$SEDLIB")
  IFS= read -r line < "$path" || true
  read -r -a words <<< "${line#\#!}"
  if [[ "$line" == '#!'* && ${#words[@]} -gt 0 ]]; then
    [[ "${words[0]}" == */env && ${#words[@]} -gt 1 ]] && { echo "${words[1]}"; return; }
    echo "${words[0]}"
    return
  fi
  echo python3
}
PYTHON=${PYTHON:-$(sedlib_python)}
"$PYTHON" -c "import sedlib" 2>/dev/null \
  || die "PYTHON=$PYTHON cannot import sedlib: set PYTHON to the interpreter sedlib is installed in (the one of $SEDLIB)"

screen() {
  local like
  for lr in 0.01 0.03 0.1 0.3 1 3 10; do
    "$SEDLIB" sweep --grid sgd-lr "${RUNG1[@]}" --set lr=$lr
  done
  for grid in cause-baseline cause-zero-bias cause-last-epoch cause-clip-frames cause-sgd; do
    "$SEDLIB" sweep --grid "$grid" "${RUNG1[@]}"
  done
  like=$(paper_like)  # an assignment: a failure stops the stage (set -e)
  # the paper-like row on rung 1: the paper grid with the settings that explain, combined
  # shellcheck disable=SC2086  # $like is a list of options
  "$SEDLIB" sweep --grid paper --seeds 3 "${RUNG1[@]}" $like
  # and the paper's γ sweep (Figs. 4 and 5) with the same settings: its γ=1 and γ=4 runs are the
  # paper-like row's
  # shellcheck disable=SC2086
  "$SEDLIB" sweep --grid gamma --seeds 3 "${RUNG1[@]}" $like
}

# The two readers below run in a command substitution: call them in an assignment
# (`x=$(paper_like)`), whose status set -e sees, never inside a command's arguments.
# They read the arms whose verdict is "explains" (chapter 5's table) through sedlib.
paper_like() {  # their settings as --set options (none: a failure)
  "$PYTHON" -c "
from sedlib.study.attribution import cause_findings, paper_like
like = paper_like(cause_findings())
if not like.settings:
    raise SystemExit('tools/attribution.sh: no arm explains a gap under the verdict rule yet (chapter 5): no paper-like settings')
print(' '.join(f'--set {k}={v}' for k, v in like.settings.items()))" \
    || die "could not read the paper-like settings with $PYTHON (why: the line above)"
}

explaining_arms() {  # their grids (none: a failure)
  "$PYTHON" -c "
from sedlib.study.attribution import cause_findings, paper_like
like = paper_like(cause_findings())
if not like.arms:
    raise SystemExit('tools/attribution.sh: no arm explains a gap under the verdict rule yet (chapter 5)')
print(' '.join(like.arms))" \
    || die "could not read the arms that explain with $PYTHON (why: the line above)"
}

capacity() {
  local grid arms
  arms=$(explaining_arms)
  for grid in cause-baseline $arms; do
    "$SEDLIB" sweep --grid "$grid" "${RUNG1_NARROW[@]}"
  done
}

calibrate() {
  for offset in $OFFSETS; do
    "$SEDLIB" sweep --grid calibration --dataset "synthetic-tut-timeline-ebr$offset" "${RUNG2[@]}"
  done
}

confirm() {
  local offset like grid arms
  offset=$("$PYTHON" -c "
from sedlib.study.choices import calibrated_offset
found = calibrated_offset()
if found is None:
    raise SystemExit('tools/attribution.sh: not calibrated yet: run the calibrate stage first')
print(f'{found.value:g}')") || die "no calibrated offset (why: the line above)"
  like=$(paper_like)
  arms=$(explaining_arms)
  local hard="synthetic-tut-timeline-ebr$offset"
  "$SEDLIB" sweep --grid cause-baseline --dataset "$hard" "${RUNG2_DEV_EVAL[@]}"
  "$SEDLIB" sweep --grid cause-baseline --dataset synthetic-tut-timeline "${RUNG2_DEV_EVAL[@]}"
  for grid in $arms; do
    "$SEDLIB" sweep --grid "$grid" --dataset "$hard" "${RUNG2_DEV_EVAL[@]}"
  done
  # shellcheck disable=SC2086  # $like is a list of options
  "$SEDLIB" sweep --grid paper --seeds 3 --dataset "$hard" "${RUNG2_DEV_EVAL[@]}" $like
}

case "${1:-}" in
  screen) screen ;;
  capacity) capacity ;;
  calibrate) calibrate ;;
  confirm) confirm ;;
  *) echo "usage: bash tools/attribution.sh screen|capacity|calibrate|confirm" >&2; exit 2 ;;
esac
