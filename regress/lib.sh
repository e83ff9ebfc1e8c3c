# shellcheck shell=bash disable=SC2034,SC2046
# Shared helpers of the regress scripts (regress/pvd.sh, control.sh,
# sandbox.sh), sourced by bash.  Not executable on its own.
#
# The scripts are run by `make check` with top_builddir, top_srcdir and
# srcdir in the environment; by hand:
#	top_builddir=/path/to/build top_srcdir=/path/to/src regress/pvd.sh
#
# Every check prints one "ok - ..." or "not ok - ..." line; t_done
# prints "N passed, N failed" and exits 1 on a failure, 77 when checks
# that need root were skipped, 0 otherwise.  Every process a script
# starts or sees is recorded (with its start time, so that a reused pid
# is never killed) and killed on exit; every temporary directory is
# removed.

set -u

: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"

PVD="$top_builddir/pvd/pvd"
PVCTL="$top_builddir/pvctl/pvctl"
CTLCLIENT="$top_builddir/regress/ctlclient"
PV_CHILDREN="storage net discover"
PV_USER=_peervault
PV_EMPTY=/var/empty

T_PASS=0
T_FAIL=0
T_ROOTSKIP=0
T_PIDS=()		# "pid:starttime" of everything to kill on exit
T_DIRS=()		# temporary directories to remove on exit

# --- reporting

t_ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok - $1"
}

# t_notok description [diagnostic line ...]
t_notok() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $1"
	shift
	for l in "$@"; do
		echo "#   $l"
	done
}

# t_check description command [argument ...]
t_check() {
	local desc=$1
	shift
	if "$@"; then
		t_ok "$desc"
	else
		t_notok "$desc" "failed: $*"
	fi
}

# t_is description expected actual
t_is() {
	if [ "$2" = "$3" ]; then
		t_ok "$1"
	else
		t_notok "$1" "expected: $2" "got:      $3"
	fi
}

# A check that needs root, skipped without it.
t_skip_root() {
	T_ROOTSKIP=$((T_ROOTSKIP + 1))
	echo "ok - $1 # SKIP needs root"
}

# A check that cannot be made here, for a reason that is no failure.
t_skip() {
	echo "ok - $1 # SKIP ${*:2}"
}

# Print a file (the tail of it) as diagnostics.
t_diag() {
	[ -f "$1" ] || return 0
	echo "#   --- last lines of $1:"
	tail -n "${2:-15}" "$1" | sed 's/^/#   | /'
}

t_done() {
	echo "$T_PASS passed, $T_FAIL failed"
	if [ "$T_FAIL" -gt 0 ]; then
		exit 1
	fi
	if [ "$T_ROOTSKIP" -gt 0 ]; then
		why=${T_ROOTWHY:-need root for chroot and the user switch}
		echo "SKIP: $T_ROOTSKIP checks $why (run make check as root)"
		exit 77
	fi
	exit 0
}

t_skip_all() {
	echo "SKIP: $*"
	exit 77
}

is_root() {
	[ "$(id -u)" -eq 0 ]
}

# --- processes

# The start time of a process (field 22 of /proc/PID/stat), empty when
# there is no such process.
pid_starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	set -- $stat
	echo "${20}"
}

# Record pids to kill on exit.
t_track() {
	local p st e
	for p in "$@"; do
		case $p in
		''|0|*[!0-9]*)
			continue ;;
		esac
		st=$(pid_starttime "$p")
		[ -n "$st" ] || continue
		for e in "${T_PIDS[@]+"${T_PIDS[@]}"}"; do
			[ "$e" = "$p:$st" ] && continue 2
		done
		T_PIDS+=("$p:$st")
	done
}

# True when the process is the one recorded (same pid, same start).
pid_same() {
	local st
	st=$(pid_starttime "${1%%:*}")
	[ -n "$st" ] && [ "$st" = "${1#*:}" ]
}

# True when the process no longer runs: no such pid, or a zombie.
pid_gone() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

