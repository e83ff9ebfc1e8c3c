#!/bin/bash
#
# pvd as a whole: start-up and shutdown, the process titles, the user,
# chroot and seccomp sandbox of each child, restarts after kill -9, the
# crash loop, SIGHUP with a broken file, SIGTERM, a second pvd, -n and
# -nv, the key file and data directory rules, and a child started by
# hand.  Run as root for the privilege checks; without root those are
# skipped (exit 77 when everything else passed).
#
set -u
umask 022
. "$(dirname "$0")/lib.sh"

t_require

ROOT=0
if is_root; then
	ROOT=1
	if ! t_ensure_user; then
		t_notok "create the user $PV_USER"
		t_done
	fi
	PV_UID=$(id -u "$PV_USER")
	PV_GID=$(id -g "$PV_USER")
else
	PV_UID=$(id -u)
	PV_GID=$(id -g)
fi
ME=$(id -u)

t_tmpdir
D=$T_TMP

# ---------------------------------------------------------------------
# Configuration checks (-n, -nv): no daemon
# ---------------------------------------------------------------------
pv_setup "$D/a"

out=$("$PVD" -n -f "$PV_CONF" 2>&1)
t_is "pvd -n on a good file exits 0" 0 $?
t_is "pvd -n prints configuration OK" "configuration OK" "$out"
t_check "pvd -n creates neither key nor data directory" \
    test ! -e "$PV_KEY" -a ! -e "$PV_DATA"

cp "$PV_CONF" "$D/bad.conf"
echo 'listen on 127.0.0.1 port 65536' >>"$D/bad.conf"	# line 6
echo 'frobnicate 42' >>"$D/bad.conf"			# line 7
out=$("$PVD" -n -f "$D/bad.conf" 2>&1)
t_is "pvd -n on a bad file exits 1" 1 $?
t_check "pvd -n names file:line of the bad port" \
    grep -q "^$D/bad.conf:6: " <<<"$out"
t_check "pvd -n names file:line of the unknown keyword" \
    grep -q "^$D/bad.conf:7: " <<<"$out"
t_check "pvd -n on a bad file does not say OK" \
    test -z "$(grep 'configuration OK' <<<"$out")"

"$PVD" -nv -f "$PV_CONF" >"$D/nv.conf" 2>"$D/nv.err"
t_is "pvd -nv exits 0" 0 $?
out=$("$PVD" -n -f "$D/nv.conf" 2>&1)
t_is "pvd -nv output parses again with -n" "0 configuration OK" "$? $out"
"$PVD" -nv -f "$D/nv.conf" >"$D/nv2.conf" 2>/dev/null
t_check "pvd -nv of the -nv output is the same text" \
    cmp -s "$D/nv.conf" "$D/nv2.conf"
t_check "pvd -nv keeps the listen address" \
    grep -q "^listen on 127.0.0.1 port $PV_PORT\$" "$D/nv.conf"

# ---------------------------------------------------------------------
# A child started by hand refuses
# ---------------------------------------------------------------------
for b in pv-storaged pv-netd pv-discoverd; do
	out=$(timeout 5 "$top_builddir/$b/$b" 2>&1 </dev/null 3>&-)
	rc=$?
	t_is "$b started by hand exits 1" 1 $rc
	t_check "$b started by hand says it is started by pvd" \
	    grep -q "started by pvd" <<<"$out"
	out=$(timeout 5 "$top_builddir/$b/$b" 2>&1 </dev/null 3</dev/null)
	t_is "$b with a file (not pvd's socket) on fd 3 exits 1" 1 $?
done

# ---------------------------------------------------------------------
# Key file rules: no daemon gets started
# ---------------------------------------------------------------------
K=$D/k
mkdir "$K"
( pv_setup "$K" )	# only writes the files; PV_* of node a are kept
KCONF=$K/pvd.conf
KKEY=$K/network.key

