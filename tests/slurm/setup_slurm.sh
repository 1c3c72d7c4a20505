#!/usr/bin/env bash
# Install and start a single-node SLURM cluster on this machine, for the integration test
# tests/test_slurm.py and for trying the profiles/slurm profile locally.
#
#   sudo bash tests/slurm/setup_slurm.sh          # install (if needed) and start
#
# What it sets up, all on localhost:
#   munged, MariaDB (socket only, no TCP), slurmdbd (accounting, so that `sacct` reports
#   job states), slurmctld and slurmd with one node (this machine: its memory, and at
#   least 8 CPUs) in one default partition "debug".
# Idempotent: when `sinfo` already answers and `sacct` works, it does nothing.
# Needs root and Debian/Ubuntu apt (packages: slurmctld slurmd slurm-client slurmdbd munge
# mariadb-server). Exit status 0: cluster up; 3: SLURM cannot be installed here (not root,
# no apt-get, packages unreachable); other: it is installed but did not start (stderr says
# why, the daemons' logs are in /var/log/slurm).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

CLUSTER=grnlink
PARTITION=debug
MIN_CPUS=8
LOG_DIR=/var/log/slurm

die() { echo "setup_slurm: $*" >&2; exit 1; }
cannot_install() { echo "setup_slurm: $*" >&2; exit 3; }

cluster_answers() {
    sinfo --noheader -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' \
        && sacct --noheader -X -o JobID --starttime now-1minutes >/dev/null 2>&1
}

if command -v sinfo >/dev/null && cluster_answers; then
    echo "setup_slurm: SLURM already up"
    exit 0
fi

[ "$(id -u)" = 0 ] || cannot_install "needs root (it installs packages and starts daemons)"

install_packages() {
    command -v apt-get >/dev/null || cannot_install "apt-get not found: cannot install SLURM here"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || cannot_install "apt-get update failed"
    apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client slurmdbd munge mariadb-server >/dev/null \
        || cannot_install "apt-get install of SLURM/munge/MariaDB failed"
}
for binary in slurmctld slurmd slurmdbd sbatch sacct munged mariadbd; do
    if ! command -v "$binary" >/dev/null; then
        install_packages
        break
    fi
done

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq "$((seconds * 2))"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    die "$what did not come up within ${seconds}s (logs in $LOG_DIR)"
}

mkdir -p "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd /run/munge /run/mysqld /etc/slurm
chown munge:munge /run/munge
chown mysql:mysql /run/mysqld

# ---- munge (authentication between the SLURM daemons and clients) ----
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
fi
wait_for 10 munged bash -c 'munge -n | unmunge'

# ---- MariaDB (the accounting database behind slurmdbd) ----
if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
fi
if ! pgrep -x mariadbd >/dev/null; then
    runuser -u mysql -- mariadbd --skip-networking --datadir=/var/lib/mysql \
        --socket=/run/mysqld/mysqld.sock \
        --innodb-lock-wait-timeout=900 --innodb-buffer-pool-size=64M >"$LOG_DIR/mariadb.log" 2>&1 &
fi
wait_for 30 MariaDB mariadb -e 'SELECT 1'
mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpass';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"

# ---- slurm.conf: this machine is the one node of partition $PARTITION ----
HOST=$(hostname -s)
# The node offers SLURM at least $MIN_CPUS CPUs (sharing the real cores: config_overrides),
# so that a job asking profiles/slurm's largest thread count is admissible, as on a real
# cluster node; memory is the real memory.
CPUS=$(( $(nproc) > MIN_CPUS ? $(nproc) : MIN_CPUS ))
MEMORY_MB=$(slurmd -C | head -1 | sed -e 's/.*RealMemory=\([0-9]*\).*/\1/')
cat >/etc/slurm/slurm.conf <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# No cgroups: works inside containers.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MinJobAge=300
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
# sacct shows each job's --comment (the plugin writes the rule name there).
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

# ---- slurmdbd ----
cat >/etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=/run/slurmdbd.pid
LogFile=$LOG_DIR/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurmdbpass
StorageLoc=slurm_acct_db
EOF
chmod 600 /etc/slurm/slurmdbd.conf
if ! pgrep -x slurmdbd >/dev/null; then
    slurmdbd
fi
wait_for 30 slurmdbd sacctmgr -n list cluster

# ---- slurmctld + slurmd ----
# The cluster must be known to the accounting database before slurmctld registers.
sacctmgr -i -Q add cluster "$CLUSTER" >/dev/null 2>&1 || true
if ! pgrep -x slurmctld >/dev/null; then
    slurmctld
fi
wait_for 30 slurmctld scontrol ping
if ! pgrep -x slurmd >/dev/null; then
    slurmd
fi
# A node left DOWN or DRAINED by an earlier run of the daemons is put back in service.
if sinfo --noheader -n "$HOST" -o '%T' | grep -qiE 'down|drain'; then
    scontrol update NodeName="$HOST" State=RESUME
fi
wait_for 60 "the SLURM node" cluster_answers
echo "setup_slurm: SLURM up (cluster $CLUSTER, partition $PARTITION, node $HOST)"
sinfo
