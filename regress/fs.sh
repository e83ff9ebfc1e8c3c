#!/bin/bash
#
# Files on filesystems pv-storaged does not read from (pvctl(8), STORE
# FROM OTHER FILESYSTEMS): pvctl copies them into a pipe itself; a
# client that hands pvd such a descriptor is refused with the name of
# the filesystem; a pipe that announces its size must deliver exactly
# that many bytes.  As root, with a FUSE filesystem of its own
# (regress/fusehang): a file there is stored through pvctl's pipe, and a
# file whose reads never return holds up only the pvctl that stores it,
# while pvd serves every other client.
#
set -u
umask 022
. "$(dirname "$0")/lib.sh"

FUSEHANG="$top_builddir/regress/fusehang"
t_require "$CTLCLIENT" "$FUSEHANG"
pv_single

tmpfiles() {
	find "$PV_DATA/tmp" -type f | wc -l
}
has_name() {
	pvctl -j list | jq -e --arg n "$1" \
	    'any(.[]; .name == $n)' >/dev/null
}

# --- /proc: not a filesystem pv-storaged reads; files of size 0
out=$(pvctl store /proc/version version 2>&1)
t_is "pvctl store of a file in /proc succeeds" 0 $?
pvctl get version "$D/version.out" 2>/dev/null
# cmp would go by the size of the file in /proc, 0
cat /proc/version >"$D/version"
t_check "its content is stored, though its size says 0" \
    cmp -s "$D/version" "$D/version.out"

out=$(timeout 15 "$CTLCLIENT" "$PV_SOCK" store /proc/version raw 2>&1)
case $out in
*"refusing the descriptor for raw: a file on proc"*)
	t_ok "the descriptor of a file in /proc itself is refused, naming proc" ;;
*)
	t_notok "the descriptor of a file in /proc itself is refused, naming proc" \
	    "got: $out" ;;
esac
t_check "pvd serves after the refusal" eval 'pvctl status >/dev/null'
out=$(timeout 15 "$CTLCLIENT" "$PV_SOCK" store /dev/null devnull 2>&1)
t_is "pv-netd refuses a device, saying why" \
    "fail: refusing the descriptor for devnull: not a regular file or a pipe" \
    "$(echo "$out" | head -1)"
t_check "nothing stored under the refused name" eval '! has_name raw'

# store -r of a directory in /proc: every file through the pipe
pvctl store -r /proc/sys/kernel/random rnd >"$D/tree.out" 2>&1
t_is "store -r of a directory in /proc succeeds" 0 $?
pvctl get rnd/poolsize "$D/poolsize.out" 2>/dev/null
cat /proc/sys/kernel/random/poolsize >"$D/poolsize"
t_check "store -r: a file in it stored whole" \
    cmp -s "$D/poolsize" "$D/poolsize.out"

# sysfs says 4096 for a file of a few bytes
mtu=/sys/class/net/lo/mtu
if [ -r $mtu ]; then
	cat $mtu >"$D/mtu"
	pvctl store $mtu mtu >/dev/null 2>&1 &&
	    pvctl get mtu "$D/mtu.out" 2>/dev/null
	t_check "a file in /sys is stored whole, whatever its size says" \
	    cmp -s "$D/mtu" "$D/mtu.out"
else
	t_skip "a file in /sys is stored whole" "no $mtu here"
fi

# --- a pipe that announces a size
printf abc | timeout 15 "$CTLCLIENT" "$PV_SOCK" store - short 10 \
    >"$D/short.out" 2>&1
t_check "a pipe shorter than it announced is refused" \
    grep -q "the input of short ended after 3 of its 10 bytes" "$D/short.out"
head -c 20 /dev/zero | timeout 15 "$CTLCLIENT" "$PV_SOCK" store - long 10 \
    >"$D/long.out" 2>&1
t_check "a pipe longer than it announced is refused" \
    grep -q "the input of long is longer than the 10 bytes announced" \
    "$D/long.out"
