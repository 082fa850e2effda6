#!/usr/bin/env bash
# tests/slurm-local.sh start|stop: a Slurm cluster of one node, this machine, for `make test-slurm`
# where no Slurm answers `sinfo`.
#   start  installs Debian's slurm-wlm and munge if they are missing, writes /etc/slurm/slurm.conf
#          for one node (all of this machine's CPUs, addressed on the loopback) and one partition,
#          starts munged (if no munged answers yet), slurmctld and slurmd, and waits until `sinfo`
#          shows the node idle. Needs root.
#   stop   ends the daemons that `start` started (by the process ids it recorded), nothing else.
# State, logs and process ids go to $SLURM_LOCAL_DIR (default: $TMPDIR/mbrl-slurm-local); a
# slurm.conf that this script did not write is kept as slurm.conf.before-mbrl.
set -euo pipefail

state=${SLURM_LOCAL_DIR:-${TMPDIR:-/tmp}/mbrl-slurm-local}
conf=/etc/slurm/slurm.conf
marker="# written by mbrl tests/slurm-local.sh"

say() { echo "slurm-local: $*"; }

install_if_missing() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && return
    say "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
    local host cpus
    host=$(hostname -s)
    cpus=$(nproc)
    mkdir -p /etc/slurm
    if [[ -f $conf ]] && ! grep -qxF "$marker" "$conf"; then
        mv "$conf" "$conf.before-mbrl"
        say "kept the existing $conf as $conf.before-mbrl"
    fi
    cat >"$conf" <<CONF
$marker
ClusterName=mbrl-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# no cgroups: processes are tracked by their parent ids, tasks are not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        say "munged already answers"
        return
    fi
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
    chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    chmod 0400 /etc/munge/munge.key
    chmod 0755 /run/munge
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$state/munged.pid"
}

start() {
    [[ $(id -u) == 0 ]] || { say "start needs root"; exit 1; }
    install_if_missing
    stop_recorded quiet
    rm -rf "$state"
    mkdir -p "$state/ctld" "$state/slurmd"
    write_conf
    start_munge
    slurmctld
    slurmd
    for _ in $(seq 60); do
        if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
            sinfo
            say "up (state and logs in $state); stop with: $0 stop"
            return
        fi
        sleep 1
    done
    say "the node did not become idle in 60 s; the logs' last lines:"
    tail -n 15 "$state"/slurmctld.log "$state"/slurmd.log 2>/dev/null || true
    stop_recorded
    exit 1
}

# Ends each daemon whose pid file is in $state, and waits (up to 10 s each) until it is gone.
stop_recorded() {
    local name pid
    for name in slurmd slurmctld munged; do
        [[ -f $state/$name.pid ]] || continue
        pid=$(cat "$state/$name.pid")
        rm -f "$state/$name.pid"
        [[ $pid =~ ^[0-9]+$ ]] || continue
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        [[ ${1:-} == quiet ]] || say "stopped $name (pid $pid)"
    done
}

case ${1:-} in
start) start ;;
stop) stop_recorded ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
