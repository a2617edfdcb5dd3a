#!/usr/bin/env bash
# The GPU study, one step per call of the device tool (each well under its 10-minute limit).
#
#   bash tools/gpu/study.sh setup             # sedlib's missing packages from the carried .whl/ (seconds)
#   bash tools/gpu/study.sh data              # synthetic-paper and synthetic-tut-timeline, 16 cores (~1-2 min)
#   bash tools/gpu/study.sh smoke             # every CUDA path in about a minute (tools/gpu/smoke.py)
#   bash tools/gpu/study.sh grid GRID DATASET [SECONDS]   # resumable: runs until SECONDS, then packs
#   bash tools/gpu/study.sh grid-batched GRID DATASET [SECONDS]  # the same, every run at once in one
#                                             # process as stacked models (sedlib.training.batched)
#   bash tools/gpu/study.sh paper-like [DATASET] [SECONDS]  # grid-batched paper with the settings
#                                             # that explain (read from the committed results:
#                                             # sedlib.study.attribution.paper_like), on the data at
#                                             # the calibrated difficulty (sedlib.study.choices) by
#                                             # default: the paper-like rung at full scale
#   bash tools/gpu/study.sh all [SECONDS]     # setup, data, smoke, then the paper/gamma/baselines grids
#
# Every step begins with the steps it needs (a fresh machine is bare). Finished runs
# come back in $OUT/runs-<grid>-<dataset>.tar.gz (records only, small) with the
# aggregated results; carry that file back in .gpu/ and the next call skips those
# runs: generated data are bit-identical, files included, so run identities match.
# Runs still training when a `grid` step stops resume only on the same machine: issue the
# next step while it is still warm (within 30 s); a fresh machine starts them over.
#
# grid-batched stops itself at SECONDS (SIGINT; the groups' checkpoints stay for a warm machine),
# then aggregates and packs like grid, and packs its groups still training into
# $OUT/in-progress-<grid>.tar.gz (`sedlib carry`): carried back in .gpu/, a fresh machine
# resumes them at the epoch they had reached. MEMBERS caps a group (default: what fits the free memory).
# SECONDS 0: no time limit (the step runs until its grid has finished).
# Variables: DEVICE (cuda), JOBS (runs at once, 8), SEEDS (10), EPOCHS (TrainConfig's),
# SETTINGS (shared settings for every sweep, "key=value ...", each passed as --set key=value;
# paper-like adds its own to them, and refuses one that SETTINGS gives another value),
# SEDLIB_DATA_ROOT (/tmp/sedlib-data), SITE (/tmp/sedlib-site), WHEELS (.whl),
# SKIP_INSTALL=1 (use the packages already importable, as CI does), CARRIED (.gpu: the
# folder carried to the machine, with tut-meta/ and runs-*.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/../.."
export SEDLIB_DATA_ROOT="${SEDLIB_DATA_ROOT:-/tmp/sedlib-data}"
CARRIED="${CARRIED:-$PWD/.gpu}"
export SEDLIB_TUT_META="${SEDLIB_TUT_META:-$CARRIED/tut-meta}"
SITE="${SITE:-/tmp/sedlib-site}"
WHEELS="${WHEELS:-.whl}"
DEVICE="${DEVICE:-cuda}"
JOBS="${JOBS:-8}"
SEEDS="${SEEDS:-10}"
OUT="${OUT:-/tmp/sedlib-out}"
PY="${PYTHON:-python3}"

die() { echo "tools/gpu/study.sh: $*" >&2; exit 2; }