printf 0123456789 | timeout 15 "$CTLCLIENT" "$PV_SOCK" store - exact 10 \
    >"$D/exact.out" 2>&1
t_check "a pipe of the size it announced is stored" grep -q '^end$' \
    "$D/exact.out"
t_is "the refused pipes left no entry" "no no" \
    "$(has_name short && echo yes || echo no) $(has_name long && echo yes || echo no)"
t_wait 5 eval '[ "$(tmpfiles)" -eq 0 ]'
t_is "and no temporary file" 0 "$(tmpfiles)"

# --- clients whose pipes stand still hold no turn that others wait for:
# eight stores from a FIFO that never gets a byte take every turn
mkfifo "$D/fifo"
exec 9<>"$D/fifo"
stalled=()
for i in 1 2 3 4 5 6 7 8; do
	# 9>&-: the shell's is the only end to write
	"$PVCTL" -s "$PV_SOCK" store - "stalled$i" <"$D/fifo" 9>&- \
	    >"$D/stalled$i.out" 2>&1 &
	stalled+=($!)
	t_track $!
done
sleep 1
head -c 100000 /dev/urandom >"$D/waiting"
"$PVCTL" -s "$PV_SOCK" store "$D/waiting" waiting 9>&- >/dev/null 2>&1 &
waiting=$!
t_track "$waiting"
if t_wait_exit "$waiting" 60 && [ "$T_RC" = 0 ]; then
	t_ok "a store waiting behind eight still pipes gets its turn"
else
	t_notok "a store waiting behind eight still pipes gets its turn" \
	    "exit $T_RC"
fi
dropped=$(grep -l "nothing moved in 30 s while other requests waited" \
    "$D"/stalled?.out 2>/dev/null | wc -l)
t_is "one still pipe gave its turn up, and was told why" 1 "$dropped"
t_check "the log says so" \
    grep -q "its pipe moved nothing in 30 s while other requests waited" \
    "$PV_LOG"
# the end of the FIFO: the others store what they got, nothing
exec 9>&-
ended=0
for p in "${stalled[@]}"; do
	t_wait_exit "$p" 20 && [ "$T_RC" = 0 ] && ended=$((ended + 1))
done
t_is "the seven others then end" 7 "$ended"

# --- FUSE, as root
fuse_ok=1
if ! is_root; then
	fuse_ok=0
	why="needs root to mount a FUSE filesystem"
elif [ ! -c /dev/fuse ]; then
	fuse_ok=0
	why="needs /dev/fuse"
fi

# fuse_start SIZE MODE: 0 mounted, 77 not allowed here, 1 failed
fuse_start() {
	mkdir -p "$D/fuse"
	"$FUSEHANG" "$D/fuse" "$1" "$2" >"$D/fuse.out" 2>&1 &
	FUSE_PID=$!
	t_track "$FUSE_PID"
	t_wait 5 eval 'grep -q "^mounted$" "$D/fuse.out" || pid_gone $FUSE_PID'
	grep -q '^mounted$' "$D/fuse.out" && return 0
	t_wait_exit "$FUSE_PID" 5
	[ "$T_RC" = 77 ] && return 77
	return 1
}
fuse_stop() {
	kill -TERM "$FUSE_PID" 2>/dev/null
	t_wait_exit "$FUSE_PID" 10
}

if [ $fuse_ok -eq 0 ]; then
	skip=t_skip
	if ! is_root; then
		skip=t_skip_root
		T_ROOTWHY="need root to mount a FUSE filesystem"
	fi
	$skip "a file on FUSE is stored through pvctl's pipe" "$why"
	$skip "the descriptor of a file on FUSE itself is refused" "$why"
	$skip "a file that grew while it was copied is refused" "$why"
	$skip "a FUSE read that never returns holds up only its pvctl" "$why"
	$skip "other clients are served meanwhile" "$why"
	$skip "a pvctl killed during the read leaves its output free" "$why"
	$skip "the held store fails, naming the short input" "$why"
	$skip "it leaves no entry and no temporary file" "$why"
