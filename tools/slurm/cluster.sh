#!/usr/bin/env bash
# A one-node SLURM cluster on this machine: munged, slurmctld and slurmd on localhost,
# for the tests of `sedlib sweep --executor slurm` (tests/test_slurm.py) and to try it.
#
#   bash tools/slurm/cluster.sh install              Debian's SLURM and munge (apt-get), when missing
#   eval "$(bash tools/slurm/cluster.sh start [DIR])"
#       starts the three daemons with everything in DIR (default: a new /tmp/sedlib-slurm.*),
#       waits until the node takes jobs, and prints the two exports the SLURM commands need:
#       SLURM_CONF=DIR/slurm.conf and SEDLIB_SLURM_DIR=DIR
#   bash tools/slurm/cluster.sh stop DIR             cancels the cluster's jobs, stops the daemons
#                                                    started in DIR (by their pid files), removes DIR
#
# The cluster: one node with this machine's cores and memory, one partition (debug),
# ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, SelectType=select/cons_tres,
# no accounting (sacct answers "accounting storage is disabled"), its own munge key and
# socket, and free ports: it runs beside any other SLURM. Needs root (slurmd starts the
# jobs as their users). Messages go to stderr; only the exports go to stdout.
set -euo pipefail

say() { echo "cluster.sh: $*" >&2; }

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
    && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return 0
  fi
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  say "installing Debian's slurmctld, slurmd, slurm-client and munge"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_conf() {
  local dir=$1 node ctld_port slurmd_port memory
  node=$(hostname -s)
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [[ $slurmd_port == "$ctld_port" ]]; do slurmd_port=$(free_port); done
  memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  cat >"$dir/slurm.conf" <<EOF
# One-node test cluster made by tools/slurm/cluster.sh
ClusterName=sedlibtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait=5
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  local dir=${1:-}
  install_check
  if [[ -z $dir ]]; then
    dir=$(mktemp -d /tmp/sedlib-slurm.XXXXXX)
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # munged wants its socket folder and every folder above it open to all (x), its key private
  chmod 755 "$dir"
  mkdir -p -m 755 "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null \
    || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
  chmod 600 "$dir/munge/munge.key"
  write_conf "$dir"
  export SLURM_CONF=$dir/slurm.conf
  munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  local deadline=$((SECONDS + 60))
  until sinfo -h -o %T 2>/dev/null | grep -q '^idle'; do
    if ((SECONDS > deadline)); then
      say "the node did not become idle within 60 s; logs in $dir/log:"
      tail -n 20 "$dir"/log/*.log >&2 || true
      stop "$dir"
      return 1
    fi
    sleep 0.2
  done
  say "one-node cluster up in $dir ($(sinfo -h -o '%N, %c CPUs, %m MB'))"
  echo "export SLURM_CONF=$SLURM_CONF"
  echo "export SEDLIB_SLURM_DIR=$dir"
}

install_check() {
  for program in munged mungekey slurmctld slurmd sinfo; do
    command -v "$program" >/dev/null || {
      say "$program is missing: run 'bash tools/slurm/cluster.sh install' first"
      exit 1
    }
  done
}

stop_daemons() {  # SIGTERM to the daemons of these pid files that still run; SIGKILL after 10 s
  local pids=() pid file
  for file in "$@"; do
    [[ -f $file ]] && pid=$(cat "$file") && [[ -n $pid ]] && kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

stop() {
  local dir=${1:?usage: cluster.sh stop DIR}
  [[ -f $dir/slurm.conf ]] || { say "$dir holds no cluster"; return 1; }
  export SLURM_CONF=$dir/slurm.conf
  local jobs
  jobs=$(squeue -h -o %A 2>/dev/null | sort -u || true)
  if [[ -n $jobs ]]; then
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 100); do
      [[ -z $(squeue -h -o %A 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  stop_daemons "$dir/slurmd.pid" "$dir/slurmctld.pid"
  stop_daemons "$dir/munge/munged.pid"  # munge last: the SLURM daemons talk to it until they end
  rm -rf "$dir"
  say "stopped the cluster of $dir"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: bash tools/slurm/cluster.sh install | start [DIR] | stop DIR" >&2
    exit 2
    ;;
esac