# pvd_fail: run pvd -d on KCONF, expected to refuse before it starts
pvd_fail() {
	PV_LIBEXEC_DIR="$K/libexec" timeout 10 "$PVD" -d -f "$KCONF" 2>&1
}

printf '%064x\n' 0 | tr 0 a >"$KKEY"
chmod 644 "$KKEY"
out=$(pvd_fail)
t_is "key file mode 0644 refused (exit 1)" 1 $?
t_check "the refusal names the key file" grep -qF "$KKEY" <<<"$out"
t_check "the refusal names the mode 0644" grep -q "0644" <<<"$out"
t_check "no socket left by a refused start" test ! -e "$K/pvd.sock"

chmod 640 "$KKEY"
out=$(pvd_fail)
t_is "key file mode 0640 refused (exit 1)" "1 1" "$? $(grep -c 0640 <<<"$out")"

printf 'this is not a key\n' >"$KKEY"
chmod 600 "$KKEY"
out=$(pvd_fail)
t_is "malformed key file refused (exit 1)" 1 $?
t_check "the malformed-key refusal names the file" \
    grep -qF "$KKEY" <<<"$out"

printf '%063x\n' 0 >"$KKEY"
out=$(pvd_fail)
t_is "key file with 63 hex digits refused (exit 1)" 1 $?

if [ $ROOT -eq 1 ]; then
	printf '%064x\n' 0 >"$KKEY"
	chown nobody "$KKEY"
	out=$(pvd_fail)
	t_is "key file owned by another user refused (exit 1)" 1 $?
	t_check "the refusal names the file" grep -qF "$KKEY" <<<"$out"
else
	t_skip_root "key file owned by another user refused"
fi

# ---------------------------------------------------------------------
# Start node a: key, data directory, titles, users, sandbox
# ---------------------------------------------------------------------
if ! pv_start; then
	t_notok "pvd starts and reports four processes running" \
	    "pvctl status: $(pvctl status 2>&1 | head -n 3)"
	t_diag "$PV_LOG"
	t_done
fi
t_ok "pvd starts and reports four processes running"

t_is "pvctl status names pvd's own pid" "$PV_PID" "$(pv_get pvd pid)"
t_is "key file created with mode 600" 600 "$(stat -c %a "$PV_KEY")"
t_is "key file owned by the user running pvd" "$ME" \
    "$(stat -c %u "$PV_KEY")"
t_check "key file holds 64 hex digits" \
    grep -qx '[0-9a-f]\{64\}' "$PV_KEY"
t_check "pvd logs where it created the key" \
    grep -qF "created a new network key in $PV_KEY" "$PV_LOG"*
t_check "data directory created" test -d "$PV_DATA"
t_is "data directory mode 700, owned by the daemon user" "700 $PV_UID" \
    "$(stat -c '%a %u' "$PV_DATA")"
NODEID=$(pv_get . .node_id)
t_check "node id is 128 bits in hex" grep -qx '[0-9a-f]\{32\}' <<<"$NODEID"
t_is "data directory marker holds the node id" "$NODEID" \
    "$(cat "$PV_DATA/node-id" 2>/dev/null)"
t_is "node status ok" ok "$(pv_get . .node_status)"
t_is "status lists the listen address" "127.0.0.1:$PV_PORT" \
    "$(pv_get . '.listen | join(",")')"
t_check "pvd listens on 127.0.0.1:$PV_PORT" \
    test -n "$(ss -Hltn "src 127.0.0.1 and sport = :$PV_PORT")"

t_is "parent title" "pvd: parent" "$(proc_title "$PV_PID")"
t_check "ps shows the parent title" \
    grep -q "^pvd: parent\\b" <<<"$(ps -o args= -p "$PV_PID")"
t_is "parent runs as root (or the invoking user)" "$ME $ME $ME $ME" \
    "$(proc_status "$PV_PID" Uid)"
t_is "parent has no seccomp filter" 0 "$(proc_status "$PV_PID" Seccomp)"

