#!/bin/bash
#
# The path without root: pvd run by an unprivileged user skips chroot
# and the user switch with exactly one warning, and every child still
# runs under its seccomp filter with no_new_privs and is not dumpable.
# As root the script drops to nobody itself (setpriv); otherwise it runs
# pvd as the invoking user.
#
set -u
umask 022
. "$(dirname "$0")/lib.sh"

t_require

t_tmpdir
D=$T_TMP
mkdir "$D/node"

if is_root; then
	command -v setpriv >/dev/null 2>&1 ||
	    t_skip_all "needs setpriv (util-linux) to drop to nobody"
	RUNAS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	U=$(id -u nobody)
	# copies nobody may run, wherever the build tree is
	mkdir "$D/bin"
	for b in pvd/pvd pv-storaged/pv-storaged pv-netd/pv-netd \
	    pv-discoverd/pv-discoverd; do
		cp "$top_builddir/$b" "$D/bin/"
	done
	chmod 755 "$D/bin" "$D/bin/"*
	PVD=$D/bin/pvd
	chown nobody:nogroup "$D/node"
	pv_setup "$D/node" "$D/bin"
	echo "# running pvd as nobody (uid $U)"
else
	RUNAS=()
	U=$(id -u)
	pv_setup "$D/node"
	echo "# running pvd as $(id -un) (uid $U)"
fi

if ! pv_start "${RUNAS[@]+"${RUNAS[@]}"}"; then
	t_notok "pvd starts without root, four processes running"
	t_diag "$PV_LOG"
	t_done
fi
t_ok "pvd starts without root, four processes running"

t_is "the not-running-as-root warning is logged exactly once" 1 \
    "$(log_count "not running as root")"
t_is "parent title" "pvd: parent" "$(proc_title "$PV_PID")"
t_is "parent runs as uid $U" "$U $U $U $U" "$(proc_status "$PV_PID" Uid)"
t_is "parent has no seccomp filter" 0 "$(proc_status "$PV_PID" Seccomp)"
t_is "key file created mode 600, owned by uid $U" "600 $U" \
    "$(stat -c '%a %u' "$PV_KEY" 2>&1)"
t_is "data directory created mode 700, owned by uid $U" "700 $U" \
    "$(stat -c '%a %u' "$PV_DATA" 2>&1)"
t_is "data directory marker holds the node id" "$(pv_get . .node_id)" \
    "$(cat "$PV_DATA/node-id" 2>&1)"
t_is "node status ok" ok "$(pv_get . .node_status)"
t_is "control socket mode 660, owned by uid $U" "660 $U" \
    "$(stat -c '%a %u' "$PV_SOCK" 2>&1)"

# check_child NAME PID
check_child() {
	local n=$1 p=$2 root
	t_is "$n: title" "pvd: $n" "$(proc_title "$p")"
	t_is "$n: child of pvd" "$PV_PID" "$(proc_status "$p" PPid)"
	t_is "$n: keeps uid $U" "$U $U $U $U" "$(proc_status "$p" Uid)"
	t_is "$n: Seccomp 2 (filter)" 2 "$(proc_status "$p" Seccomp)"
	t_is "$n: NoNewPrivs 1" 1 "$(proc_status "$p" NoNewPrivs)"
	t_is "$n: no effective capabilities" 0000000000000000 \
	    "$(proc_status "$p" CapEff)"
	t_is "$n: not dumpable (/proc/PID/status owned by root)" 0 \
	    "$(stat -c %u "/proc/$p/status")"
	if root=$(readlink "/proc/$p/root" 2>/dev/null); then
		t_is "$n: not chrooted (/proc/PID/root is /)" / "$root"
	else
		# a process that is not dumpable hides its root from
		# everyone but root
		t_skip "$n: not chrooted (/proc/PID/root is /)" \
		    "/proc/PID/root of a process that is not dumpable" \
		    "is readable by root only"
	fi
}

declare -A PID
for n in $PV_CHILDREN; do
	PID[$n]=$(pv_get "$n" pid)
	check_child "$n" "${PID[$n]}"
done

# a restarted child is sandboxed again and does not warn again
old=${PID[storage]}
kill -KILL "$old"
restarted() {
	pv_snap && [ "$(pv_get storage pid)" != "$old" ] &&
	    [ "$(pv_get storage state)" = running ]
}
t_check "kill -9 storage: restarted" t_wait 10 restarted
t_is "kill -9 storage: restarts 1" 1 "$(pv_get storage restarts)"
check_child storage "$(pv_get storage pid)"
t_is "after the restart the warning is still logged once" 1 \
    "$(log_count "not running as root")"

out=$(pvctl log verbose 2>&1)
t_is "pvctl is answered (log verbose)" "0 logging verbose" "$? $out"

pv_snap
SEEN=$(pv_get . '.processes[].pid')
kill -TERM "$PV_PID"
t_wait_exit "$PV_PID" 10
t_is "SIGTERM: pvd exits 0" 0 "$T_RC"
left=
for p in $SEEN; do
	t_wait 3 pid_gone "$p" || left="$left $p"
done
t_is "SIGTERM: no process left" "" "$left"
t_check "SIGTERM: socket file removed" test ! -e "$PV_SOCK"

t_done
