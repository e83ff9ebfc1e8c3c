#!/bin/bash
#
# Service integration: the sd_notify(3) protocol (READY=1 only once every
# child is up, RELOADING=1 and READY=1 around a reload, STOPPING=1),
# the systemd unit (systemd-analyze verify), the rc script (sh -n), and
# `make install` into a staging directory, which must install every
# program, page and service file and overwrite nothing that exists.
#
set -u
umask 022
. "$(dirname "$0")/lib.sh"

t_require "$CTLCLIENT"
if is_root && ! t_ensure_user; then
	t_notok "create the user $PV_USER"
	t_done
fi

t_tmpdir
D=$T_TMP
chmod 755 "$D"

# notify_has STRING: the listener printed a line holding STRING
notify_has() {
	grep -qF -- "$1" "$D/notify.out" 2>/dev/null
}

# ---------------------------------------------------------------------
# sd_notify: a listener plays systemd's part
# ---------------------------------------------------------------------
pv_setup "$D/n1"
"$CTLCLIENT" "$D/notify.sock" notify 60 >"$D/notify.out" 2>&1 &
t_track $!
t_wait 5 test -S "$D/notify.sock"
NOTIFY_SOCKET="$D/notify.sock" pv_start
t_check "pvd starts with NOTIFY_SOCKET set" pv_ready
t_wait 5 notify_has "READY=1"
t_check "READY=1 is sent" notify_has "READY=1"
t_check "the READY=1 message carries a STATUS line" notify_has "STATUS="
t_is "READY=1 is sent once at start-up" 1 \
    "$(grep -c "READY=1" "$D/notify.out")"

kill -HUP "$PV_PID"
t_wait 5 eval '[ "$(grep -c READY=1 "$D/notify.out")" -ge 2 ]'
t_check "a reload sends RELOADING=1" notify_has "RELOADING=1"
t_is "a reload ends with READY=1" 2 "$(grep -c "READY=1" "$D/notify.out")"
t_is "RELOADING=1 comes before the second READY=1" "RELOADING=1" \
    "$(grep -E "RELOADING=1|READY=1" "$D/notify.out" | sed -n 2p)"

kill -TERM "$PV_PID"
t_wait_exit "$PV_PID" 10
t_wait 5 notify_has "STOPPING=1"
t_check "SIGTERM sends STOPPING=1" notify_has "STOPPING=1"

# A child that cannot start: no READY=1, ever; pvd gives up non-zero.
pv_setup "$D/n2"
ln -sf /bin/false "$D/n2/libexec/pv-discoverd"
"$CTLCLIENT" "$D/notify2.sock" notify 60 >"$D/notify2.out" 2>&1 &
t_track $!
t_wait 5 test -S "$D/notify2.sock"
NOTIFY_SOCKET="$D/notify2.sock" PV_LIBEXEC_DIR="$D/n2/libexec" \
    "$PVD" -d -f "$PV_CONF" >"$PV_LOG" 2>&1 &
PV_PID=$!
t_track "$PV_PID"
t_wait_exit "$PV_PID" 30
t_check "pvd gives up when a child never comes up (exit $T_RC)" \
    test "$T_RC" != 0 -a "$T_RC" != timeout
t_check "no READY=1 when a child never came up" \
    eval '! grep -q READY=1 "$D/notify2.out"'
t_check "the log says which child gave up" \
    grep -q "discover died" "$PV_LOG"

# ---------------------------------------------------------------------
# The unit and the rc script
# ---------------------------------------------------------------------
unit="$top_builddir/etc/pvd.service"
rc="$top_builddir/etc/pvd.rc"
t_check "the unit is built" test -f "$unit"
if command -v systemd-analyze >/dev/null 2>&1; then
	# ExecStart must name an existing program: the one just built
	sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/pvd|\1$PVD|" "$unit" \
	    >"$D/pvd.service"
	out=$(systemd-analyze verify --man=no "$D/pvd.service" 2>&1)
	t_is "systemd-analyze verify has nothing to say" "" "$out"
	t_check "the unit is Type=notify" grep -qx "Type=notify" "$unit"
else
	t_skip "systemd-analyze verify (systemd-analyze not installed)"
fi
t_check "the rc script parses (sh -n)" sh -n "$rc"

# ---------------------------------------------------------------------
# make install into a staging directory
# ---------------------------------------------------------------------
stage="$D/stage"
make -s -C "$top_builddir" install DESTDIR="$stage" >"$D/install.log" 2>&1
t_is "make install DESTDIR succeeds" 0 $?
for f in pvd pvctl pv-storaged pv-netd pv-discoverd pvd.8 pvd.conf.5 \
    pvctl.8 pv-storaged.8 pv-netd.8 pv-discoverd.8 pvd.service \
    peervault.sysusers pvd.conf.example; do
	t_check "make install installs $f" \
	    test -n "$(find "$stage" -name "$f" \( -type f -o -type l \))"
done
t_check "make install installs the rc script as init.d/pvd" \
    test -n "$(find "$stage" -path '*/init.d/pvd' -type f)"
t_check "the children go to libexec/peervault" \
    test -n "$(find "$stage" -path '*/libexec/peervault/pv-netd')"
example=$(find "$stage" -name pvd.conf.example | head -n 1)
initd=$(find "$stage" -path '*/init.d/pvd' | head -n 1)
echo "# edited by the admin" >>"$example"
echo "# edited by the admin" >>"$initd"
make -s -C "$top_builddir" install DESTDIR="$stage" >>"$D/install.log" 2>&1
t_is "a second make install succeeds" 0 $?
t_check "make install keeps an existing pvd.conf.example" \
    grep -q "edited by the admin" "$example"
t_check "make install keeps an existing init.d/pvd" \
    grep -q "edited by the admin" "$initd"
t_check "make install creates no pvd.conf" \
    test -z "$(find "$stage" -name pvd.conf)"

t_done
