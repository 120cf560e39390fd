#!/usr/bin/env bash
# Runs scripts/slurm/shards.sbatch on a real single-node Slurm started here, on localhost: a
# private munged, slurmctld and slurmd (one node of 2 CPUs, free ports, everything under one
# temporary folder), the job array of N shards and the merge job it submits, then stops the
# daemons. Needs Debian's slurm-wlm and munge (.ci/run installs them) and root (slurmd).
#
#   [SWEEP=sweep.toml] scripts/slurm/local.sh BIN CORPUS RUN N
#
# leaves the shards in RUN/shard-K and the merge in RUN/merged; prints the seconds it took.
# tests/slurm.rs runs it and compares RUN/merged/results.csv with an unsharded run.
set -euo pipefail
BIN=$(realpath "$1"); CORPUS=$(realpath "$2"); RUN=$3; N=$4; shift 4
mkdir -p "$RUN"; RUN=$(realpath "$RUN")
here=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s.%N)
S=$(mktemp -d /tmp/codecbench-slurm.XXXXXX)
chmod 755 "$S"

stop() {
  for p in "$S"/slurmd.pid "$S"/slurmctld.pid "$S"/munged.pid; do
    [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  sleep 1
  for p in "$S"/slurmd.pid "$S"/slurmctld.pid "$S"/munged.pid; do
    [ -s "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null || true
  done
  rm -rf "$S"
}
fail() {
  echo "slurm: $*" >&2
  for f in "$S"/*.log "$RUN"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }; done
  stop
  exit 1
}
trap stop EXIT

# munge: a key of our own and a socket of our own (a munged already running is left alone).
mkdir -p "$S/munge"; chmod 700 "$S/munge"
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$S/munge/munge.key"
munged --force --socket="$S/munge/socket" --key-file="$S/munge/munge.key" \
  --pid-file="$S/munged.pid" --log-file="$S/munged.log" --seed-file="$S/munge/seed" \
  || fail "munged did not start"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
mkdir -p "$S/state" "$S/spool"
cat >"$S/slurm.conf" <<EOF
ClusterName=codecbench-ci
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/socket
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MaxArraySize=1001
NodeName=$host CPUs=2 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf
slurmctld -c || fail "slurmctld did not start"
slurmd || fail "slurmd did not start"
for _ in $(seq 100); do
  sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && break
  sleep 0.2
done
sinfo -h -o %T | grep -qE '^idle' || fail "the node did not come up"

# The script under test, as a user submits it (its 8 CPUs per task do not fit a 2-CPU node).
cache=$S/cache
cd "$RUN"
array=$(BIN=$BIN RUN=$RUN CORPUS=$CORPUS CACHE=$cache sbatch --parsable --array=1-"$N" \
  --cpus-per-task=1 --export=ALL "$here/shards.sbatch") || fail "sbatch refused the array"
echo "slurm: array job $array, $N shards"
# The first task submits the merge job; wait until it ran.
for _ in $(seq 1500); do
  [ -f "$RUN/merged/results.csv" ] && [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 0.2
done
[ -f "$RUN/merged/results.csv" ] || fail "no merged results.csv after 300 s"
for k in $(seq "$N"); do
  [ -f "$RUN/shard-$k/results.csv" ] || fail "shard $k wrote no results.csv"
done
end=$(date +%s.%N)
echo "slurm: $N shards and the merge in $(python3 -c "print(round($end - $start, 1))") s (daemons included)"