# check_child NAME PID: title, parent, user, jail and sandbox of a child
check_child() {
	local n=$1 p=$2 jail groups
	t_is "$n: title" "pvd: $n" "$(proc_title "$p")"
	t_check "$n: ps shows the title" \
	    grep -q "^pvd: $n\\b" <<<"$(ps -o args= -p "$p")"
	t_is "$n: child of pvd" "$PV_PID" "$(proc_status "$p" PPid)"
	t_is "$n: Seccomp 2 (filter)" 2 "$(proc_status "$p" Seccomp)"
	t_is "$n: NoNewPrivs 1" 1 "$(proc_status "$p" NoNewPrivs)"
	t_is "$n: no effective capabilities" 0000000000000000 \
	    "$(proc_status "$p" CapEff)"
	if [ $ROOT -eq 0 ]; then
		t_skip_root "$n: runs as $PV_USER"
		t_skip_root "$n: chrooted"
		t_skip_root "$n: not dumpable"
		return
	fi
	t_is "$n: runs as $PV_USER (real, effective, saved uid)" \
	    "$PV_UID $PV_UID $PV_UID $PV_UID" "$(proc_status "$p" Uid)"
	t_is "$n: gid $PV_GID (real, effective, saved)" \
	    "$PV_GID $PV_GID $PV_GID $PV_GID" "$(proc_status "$p" Gid)"
	groups=$(proc_status "$p" Groups)
	t_is "$n: no supplementary group but $PV_GID ($groups)" "" \
	    "$(echo $groups | tr ' ' '\n' | grep -vx "$PV_GID")"
	if [ "$n" = storage ]; then
		jail=$(readlink -f "$PV_DATA")
	else
		jail=$PV_EMPTY
	fi
	t_is "$n: chrooted into $jail" "$jail" \
	    "$(readlink "/proc/$p/root" 2>&1)"
	# the /proc/PID files of a process that is not dumpable belong to root
	t_is "$n: not dumpable (/proc/PID/status owned by root)" 0 \
	    "$(stat -c %u "/proc/$p/status")"
}

declare -A PID
for n in $PV_CHILDREN; do
	PID[$n]=$(pv_get "$n" pid)
	check_child "$n" "${PID[$n]}"
	t_is "$n: restarts 0" 0 "$(pv_get "$n" restarts)"
done

# ---------------------------------------------------------------------
# A second pvd on the same socket refuses; the first keeps running
# ---------------------------------------------------------------------
out=$(PV_LIBEXEC_DIR="$PV_DIR/libexec" timeout 10 "$PVD" -d \
    -f "$PV_CONF" 2>&1)
t_is "second pvd on the same socket exits 1" 1 $?
t_check "second pvd says already running" grep -q "already running" \
    <<<"$out"
t_check "first pvd still runs" test -S "$PV_SOCK"
pv_snap
t_is "first pvd still answers, same processes" \
    "$PV_PID ${PID[storage]} ${PID[net]} ${PID[discover]}" \
    "$(pv_get . '[.processes[].pid] | map(tostring) | join(" ")')"