t_cleanup() {
	local e p n=0
	# pvd first, gently, so that it stops its children itself
	for e in "${T_PIDS[@]+"${T_PIDS[@]}"}"; do
		pid_same "$e" && kill -TERM "${e%%:*}" 2>/dev/null
	done
	while [ $n -lt 20 ]; do
		p=0
		for e in "${T_PIDS[@]+"${T_PIDS[@]}"}"; do
			if pid_same "$e" && ! pid_gone "${e%%:*}"; then
				p=1
				break
			fi
		done
		[ $p -eq 0 ] && break
		sleep 0.1
		n=$((n + 1))
	done
	for e in "${T_PIDS[@]+"${T_PIDS[@]}"}"; do
		pid_same "$e" && kill -KILL "${e%%:*}" 2>/dev/null
	done
	for e in "${T_DIRS[@]+"${T_DIRS[@]}"}"; do
		[ -n "$e" ] && [ -d "$e" ] && rm -rf "$e"
	done
	return 0
}
trap t_cleanup EXIT
trap 'exit 2' HUP INT TERM

# t_wait SECONDS command [argument ...]: poll every 0.1 s until the
# command succeeds (0) or SECONDS pass (1).
t_wait() {
	local tenths=$(($1 * 10))
	shift
	while ! "$@"; do
		tenths=$((tenths - 1))
		[ $tenths -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

# t_wait_exit PID SECONDS: wait for a background job of this shell to
# end; sets T_RC to its exit status (or to "timeout").
t_wait_exit() {
	if t_wait "$2" pid_gone "$1"; then
		wait "$1"
		T_RC=$?
		return 0
	fi
	T_RC=timeout
	return 1
}

# --- files and setup

# t_tmpdir: a new temporary directory (mode 755, so that the daemon
# user can reach what is in it) in T_TMP, removed on exit.  Not in
# $(...): the directory would be recorded in a subshell and left behind.
t_tmpdir() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pvregress.XXXXXXXX") || exit 99
	T_DIRS+=("$T_TMP")
	chmod 755 "$T_TMP"
}

t_require() {
	local b
	for b in "$PVD" "$PVCTL" "$top_builddir/pv-storaged/pv-storaged" \
	    "$top_builddir/pv-netd/pv-netd" \
	    "$top_builddir/pv-discoverd/pv-discoverd" "$@"; do
		if [ ! -x "$b" ]; then
			echo "not ok - $b is not built"
			echo "0 passed, 1 failed"
			exit 99
		fi
	done
	command -v jq >/dev/null 2>&1 ||
	    t_skip_all "needs jq (apt-get install jq) to read pvctl -j"
	command -v ss >/dev/null 2>&1 ||
	    t_skip_all "needs ss (apt-get install iproute2) to find a free port"
}

# Create the daemon user as the README says, if it is missing.  Two
# scripts may race here under make -j: retry while the other one holds
# the lock.
t_ensure_user() {
	local n=0 group=--user-group
	while ! id "$PV_USER" >/dev/null 2>&1; do
		# a group of that name left behind is used as it is
		getent group "$PV_USER" >/dev/null 2>&1 &&
		    group="--gid=$PV_USER"
		useradd --system --home-dir /var/empty --no-create-home \
		    --shell /usr/sbin/nologin "$group" "$PV_USER" \
		    >/dev/null 2>&1 && break
		n=$((n + 1))
		[ $n -lt 50 ] || break
		sleep 0.1
	done
	id "$PV_USER" >/dev/null 2>&1
}

# A TCP port nobody listens on, in 20000-40000.
t_free_port() {
	local p n=0
	while [ $n -lt 100 ]; do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 20001))
		if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
		n=$((n + 1))
	done
	echo 0
}