elif fuse_start 300000 serve; rc=$?; [ $rc -eq 77 ]; then
	t_skip "FUSE checks" "$(cat "$D/fuse.out")"
elif [ $rc -ne 0 ]; then
	t_notok "fusehang mounts a FUSE filesystem" "$(cat "$D/fuse.out")"
else
	want=$("$FUSEHANG" -p 300000 | sha256sum | cut -d' ' -f1)
	out=$(pvctl -j store "$D/fuse/file" onfuse 2>&1)
	t_is "a file on FUSE is stored through pvctl's pipe" "$want" \
	    "$(echo "$out" | jq -r .id 2>/dev/null)"

	out=$(timeout 15 "$CTLCLIENT" "$PV_SOCK" store "$D/fuse/file" \
	    rawfuse 2>&1)
	case $out in
	*"refusing the descriptor for rawfuse: a file on fuse"*)
		t_ok "the descriptor of a file on FUSE itself is refused" ;;
	*)
		t_notok "the descriptor of a file on FUSE itself is refused" \
		    "got: $out" ;;
	esac
	fuse_stop

	# a file that reads longer than its size
	fuse_start 300000 grow ||
	    t_notok "fusehang mounts again" "$(cat "$D/fuse.out")"
	pvctl store "$D/fuse/file" grown >"$D/grown.out" 2>&1
	t_check "a file that grew while it was copied is refused" \
	    grep -q "the input of grown is longer than the 300000 bytes" \
	    "$D/grown.out"
	fuse_stop

	# reads that are never answered; pvctl itself, so that $! is its
	# pid (t_cleanup kills it if the test goes wrong)
	fuse_start 300000 hang ||
	    t_notok "fusehang mounts again" "$(cat "$D/fuse.out")"
	"$PVCTL" -s "$PV_SOCK" store "$D/fuse/file" held >"$D/held.out" 2>&1 &
	held=$!
	t_track "$held"
	t_wait 10 grep -q '^read$' "$D/fuse.out"
	if pid_gone "$held" || ! grep -q '^read$' "$D/fuse.out"; then
		t_notok "a FUSE read that never returns holds up only its pvctl" \
		    "$(cat "$D/held.out" "$D/fuse.out")"
	else
		t_ok "a FUSE read that never returns holds up only its pvctl"
	fi
	head -c 100000 /dev/urandom >"$D/other"
	t_check "other clients are served meanwhile" \
	    eval 'PVCTL_TIMEOUT=10 pvctl store "$D/other" other >/dev/null &&
	    PVCTL_TIMEOUT=10 pvctl get other - | cmp -s - "$D/other"'

	# a pvctl killed meanwhile: its child, held on the read until
	# fusehang goes, does not keep pvctl's output open
	( out=$(timeout -s KILL 2 "$PVCTL" -s "$PV_SOCK" store \
	    "$D/fuse/file" killed 2>/dev/null); exit 0 ) &
	sub=$!
	t_track "$sub"
	if t_wait_exit "$sub" 10; then
		t_ok "a pvctl killed during the read leaves its output free"
	else
		t_notok "a pvctl killed during the read leaves its output free" \
		    "\$(pvctl store ...) still waits"
	fi

	fuse_stop
	t_wait_exit "$held" 20
	if [ "$T_RC" != 0 ] && [ "$T_RC" != timeout ] &&
	    grep -q "the input of held ended after 0 of its 300000 bytes" \
	    "$D/held.out"; then
		t_ok "the held store fails, naming the short input"
	else
		t_notok "the held store fails, naming the short input" \
		    "exit $T_RC: $(cat "$D/held.out")"
	fi
	t_wait 5 eval '[ "$(tmpfiles)" -eq 0 ]'
	t_is "it leaves no entry and no temporary file" "no 0" \
	    "$(has_name held && echo yes || echo no) $(tmpfiles)"
fi

t_done