check_count() {  # $1 what (a variable or argument), $2 value, $3 least
  [[ "$2" =~ ^[0-9]+$ ]] && (( 10#$2 >= $3 )) || die "$1 must be a whole number of at least $3, got '$2'"
}

check_variables() {  # every variable this script reads, named in its error
  check_count JOBS "$JOBS" 1
  check_count SEEDS "$SEEDS" 1
  [[ -z "${EPOCHS:-}" ]] || check_count EPOCHS "$EPOCHS" 1
  [[ -z "${MEMBERS:-}" ]] || check_count MEMBERS "$MEMBERS" 1
  [[ -n "$DEVICE" ]] || die "DEVICE is empty: give cuda, cuda:N, cpu or auto"
  local flag setting
  for flag in SKIP_INSTALL DRY_RUN; do
    [[ "${!flag:-0}" =~ ^[01]$ ]] || die "$flag must be 0 or 1, got '${!flag}'"
  done
  for setting in ${SETTINGS:-}; do
    [[ "$setting" =~ ^[A-Za-z_][A-Za-z0-9_.]*=.+ ]] \
      || die "SETTINGS must be a list of key=value, got '$setting' in SETTINGS='$SETTINGS'"
  done
}
check_variables
mkdir -p "$OUT" "$SEDLIB_DATA_ROOT"
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

step_setup() {
  if [[ "${SKIP_INSTALL:-0}" != 1 && ! -f "$SITE/.installed" ]]; then
    ls "$WHEELS"/*.whl >/dev/null 2>&1 || { echo "no wheels in $WHEELS: run tools/gpu/build_wheels.sh here first" >&2; exit 2; }
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
    touch "$SITE/.installed"
  fi
  "$PY" - <<'EOF'
import torch, soundfile, soxr, sed_scores_eval, sedlib
print(f"sedlib {sedlib.__version__}, torch {torch.__version__}, CUDA {torch.cuda.is_available()}"
      + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""))
EOF
}

step_data() {
  step_setup
  "$PY" -m sedlib data synthetic --preset paper --jobs 16
  if [[ -f "$SEDLIB_TUT_META/meta/meta_development.txt" ]]; then
    "$PY" -m sedlib data synthetic --preset tut-timeline --meta-dir "$SEDLIB_TUT_META" --jobs 16
  else
    echo "no TUT metadata in $SEDLIB_TUT_META: synthetic-tut-timeline skipped (carry .gpu/tut-meta)" >&2
  fi
}

step_smoke() {
  step_setup
  "$PY" tools/gpu/smoke.py --device "$DEVICE"
}

unpack_finished() {  # records of finished runs brought back from an earlier machine
  local archive
  for archive in "$CARRIED"/runs-*.tar.gz; do
    [[ -f "$archive" ]] && tar -xzf "$archive" -C "$SEDLIB_DATA_ROOT"
  done
  return 0
}

pack_finished() {  # $1 grid, $2 dataset
  local name="runs-$1-$(basename "$2").tar.gz"  # a data set given as a folder: its name
  (cd "$SEDLIB_DATA_ROOT" && find "runs/$1" -path '*/.work' -prune -o \( -name metrics.json -o -name run.json \) -print \
     | tar -czf "$OUT/$name" -T -) || true
  cp -r "$SEDLIB_DATA_ROOT/results/$1" "$OUT/results-$1-$(basename "$2")" 2>/dev/null || true
  echo "packed $OUT/$name"
}

unpack_in_progress() {  # $1 grid: its trainings in progress, packed by an earlier machine
  local archive="$CARRIED/in-progress-$1.tar.gz"
  [[ -f "$archive" ]] || return 0
  if compgen -G "$SEDLIB_DATA_ROOT/runs/$1/.work/.batched/*/group.pt" >/dev/null; then
    echo "kept the trainings in progress on this machine (not unpacking $archive)"
  else
    "$PY" -m sedlib carry unpack "$archive"
  fi
}

pack_in_progress() {  # $1 grid: its groups still training, for the next machine (sedlib carry)
  "$PY" -m sedlib carry pack "$OUT/in-progress-$1.tar.gz" --grid "$1"  # none: no file, exit 0
}

grid_arguments() {  # $1 step, $2 grid, $3 dataset, $4 seconds: refused when missing or wrong
  [[ -n "${2:-}" && -n "${3:-}" ]] || die "usage: bash tools/gpu/study.sh $1 GRID DATASET [SECONDS]: GRID and DATASET are required"
  check_count SECONDS "${4:-540}" 0
}

time_limit() {  # $1 seconds: the command prefix that stops a sweep after them (0: none)
  (( $1 > 0 )) && echo "timeout --signal=INT --kill-after=15 $1"
  return 0
}

step_grid() {  # $1 grid, $2 dataset, $3 seconds to stop after (default 540; 0: no limit)
  grid_arguments grid "$@"
  local grid="$1" dataset="$2" seconds="${3:-540}"
  step_setup
  unpack_finished
  local extra=()
  [[ -n "${EPOCHS:-}" ]] && extra+=(--epochs "$EPOCHS")
  for setting in ${SETTINGS:-}; do extra+=(--set "$setting"); done
  set +e
  # shellcheck disable=SC2046  # the time limit is a command prefix, or nothing
  $(time_limit "$seconds") "$PY" -m sedlib sweep --grid "$grid" --dataset "$dataset" --device "$DEVICE" \
    --seeds "$SEEDS" --jobs "$JOBS" --executor python "${extra[@]}"
  local status=$?
  set -e
  "$PY" -m sedlib sweep --grid "$grid" --dataset "$dataset" --device "$DEVICE" --seeds "$SEEDS" \
    --aggregate-only "${extra[@]}" || true
  pack_finished "$grid" "$dataset"
  [[ $status == 0 || $status == 124 || $status == 130 ]] || return "$status"
}

step_grid_batched() {  # $1 grid, $2 dataset, $3 seconds to stop after (default 540; 0: no limit)
  grid_arguments grid-batched "$@"
  local grid="$1" dataset="$2" seconds="${3:-540}" start
  start=$(date +%s)
  step_setup
  unpack_finished
  unpack_in_progress "$grid"
  local extra=()
  [[ -n "${EPOCHS:-}" ]] && extra+=(--epochs "$EPOCHS")
  for setting in ${SETTINGS:-}; do extra+=(--set "$setting"); done
  [[ -n "${MEMBERS:-}" ]] && export SEDLIB_BATCHED_MEMBERS="$MEMBERS"
  local left=0
  if (( seconds > 0 )); then
    left=$(( seconds - ($(date +%s) - start) - 45 ))  # 45 s kept for aggregating and packing
    (( left > 10 )) || left=10
  fi
  set +e
  # shellcheck disable=SC2046  # the time limit is a command prefix, or nothing
  $(time_limit "$left") "$PY" -m sedlib sweep --grid "$grid" --dataset "$dataset" \
    --device "$DEVICE" --seeds "$SEEDS" --executor batched "${extra[@]}"
  local status=$?
  set -e
  "$PY" -m sedlib sweep --grid "$grid" --dataset "$dataset" --device "$DEVICE" --seeds "$SEEDS" \
    --aggregate-only "${extra[@]}" || true
  pack_finished "$grid" "$dataset"
  pack_in_progress "$grid"
  echo "grid-batched $grid $dataset: $(( $(date +%s) - start )) s of $seconds"
  [[ $status == 0 || $status == 124 || $status == 130 ]] || return "$status"
}

merge_settings() {  # $1 the user's SETTINGS, $2 the ones a step needs: both, or a refusal naming the clash
  local merged="$1" needed given
  for needed in $2; do
    for given in $1; do
      if [[ "${given%%=*}" == "${needed%%=*}" ]]; then
        [[ "$given" == "$needed" ]] && continue 2
        die "SETTINGS gives $given, but paper-like runs with $needed (the arms that explain, chapter 5): remove ${given%%=*} from SETTINGS"
      fi
    done
    merged="${merged:+$merged }$needed"
  done
  echo "$merged"
}

step_paper_like() {  # $1 dataset (default: synthetic-tut-timeline at the calibrated difficulty), $2 seconds
  local offset dataset
  # the values the committed result sets chose (data/results/ of this checkout, whatever the data root)
  offset=$("$PY" -c "
from pathlib import Path
from sedlib.study.choices import calibrated_offset
found = calibrated_offset(Path('data/results'))
print('' if found is None else f'{found.value:g}')")
  dataset="${1:-synthetic-tut-timeline${offset:+-ebr$offset}}"
  local like
  like=$("$PY" -c "
from pathlib import Path
from sedlib.study.attribution import cause_findings, paper_like
like = paper_like(cause_findings(Path('data/results')))
print(' '.join(f'{k}={v}' for k, v in like.settings.items()))")
  [[ -n "$like" ]] || die "no arm explains a gap under the verdict rule yet (chapter 5): the paper-like rung has no settings"
  SETTINGS=$(merge_settings "${SETTINGS:-}" "$like")
  export SETTINGS
  if [[ "${DRY_RUN:-0}" == 1 ]]; then
    echo "grid-batched paper $dataset ${2:-540} SETTINGS=$SETTINGS"
    return 0
  fi
  step_grid_batched paper "$dataset" "${2:-540}"
}

step_all() {  # $1 seconds for the grids
  local budget="${1:-540}" start
  start=$(date +%s)
  step_data
  step_smoke
  for grid in paper gamma baselines; do
    for dataset in synthetic-paper synthetic-tut-timeline; do
      local left=$(( budget - ($(date +%s) - start) ))
      (( left > 30 )) || { echo "time is up: the next call resumes at $grid/$dataset"; return 0; }
      step_grid "$grid" "$dataset" "$left"
    done
  done
}

case "${1:-}" in
  setup) step_setup ;;
  data) step_data ;;
  smoke) step_smoke ;;
  grid) shift; step_grid "$@" ;;
  grid-batched) shift; step_grid_batched "$@" ;;
  paper-like) shift; step_paper_like "$@" ;;
  all) shift; step_all "$@" ;;
  *) sed -n '2,30p' "$0"; exit 2 ;;
esac