# pv_setup DIR [BINDIR]: a node in DIR (libexec links to the children
# in BINDIR/libexec, default the build tree), a free port and a
# pvd.conf.  Sets PV_DIR, PV_CONF, PV_SOCK, PV_LOG, PV_PORT, PV_DATA,
# PV_KEY.
pv_setup() {
	local bin b
	PV_DIR=$1
	mkdir -p "$PV_DIR/libexec"
	for b in pv-storaged pv-netd pv-discoverd; do
		if [ $# -ge 2 ]; then
			bin="$2/$b"
		else
			bin="$top_builddir/$b/$b"
		fi
		ln -sf "$bin" "$PV_DIR/libexec/$b"
	done
	PV_CONF="$PV_DIR/pvd.conf"
	PV_SOCK="$PV_DIR/pvd.sock"
	PV_LOG="$PV_DIR/pvd.log"
	PV_DATA="$PV_DIR/data"
	PV_KEY="$PV_DIR/network.key"
	PV_PORT=$(t_free_port)
	pv_write_conf
}

# pv_single: the start of a script on one node.  As root, the daemon
# user must exist (the script ends failed when it cannot be created);
# then a temporary directory in D, and the node set up in D/n1 and
# started, which is the script's first check.
pv_single() {
	if is_root && ! t_ensure_user; then
		t_notok "create the user $PV_USER"
		t_done
	fi
	t_tmpdir
	D=$T_TMP
	pv_setup "$D/n1"
	pv_start
	t_check "pvd starts" pv_ready
}

pv_write_conf() {
	cat >"$PV_CONF" <<EOF
# written by regress/lib.sh
listen on 127.0.0.1 port $PV_PORT
data "$PV_DATA"
key "$PV_KEY"
socket "$PV_SOCK"
EOF
	# this node's further statements (pvn_conf): bootstrap, timeouts
	if [ -f "$PV_DIR/extra.conf" ]; then
		cat "$PV_DIR/extra.conf" >>"$PV_CONF"
	fi
	chmod 644 "$PV_CONF"
}

# pv_start [command prefix ...]: start pvd -d in the background with
# the node of pv_setup, its log in PV_LOG; PV_PID is its pid.  A prefix
# (setpriv ...) must exec pvd, so that $! is pvd's pid.  When another
# test took the port meanwhile, try again on another port (the log of
# the failed attempt is kept as PV_LOG.1, .2).
pv_start() {
	local n
	for n in 1 2 3; do
		PV_LIBEXEC_DIR="$PV_DIR/libexec" "$@" "$PVD" -d \
		    -f "$PV_CONF" >"$PV_LOG" 2>&1 &
		PV_PID=$!
		t_track "$PV_PID"
		t_wait 10 pv_ready_or_gone
		if ! pid_gone "$PV_PID" && pv_ready; then
			return 0
		fi
		if pid_gone "$PV_PID" && grep -q "cannot listen" "$PV_LOG"; then
			wait "$PV_PID"
			# keep what it said (it may have created the key
			# and the data directory) out of the next log
			echo "# port $PV_PORT taken meanwhile, trying another"
			mv "$PV_LOG" "$PV_LOG.$n"
			PV_PORT=$(t_free_port)
			pv_write_conf
			continue
		fi
		return 1
	done
	return 1
}

# pvctl on the node's socket, with a time limit (a hung daemon must
# fail the test, not hang it): PVCTL_TIMEOUT seconds, 10 by default.
pvctl() {
	timeout "${PVCTL_TIMEOUT:-10}" "$PVCTL" -s "$PV_SOCK" "$@"
}

# pv_snap: take the status (JSON) into PV_DIR/status.json and track
# every pid in it.  Call it in the script's own shell, not in $(...) or
# a pipeline, or the pids are tracked in a subshell and lost.
pv_snap() {
	pvctl -j status >"$PV_DIR/status.json" 2>/dev/null || return 1
	t_track $(jq -r '.processes[].pid' "$PV_DIR/status.json" \
	    2>/dev/null)
	return 0
}

# pv_get NAME FIELD: a field of one process in the last snapshot
# ("pvd" is the parent); pv_get . FILTER: any jq filter.
pv_get() {
	if [ "$1" = . ]; then
		jq -r "$2" "$PV_DIR/status.json" 2>/dev/null
	else
		jq -r --arg n "$1" --arg f "$2" \
		    '.processes[] | select(.name == $n) | .[$f]' \
		    "$PV_DIR/status.json" 2>/dev/null
	fi
}

# True when pvd answers and reports four processes running.
pv_ready() {
	pv_snap && jq -e '(.processes | length) == 4 and
	    ([.processes[].state] | all(. == "running"))' \
	    "$PV_DIR/status.json" >/dev/null 2>&1
}

# Ready, or pvd (PV_PID) is gone: no use waiting longer.
pv_ready_or_gone() {
	pid_gone "$PV_PID" || pv_ready
}

pv_wait_ready() {
	t_wait "${1:-10}" pv_ready
}

# The first string of /proc/PID/cmdline: the process title (pvd pads
# its own with blanks, which ps shows as nothing).
proc_title() {
	tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1 |
	    sed 's/ *$//'
}

# proc_status PID FIELD: a line of /proc/PID/status without its name,
# tabs made single spaces.
proc_status() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null |
	    tr -s '\t ' '  ' | sed 's/ *$//'
}

# Count lines of the log holding a fixed string.
log_count() {
	grep -cF -- "$1" "$PV_LOG" 2>/dev/null
}