# ---------------------------------------------------------------------
# kill -9 of each child in turn
# ---------------------------------------------------------------------
for n in $PV_CHILDREN; do
	old=${PID[$n]}
	kill -KILL "$old"
	if [ "$n" = net ]; then
		# the net child serves the control socket: a client that
		# connects now queues until the new one accepts it
		( timeout 10 "$PVCTL" -s "$PV_SOCK" status >/dev/null 2>&1
		  echo $? >"$D/queued.rc" ) &
		qpid=$!
	fi
	fails=0
	new=
	i=0
	while [ $i -lt 100 ]; do
		if pv_snap; then
			new=$(pv_get "$n" pid)
			if [ "$new" != "$old" ] && [ "$new" != 0 ] &&
			    [ "$(pv_get "$n" state)" = running ]; then
				break
			fi
		else
			fails=$((fails + 1))
		fi
		sleep 0.1
		i=$((i + 1))
	done
	t_check "kill -9 $n: pvd logs lost child" \
	    log_has "lost child: $n (pid $old)"
	if [ "$new" != "$old" ] && [ -n "$new" ] && [ "$new" != 0 ]; then
		t_ok "kill -9 $n: restarted with a new pid ($old -> $new)"
	else
		t_notok "kill -9 $n: restarted with a new pid" \
		    "pid still '$new'"
		t_diag "$PV_LOG"
	fi
	t_is "kill -9 $n: pvctl status shows restarts 1" 1 \
	    "$(pv_get "$n" restarts)"
	t_is "kill -9 $n: pvctl kept answering ($fails failures)" 0 "$fails"
	if [ "$n" = net ]; then
		t_wait_exit "$qpid" 10
		t_is "kill -9 net: a pvctl connecting meanwhile is answered" \
		    0 "$(cat "$D/queued.rc" 2>/dev/null)"
	fi
	for o in $PV_CHILDREN; do
		[ "$o" = "$n" ] && continue
		t_is "kill -9 $n: $o kept running (same pid)" "${PID[$o]}" \
		    "$(pv_get "$o" pid)"
	done
	t_is "kill -9 $n: parent still pid $PV_PID" "$PV_PID" \
	    "$(pv_get pvd pid)"
	PID[$n]=$new
	check_child "$n" "$new"
done

# ---------------------------------------------------------------------
# SIGHUP and pvctl reload with a broken file
# ---------------------------------------------------------------------
cp "$PV_CONF" "$D/good.conf"
echo 'this is not a statement' >>"$PV_CONF"
line=$(wc -l <"$PV_CONF")
kill -HUP "$PV_PID"
t_check "SIGHUP with a broken file: pvd logs has errors, not reloading" \
    t_wait 5 log_has "has errors, not reloading"
t_check "SIGHUP with a broken file: the error names file:line" \
    log_has "$PV_CONF:$line:"
t_check "SIGHUP with a broken file: pvd keeps running" \
    eval '! pid_gone "$PV_PID"'
t_check "SIGHUP with a broken file: status still answers" pv_snap
t_is "SIGHUP with a broken file: same node id" "$NODEID" \
    "$(pv_get . .node_id)"
t_is "SIGHUP with a broken file: old listen address kept" \
    "127.0.0.1:$PV_PORT" "$(pv_get . '.listen | join(",")')"
t_is "SIGHUP with a broken file: no child restarted" \
    "${PID[storage]} ${PID[net]} ${PID[discover]}" \
    "$(pv_get storage pid) $(pv_get net pid) $(pv_get discover pid)"

out=$(pvctl reload 2>&1)
t_is "pvctl reload with a broken file exits 1" 1 $?
t_check "pvctl reload prints file:line of the error" \
    grep -qF "$PV_CONF:$line:" <<<"$out"
t_check "pvd still answers after the failed reload" pv_ready

cp "$D/good.conf" "$PV_CONF"
out=$(pvctl reload 2>&1)
t_is "pvctl reload with the fixed file exits 0" 0 $?
t_check "pvctl reload says configuration reloaded" \
    grep -q "configuration reloaded" <<<"$out"
t_check "pvd logs configuration reloaded" \
    log_has "configuration reloaded"
n=$(log_count "configuration reloaded")
kill -HUP "$PV_PID"
t_check "SIGHUP with a good file reloads" \
    t_wait 5 eval '[ "$(log_count "configuration reloaded")" -gt '"$n"' ]'
t_check "pvd answers after the reloads, four processes running" pv_ready

# ---------------------------------------------------------------------
# SIGTERM: exit 0, no process, no socket
# ---------------------------------------------------------------------
pv_snap
SEEN=$(pv_get . '.processes[].pid')
kill -TERM "$PV_PID"
t_wait_exit "$PV_PID" 10
t_is "SIGTERM: pvd exits 0" 0 "$T_RC"
for p in $SEEN; do
	t_check "SIGTERM: pid $p is gone" t_wait 3 pid_gone "$p"
