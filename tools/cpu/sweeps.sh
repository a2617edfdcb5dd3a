#!/usr/bin/env bash
# Long CPU sweeps that span work sessions on machines that do not keep their disk.
#
#   bash tools/cpu/sweeps.sh start PLAN [CHAINS]  # unpack data/in-progress/, then CHAINS (2)
#                                                 # background chains, chain i running shard i/CHAINS
#                                                 # of every sweep of PLAN in turn
#   bash tools/cpu/sweeps.sh stop PLAN            # end the chains (SIGTERM: a group loses at most the
#                                                 # epoch it was in), aggregate each sweep's finished
#                                                 # runs into data/results/ and pack every grid's
#                                                 # trainings in progress into data/in-progress/
#   bash tools/cpu/sweeps.sh status               # the chains' last lines
#
# PLAN: a file with one sweep a line, its `sedlib sweep` options without --shard
# (e.g. tools/cpu/issue30.plan); '#' starts a comment. Finished runs come back on a fresh
# checkout from the committed result sets (sedlib.study.sweep.restore_stored), trainings in
# progress from data/in-progress/<grid>.tar.gz (`sedlib carry`), so that `start` on a new
# machine resumes every group at the epoch it had reached. Commit data/results/ and
# data/in-progress/ after `stop`.
# Each chain is one process with one thread, at nice 19 (SEDLIB_BATCHED_MEMBERS=4 a group:
# benchmarks/RESULTS.md, "two processes, batched M=4, 1 thread each").
# Variables: SEDLIB (.venv/bin/sedlib), SEDLIB_DATA_ROOT (data), LOGS (<data root>/logs),
# CARRIED (data/in-progress).
set -euo pipefail
cd "$(dirname "$0")/../.."
SEDLIB="${SEDLIB:-$PWD/.venv/bin/sedlib}"
DATA="${SEDLIB_DATA_ROOT:-$PWD/data}"
LOGS="${LOGS:-$DATA/logs}"
CARRIED="${CARRIED:-$PWD/data/in-progress}"  # committed: the next machine's checkout has it
RUNS="$DATA/runs"

die() { echo "tools/cpu/sweeps.sh: $*" >&2; exit 2; }

plan_lines() {  # the sweeps of PLAN, one a line
  [[ -f "$1" ]] || die "no plan file $1"
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || die "$1 holds no sweep"
}

chain() {  # $1 shard i/n, $2 plan: every sweep of the plan in turn, until interrupted
  local stop=0 line
  set -f  # a plan's run patterns (--runs 'bce-*') are sedlib's, not file names
  trap 'stop=1' TERM  # (a background job ignores SIGINT, and so do its children)
  while IFS= read -r line; do
    (( stop )) && break
    echo "== $(date -u +%FT%TZ) shard $1: sedlib sweep $line"
    # shellcheck disable=SC2086  # a plan line is a list of options
    nice -n 19 "$SEDLIB" sweep $line --shard "$1" --executor batched < /dev/null || echo "== exit $?"
  done < <(plan_lines "$2")
  echo "== $(date -u +%FT%TZ) shard $1: done"
}

start() {  # $1 plan, $2 chains
  local plan="$1" chains="${2:-2}" archive grid
  plan_lines "$plan" >/dev/null
  mkdir -p "$LOGS"
  for archive in "$CARRIED"/*.tar.gz; do
    [[ -f "$archive" && "$archive" != *.new.tar.gz ]] || continue
    grid=$(basename "$archive" .tar.gz)
    if compgen -G "$RUNS/$grid/.work/.batched/*/group.pt" >/dev/null; then
      echo "kept the trainings in progress here for grid $grid (not unpacking $archive)"
    else
      "$SEDLIB" carry unpack "$archive"
    fi
  done
  export SEDLIB_BATCHED_MEMBERS="${SEDLIB_BATCHED_MEMBERS:-4}" OMP_NUM_THREADS=1 SEDLIB_THREADS=1
  export PYTHONUNBUFFERED=1
  for (( i = 0; i < chains; i++ )); do
    setsid bash "$0" chain "$i/$chains" "$plan" >> "$LOGS/chain-$i.log" 2>&1 &
    echo $! > "$LOGS/chain-$i.pid"
    echo "chain $i/$chains started (pid $!, log $LOGS/chain-$i.log)"
  done
}

stop() {  # $1 plan
  local plan="$1" pidfile pid line grid n=0
  plan_lines "$plan" >/dev/null
  for pidfile in "$LOGS"/chain-*.pid; do
    [[ -f "$pidfile" ]] || continue
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || true  # the chain's process group: the loop and its sweep
    while kill -0 "$pid" 2>/dev/null && (( n++ < 300 )); do sleep 1; done
    kill -0 "$pid" 2>/dev/null && die "chain $pid is still running after 300 s"
    rm -f "$pidfile"
  done
  mkdir -p "$CARRIED"
  set -f
  while IFS= read -r line; do
    line=$(sed -E 's/--runs[ =][^ ]+//' <<< "$line")  # aggregating collects the whole grid
    # shellcheck disable=SC2086
    "$SEDLIB" sweep $line --aggregate-only || true  # exit 1: none of its runs has finished yet
  done < <(plan_lines "$plan")
  for grid in $(plan_lines "$plan" | sed -n 's/.*--grid[ =]\([^ ]*\).*/\1/p' | sort -u); do
    rm -f "$CARRIED/$grid.new.tar.gz"
    "$SEDLIB" carry pack "$CARRIED/$grid.new.tar.gz" --grid "$grid"  # nothing in progress: no file
    if [[ -f "$CARRIED/$grid.new.tar.gz" ]]; then
      mv "$CARRIED/$grid.new.tar.gz" "$CARRIED/$grid.tar.gz"
    elif [[ -f "$CARRIED/$grid.tar.gz" ]]; then
      rm "$CARRIED/$grid.tar.gz" && echo "grid $grid: nothing in progress, its archive removed"
    fi
  done
}

case "${1:-}" in
  start) [[ $# -ge 2 ]] || die "usage: start PLAN [CHAINS]"; start "$2" "${3:-2}" ;;
  stop) [[ $# -eq 2 ]] || die "usage: stop PLAN"; stop "$2" ;;
  chain) chain "$2" "$3" ;;
  status) for log in "$LOGS"/chain-*.log; do echo "## $log"; tail -c 400 "$log"; echo; done ;;
  *) die "usage: start PLAN [CHAINS] | stop PLAN | status" ;;
esac
