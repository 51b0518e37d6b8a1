#!/usr/bin/env bash
# Stop the one-node SLURM cluster started by start-local-cluster.sh: slurmd, slurmctld and
# munged, each by the PID in its pid file (nothing else is touched). Idempotent.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "stop-local-cluster.sh: must run as root." >&2
  exit 77
fi

for pidfile in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    echo "stopped $(basename "$pidfile" .pid) (pid $pid)"
  fi
  rm -f "$pidfile"
done