log_has() {
	grep -qF -- "$1" "$PV_LOG" 2>/dev/null
}

# --- several nodes on 127.0.0.1 (regress/replicate.sh, demo, bench)
#
# pvn_init COUNT: nodes 1..COUNT in T_TMP/n1 ..., each with its own port,
# data directory and socket, all with one network key (T_TMP/network.key).
# pvn_use I selects node I: it sets the PV_* variables of pv_setup, so
# pvctl, pv_snap, log_has ... act on node I.
PVN_PORT=()
PVN_PID=()
pvn_init() {
	local i
	PVN_COUNT=$1
	PVN_KEY="$T_TMP/network.key"
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 -v |
	    tr -d ' \n' >"$PVN_KEY")
	for i in $(seq 1 "$PVN_COUNT"); do
		pv_setup "$T_TMP/n$i"
		PVN_PORT[i]=$PV_PORT
	done
	for i in $(seq 1 "$PVN_COUNT"); do
		pvn_conf "$i"
	done
}

pvn_use() {
	PV_DIR="$T_TMP/n$1"
	PV_CONF="$PV_DIR/pvd.conf"
	PV_SOCK="$PV_DIR/pvd.sock"
	PV_LOG="$PV_DIR/pvd.log"
	PV_DATA="$PV_DIR/data"
	PV_KEY=$PVN_KEY
	PV_PORT=${PVN_PORT[$1]}
	PV_PID=${PVN_PID[$1]:-}
}

# pvn_conf I [J ...] [-- statement ...]: node I bootstraps from nodes J
# (default: every other node; "none": no bootstrap), by the name
# PVN_HOST (default 127.0.0.1), with a 5 s peer timeout and the
# statements given after --.
pvn_conf() {
	local i=$1 j peers=() extra=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		peers+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	extra=("$@")
	if [ ${#peers[@]} -eq 0 ]; then
		for j in $(seq 1 "$PVN_COUNT"); do
			[ "$j" -ne "$i" ] && peers+=("$j")
		done
	fi
	pvn_use "$i"
	{
		echo "peer timeout 5s"
		for j in "${peers[@]}"; do
			[ "$j" = none ] && continue
			echo "bootstrap \"${PVN_HOST:-127.0.0.1}\"" \
			    "port ${PVN_PORT[$j]}"
		done
		for j in "${extra[@]+"${extra[@]}"}"; do
			echo "$j"
		done
	} >"$PV_DIR/extra.conf"
	pv_write_conf
}

pvn_start() {
	pvn_use "$1"
	pv_start || return 1
	PVN_PID[$1]=$PV_PID
	PVN_PORT[$1]=$PV_PORT
}

# pvn_stop I: SIGTERM, and wait for pvd to end.
pvn_stop() {
	pvn_use "$1"
	[ -n "$PV_PID" ] || return 0
	kill -TERM "$PV_PID" 2>/dev/null
	t_wait_exit "$PV_PID" 20
	PVN_PID[$1]=
}

# pvn_kill I: kill -9 every process of node I at once.
pvn_kill() {
	local pids
	pvn_use "$1"
	pv_snap
	pids=$(jq -r '.processes[].pid' "$PV_DIR/status.json" 2>/dev/null)
	kill -KILL $pids "$PV_PID" 2>/dev/null
	t_wait_exit "$PV_PID" 20
	PVN_PID[$1]=
}

# pvn_has I NAME SHA256: node I lists NAME with that id and holds its
# blob (nothing pending), so that a get is served locally.
pvn_has() {
	pvn_use "$1"
	[ "$(pvctl -j list 2>/dev/null | jq -r --arg n "$2" \
	    '.[] | select(.name == $n) | .id')" = "$3" ] &&
	    [ "$(pvctl -j status 2>/dev/null |
	    jq -r '.replication.pending')" = 0 ]
}

# pvn_lacks I NAME: node I answers and does not list NAME.
pvn_lacks() {
	local l
	pvn_use "$1"
	l=$(pvctl -j list 2>/dev/null) || return 1
	[ -z "$(jq -r --arg n "$2" '.[] | select(.name == $n) | .id' \
	    <<<"$l")" ]
}

# pvn_peers_are I N: node I has N healthy peers.
pvn_peers_are() {
	pvn_use "$1"
	[ "$(pvctl -j status 2>/dev/null | jq -r '.peers')" = "$2" ]
}
