#!/usr/bin/env bash
# Start a real one-node SLURM cluster on this machine (Debian 12, root), idempotently:
# installs slurmctld, slurmd, slurm-client and munge when missing, creates the munge key,
# starts munged, writes /etc/slurm/slurm.conf for this host (its name, CPUs, memory; one
# partition "debug"), starts slurmctld and slurmd (no systemd needed), and waits until
# `sinfo` shows the node idle. Running it again while the cluster is up changes nothing.
# Stop it with workflows/slurm/stop-local-cluster.sh (daemons stopped by PID).
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "start-local-cluster.sh: must run as root (installs packages, starts daemons)." >&2
  exit 77
fi

PKGS="slurmctld slurmd slurm-client munge"
if ! dpkg -s $PKGS >/dev/null 2>&1; then
  echo "installing $PKGS ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
fi

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- munge: key (1024 random bytes, owner munge, mode 400) and daemon
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
chmod 400 /etc/munge/munge.key
chmod 700 /etc/munge
chmod 755 /run/munge
if ! alive /run/munge/munged.pid; then
  runuser -u munge -- /usr/sbin/munged --force
fi
for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || { echo "munged does not answer" >&2; exit 1; }

# --- slurm.conf for this host
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
CONF=$(cat <<EOF
# written by photoprop workflows/slurm/start-local-cluster.sh: a one-node test cluster
ClusterName=photoprop
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
)
RESTART=0
if [ ! -f /etc/slurm/slurm.conf ] || [ "$(cat /etc/slurm/slurm.conf)" != "$CONF" ]; then
  printf '%s\n' "$CONF" > /etc/slurm/slurm.conf
  RESTART=1
fi
if [ "$RESTART" = 1 ]; then  # a changed config: restart daemons that run with the old one
  for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
    if alive "$pidfile"; then
      pid=$(cat "$pidfile"); kill "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
fi

# --- daemons (they daemonize themselves)
if ! alive /run/slurmctld.pid; then /usr/sbin/slurmctld -c; fi
if ! alive /run/slurmd.pid; then /usr/sbin/slurmd; fi

# --- wait for the node to be idle (or busy with jobs: mixed/allocated)
for _ in $(seq 120); do
  state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null | head -n1 || true)
  case "$state" in
    idle|mix|alloc) echo "SLURM up: node $HOST ($CPUS CPUs, ${MEM_MB} MB) $state, partition debug"; exit 0 ;;
    down*|drain*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
echo "SLURM did not become ready within 60 s (sinfo state: '${state:-none}'); see /var/log/slurm/" >&2
exit 1
