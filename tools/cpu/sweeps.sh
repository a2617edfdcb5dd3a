#!/usr/bin/env bash
# Long CPU sweeps that span work sessions on machines that do not keep their disk.
#
#   bash tools/cpu/sweeps.sh start PLAN [CHAINS]  # unpack data/in-progress/, then CHAINS (2)
#                                                 # background chains, chain i running shard i/CHAINS
#                                                 # of every sweep of PLAN in turn
#   bash tools/cpu/sweeps.sh stop PLAN            # end the chains (SIGTERM: a group loses the epoch
#                                                 # it was in), aggregate each sweep's finished runs
#                                                 # into data/results/ and pack every grid's
#                                                 # trainings in progress into data/in-progress/
#   bash tools/cpu/sweeps.sh status               # the chains' last lines
#
# PLAN: a file with one sweep a line, its `sedlib sweep` options without --shard, without
# quotes (e.g. tools/cpu/issue30.plan); '#' starts a comment. Finished runs come back on a fresh
# checkout from the committed result sets (sedlib.study.sweep.restore_stored), trainings in
# progress from data/in-progress/<grid>.tar.gz (`sedlib carry`), so that `start` on a new
# machine resumes every group at the epoch it had reached. The shards must stay the same
# (a group is resumed by the shard that planned it): `start` keeps CHAINS in
# data/in-progress/chains and refuses another count while archives wait there.
# Commit data/results/ and data/in-progress/ after `stop`.
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
  if grep -v '^[[:space:]]*#' "$1" | grep -q "[\"']"; then
    die "$1: a plan line is split at spaces and passed as it is; write it without quotes"
  fi
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || die "$1 holds no sweep"
}

live_chain() {  # $1 pid file: its chain's pid, if that process is a chain of this script
  local pid
  [[ -f "$1" ]] || return 1
  pid=$(cat "$1")
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "sweeps.sh chain" \
    && echo "$pid"
}

chain() {  # $1 shard i/n, $2 plan: every sweep of the plan in turn, until ended
  local stop=0 line
  CHAIN_PIDFILE="$LOGS/chain-${1%/*}.pid"  # global: the EXIT trap runs after the function
  set -f  # a plan's run patterns (--runs bce-*) are sedlib's, not file names
  trap 'stop=1' TERM  # (a background job ignores SIGINT, and so do its children)
  trap 'rm -f "$CHAIN_PIDFILE"' EXIT
  while IFS= read -r line; do
    (( stop )) && break
    echo "== $(date -u +%FT%TZ) shard $1: sedlib sweep $line"
    # shellcheck disable=SC2086  # a plan line is a list of options
    nice -n 19 "$SEDLIB" sweep $line --shard "$1" --executor batched < /dev/null || echo "== exit $?"
  done < <(plan_lines "$2")
  echo "== $(date -u +%FT%TZ) shard $1: done"
}

start() {  # $1 plan, $2 chains
  local plan="$1" chains="${2:-2}" archive pidfile
  [[ "$chains" =~ ^[1-9][0-9]*$ ]] || die "CHAINS must be a whole number of at least 1, got '$chains'"
  plan_lines "$plan" >/dev/null
  mkdir -p "$LOGS" "$CARRIED"
  for pidfile in "$LOGS"/chain-*.pid; do
    live_chain "$pidfile" >/dev/null && die "chains are running ($pidfile): stop them first"
  done
  if compgen -G "$CARRIED/*.tar.gz" >/dev/null && [[ -f "$CARRIED/chains" ]] \
     && [[ "$(cat "$CARRIED/chains")" != "$chains" ]]; then
    die "the archives in $CARRIED were packed by $(cat "$CARRIED/chains") chains; start as many"
  fi
  for archive in "$CARRIED"/*.tar.gz; do  # the same files again are kept; other state refuses
    [[ -f "$archive" ]] || continue
    "$SEDLIB" carry unpack "$archive" || die "$archive not unpacked (above: why); nothing started"
  done
  echo "$chains" > "$CARRIED/chains"
  export SEDLIB_BATCHED_MEMBERS="${SEDLIB_BATCHED_MEMBERS:-4}" OMP_NUM_THREADS=1 SEDLIB_THREADS=1
  export PYTHONUNBUFFERED=1 LOGS
  for (( i = 0; i < chains; i++ )); do
    setsid bash "$0" chain "$i/$chains" "$plan" >> "$LOGS/chain-$i.log" 2>&1 &
    echo $! > "$LOGS/chain-$i.pid"
    echo "chain $i/$chains started (pid $!, log $LOGS/chain-$i.log)"
  done
}

end_chains() {  # SIGTERM to each live chain's process group; wait for it
  local pidfile pid n
  for pidfile in "$LOGS"/chain-*.pid; do
    pid=$(live_chain "$pidfile") || { rm -f "$pidfile"; continue; }
    kill -TERM -- "-$pid" 2>/dev/null || true  # the chain's process group: the loop and its sweep
    n=0
    while kill -0 "$pid" 2>/dev/null && (( n++ < 300 )); do sleep 1; done
    kill -0 "$pid" 2>/dev/null && die "chain $pid is still running after 300 s"
    rm -f "$pidfile"
  done
  return 0
}

aggregate() {  # $1 plan: each grid's finished runs, committed ones included, into data/results
  local line out failed=0
  while IFS= read -r line; do
    line=$(sed -E 's/--runs[ =][^ ]+//' <<< "$line")  # aggregating collects the whole grid
    # shellcheck disable=SC2086
    if ! out=$("$SEDLIB" sweep $line --aggregate-only 2>&1); then
      echo "$out" | tail -3
      grep -q "has finished; no results were written" <<< "$out" || failed=1
    else
      echo "$out" | tail -1
    fi
  done < <(plan_lines "$1")
  return "$failed"
}

pack() {  # $1 plan: each grid's trainings in progress into $CARRIED/<grid>.tar.gz
  local grid
  for grid in $(plan_lines "$1" | sed -n 's/.*--grid[ =]\([^ ]*\).*/\1/p' | sort -u); do
    # none in progress: no archive, and an old one removed once all its runs finished here;
    # an old one with trainings neither here nor finished (never unpacked) stops it
    "$SEDLIB" carry pack "$CARRIED/$grid.tar.gz" --grid "$grid"
  done
}

stop() {  # $1 plan
  local plan="$1" aggregated=0
  plan_lines "$plan" >/dev/null
  end_chains
  mkdir -p "$CARRIED"
  set -f
  aggregate "$plan" || aggregated=$?
  pack "$plan"
  (( aggregated == 0 )) || die "a grid's finished runs were not aggregated (above); they are \
in $RUNS only: aggregate them before this machine goes"
}

case "${1:-}" in
  start) [[ $# -ge 2 ]] || die "usage: start PLAN [CHAINS]"; start "$2" "${3:-2}" ;;
  stop) [[ $# -eq 2 ]] || die "usage: stop PLAN"; stop "$2" ;;
  chain) chain "$2" "$3" ;;
  status)
    compgen -G "$LOGS/chain-*.log" >/dev/null || { echo "no chain logs in $LOGS"; exit 0; }
    for log in "$LOGS"/chain-*.log; do echo "## $log"; tail -c 400 "$log"; echo; done ;;
  *) die "usage: start PLAN [CHAINS] | stop PLAN | status" ;;
esac