done
t_check "SIGTERM: socket file removed" test ! -e "$PV_SOCK"
t_check "SIGTERM: pvd logs terminating" log_has "terminating"
t_check "SIGTERM: port $PV_PORT closed" \
    test -z "$(ss -Hltn "src 127.0.0.1 and sport = :$PV_PORT")"

# ---------------------------------------------------------------------
# Restart on the same directory without its marker, daemonized (no -d)
# ---------------------------------------------------------------------
KEYSUM=$(cksum <"$PV_KEY")
rm -f "$PV_DATA/node-id"
PV_LIBEXEC_DIR="$PV_DIR/libexec" timeout 10 "$PVD" -f "$PV_CONF" \
    >"$D/daemon.out" 2>&1
t_is "pvd without -d returns 0 once daemonized" 0 $?
if pv_wait_ready 10; then
	t_ok "daemonized pvd answers with four processes running"
else
	t_notok "daemonized pvd answers with four processes running"
	t_diag "$D/daemon.out"
fi
DPID=$(pv_get pvd pid)
t_check "daemonized pvd is not the one started here" \
    test -n "$DPID" -a "$DPID" != "$PV_PID"
t_is "daemonized parent title" "pvd: parent" "$(proc_title "$DPID")"
t_is "missing marker: node_status is not ok" "no-ok" \
    "$(pv_get . 'if .node_status == "ok" then "ok" else "no-ok" end')"
t_check "missing marker: node_reason names the marker" \
    grep -q marker <<<"$(pv_get . .node_reason)"
t_check "missing marker: pvctl status says refused" \
    grep -q refused <<<"$(pvctl status 2>&1)"
t_check "missing marker: the marker is not re-created" \
    test ! -e "$PV_DATA/node-id"
t_is "the key file is kept across starts" "$KEYSUM" "$(cksum <"$PV_KEY")"
pv_snap
SEEN=$(pv_get . '.processes[].pid')
kill -TERM "$DPID"
for p in $SEEN; do
	t_check "SIGTERM to the daemon: pid $p is gone" t_wait 10 pid_gone "$p"
done
t_check "SIGTERM to the daemon: socket file removed" \
    t_wait 3 test ! -e "$PV_SOCK"

# ---------------------------------------------------------------------
# Crash loop: kill storage each time it comes back
# ---------------------------------------------------------------------
mkdir "$D/b"
pv_setup "$D/b"
if ! pv_start; then
	t_notok "crash loop: pvd starts"
	t_diag "$PV_LOG"
	t_done
fi
SEEN=$(pv_get . '.processes[].pid')
last=
kills=0
start=$SECONDS
while ! pid_gone "$PV_PID" && [ $((SECONDS - start)) -lt 25 ]; do
	if pv_snap; then
		SEEN="$SEEN $(pv_get . '.processes[].pid')"
		p=$(pv_get storage pid)
		if [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$last" ]; then
			kill -KILL "$p" 2>/dev/null && kills=$((kills + 1))
			last=$p
		fi
	fi
	sleep 0.05
done
elapsed=$((SECONDS - start))
t_wait_exit "$PV_PID" 5
t_check "crash loop: pvd gives up within 20 s ($elapsed s, $kills kills)" \
    test "$elapsed" -le 20
t_check "crash loop: pvd exits non-zero (status $T_RC)" \
    test "$T_RC" != 0 -a "$T_RC" != timeout
t_check "crash loop: pvd logs giving up" log_has "giving up"
left=
for p in $(echo "$SEEN" | tr ' ' '\n' | sort -u); do
	t_wait 3 pid_gone "$p" || left="$left $p"
done
t_is "crash loop: no process left of those seen" "" "$left"
t_check "crash loop: socket file removed" test ! -e "$PV_SOCK"

t_done
