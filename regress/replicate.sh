#!/bin/bash
#
# Replication between real nodes on 127.0.0.1, each with its own port,
# data directory and socket, one network key: a file stored on node 1 is
# byte-identical on nodes 2 and 3; get on node 3 with node 1 stopped;
# delete everywhere, and no resurrection by a node that was down; a node
# down during 20 stores catches up; an A-B-C chain; concurrent stores of
# one name converge; kill -9 of the sender during a 512 MiB transfer,
# completed from another peer; a node with the wrong key is refused;
# garbage, a truncated frame and an oversized length drop only their
# connection; a flipped byte is repaired by the scrub; a node over quota
# recovers when space frees; openssl s_client with the derived PSK; a
# stalled peer holds up no transfer to the others.
#
set -u
umask 022
. "$(dirname "$0")/lib.sh"
export PVCTL_TIMEOUT=120

t_require
if is_root && ! t_ensure_user; then
	t_notok "create the user $PV_USER"
	t_done
fi
command -v openssl >/dev/null 2>&1 ||
    t_skip_all "needs openssl (apt-get install openssl)"

t_tmpdir
D=$T_TMP
sha() {
	sha256sum "$1" | cut -d' ' -f1
}
# wait up to N seconds for a condition, as one check
t_until() {
	local desc=$1 secs=$2
	shift 2
	if t_wait "$secs" "$@"; then
		t_ok "$desc"
	else
		t_notok "$desc" "failed within $secs s: $*"
		t_diag "$PV_LOG" 20
	fi
}

pvn_init 6
# nodes 1-3: a full mesh; 4, 5 and 6 are used later (chain, wrong key,
# stalled peer)
pvn_conf 1 2 3
pvn_conf 2 1 3
pvn_conf 3 1 2
for i in 1 2 3; do
	pvn_start $i
	t_check "node $i starts" pv_ready
done
for i in 1 2 3; do
	t_until "node $i has two peers" 20 pvn_peers_are $i 2
done

# ---------------------------------------------------------------------
# pvctl peers, a file on every node
# ---------------------------------------------------------------------
pvn_use 1
out=$(pvctl peers)
t_check "peers shows a header" grep -q "ADDRESS.*NODE.*STATE" <<<"$out"
t_is "peers -j: two healthy peers" "healthy healthy" \
    "$(pvctl -j peers | jq -r '[.[] | select(.node_id != null) |
    .state] | join(" ")')"
nodeid() {
	pvn_use "$1"
	pvctl -j status | jq -r .node_id
}
want_ids=$(printf '%s\n' "$(nodeid 2)" "$(nodeid 3)" | sort | tr '\n' ' ')
pvn_use 1
t_is "peers -j names nodes 2 and 3" "$want_ids" \
    "$(pvctl -j peers | jq -r '.[] | select(.state == "healthy") |
    .node_id' | sort | tr '\n' ' ')"
t_check "status shows the peer count" \
    eval 'pvctl status | grep -q "Peers: *2 connected"'

head -c 3000000 /dev/urandom >"$D/f1"
id1=$(sha "$D/f1")
pvn_use 1
pvctl store "$D/f1" report.pdf >/dev/null
t_is "store on node 1" 0 $?
for i in 2 3; do
	t_until "node $i holds report.pdf" 30 pvn_has $i report.pdf "$id1"
	pvn_use $i
	t_is "node $i returns the same bytes (sha256)" "$id1" \
	    "$(pvctl get report.pdf | sha256sum | cut -d' ' -f1)"
done
pvn_use 1
t_until "node 1 knows three replicas" 20 eval \
    '[ "$(pvctl -j list | jq -r ".[] | select(.name == \"report.pdf\") |
    .replicas")" = 3 ]'

# ---------------------------------------------------------------------
# get with the origin stopped; get of a blob that is not local
# ---------------------------------------------------------------------
pvn_stop 1
pvn_use 3
t_is "get on node 3 after node 1 stopped" "$id1" \
    "$(pvctl get report.pdf | sha256sum | cut -d' ' -f1)"
out=$(pvctl get no/such/file 2>&1)
t_is "get of a name no node has fails" 1 $?
t_check "and says so" grep -q "not found on the network" <<<"$out"

# ---------------------------------------------------------------------
# delete everywhere; node 1 was down and does not resurrect it
# ---------------------------------------------------------------------
pvn_use 2
pvctl delete -f report.pdf >/dev/null
t_is "delete on node 2" 0 $?
t_until "node 3 no longer lists it" 20 pvn_lacks 3 report.pdf
# node 1 was down during 20 stores and the delete
for n in $(seq 1 20); do
	head -c $((n * 1000)) /dev/urandom >"$D/s$n"
	pvn_use $(( (n % 2) + 2 ))
	pvctl store "$D/s$n" "batch/s$n" >/dev/null ||
	    t_notok "store batch/s$n"
done
pvn_start 1
t_check "node 1 starts again" pv_ready
t_until "node 1 catches up with 20 stores" 60 eval \
    '[ "$(pvctl -j list | jq "[.[] | select(.name |
    startswith(\"batch/\"))] | length")" = 20 ]'
t_until "node 1 holds their blobs" 60 pvn_has 1 batch/s20 "$(sha "$D/s20")"
t_check "node 1 dropped the deleted file" pvn_lacks 1 report.pdf
sleep 2
for i in 1 2 3; do
	t_check "report.pdf stays deleted on node $i" pvn_lacks $i report.pdf
done

# ---------------------------------------------------------------------
# concurrent stores of one name converge to one id everywhere
# ---------------------------------------------------------------------
head -c 20000 /dev/urandom >"$D/c1"
head -c 20000 /dev/urandom >"$D/c2"
pvn_use 1
pvctl store "$D/c1" same/name >/dev/null &
c1=$!
pvn_use 2
pvctl store "$D/c2" same/name >/dev/null &
c2=$!
wait $c1 $c2
converged() {
	local i ids=""
	for i in 1 2 3; do
		pvn_use $i
		ids="$ids $(pvctl -j list | jq -r \
		    '.[] | select(.name == "same/name") | .id')"
	done
	set -- $ids
	[ $# -eq 3 ] && [ "$1" = "$2" ] && [ "$2" = "$3" ]
}
t_until "concurrent stores of one name converge on every node" 30 converged
pvn_use 3
w=$(pvctl -j list | jq -r '.[] | select(.name == "same/name") | .id')
t_check "to one of the two contents" \
    eval '[ "$w" = "$(sha "$D/c1")" ] || [ "$w" = "$(sha "$D/c2")" ]'

# ---------------------------------------------------------------------
# a byte flipped on node 2 is repaired by the scrub
# ---------------------------------------------------------------------
pvn_use 2
blob=$(find "$PV_DATA/blobs" -type f -size +15k -size -30k | head -n 1)
if [ -n "$blob" ]; then
	printf '\377' | dd of="$blob" bs=1 seek=5000 conv=notrunc \
	    status=none
	out=$(pvctl -j scrub)
	t_check "the scrub finds the damaged blob" \
	    eval '[ "$(jq -r .damaged <<<"$out")" -ge 1 ]'
	t_until "node 2 fetched a good copy again" 30 eval \
	    '[ "$(pvctl -j status | jq -r .replication.pending)" = 0 ]'
	out=$(pvctl -j scrub)
	t_is "the scrub finds nothing damaged after the repair" 0 \
	    "$(jq -r .damaged <<<"$out")"
	t_is "node 2 returns the right bytes" "$w" \
	    "$(pvctl get same/name | sha256sum | cut -d' ' -f1)"
else
	t_notok "find a blob to damage on node 2"
fi

# ---------------------------------------------------------------------
# the transport: openssl s_client with the derived PSK; garbage
# ---------------------------------------------------------------------
psk=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 \
    -kdfopt hexkey:"$(cat "$PVN_KEY")" -kdfopt salt:"peervault v1" \
    -kdfopt info:"peervault transport psk" HKDF | tr -d ':')
badpsk=$(head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
sclient() {
	timeout 10 openssl s_client -tls1_3 -psk "$1" \
	    -psk_identity peervault/1 -connect "127.0.0.1:${PVN_PORT[3]}" \
	    -brief 2>&1
}
out=$(sclient "$psk" </dev/null)
t_check "s_client with the derived PSK completes a TLS 1.3 handshake" \
    grep -q "Protocol version: TLSv1.3" <<<"$out"
out=$(sclient "$badpsk" </dev/null)
t_check "s_client with a wrong PSK does not" \
    eval '! grep -q "Protocol version: TLSv1.3" <<<"$out"'
pvn_use 3
before=$(grep -c "malformed\|dropping" "$PV_LOG")
printf '\0\0\0\10\0\1\0\0\1\2' | sclient "$psk" >/dev/null
printf '\377\377\377\377\0\4\0\0' | sclient "$psk" >/dev/null
head -c 4096 /dev/urandom | sclient "$psk" >/dev/null
head -c 4096 /dev/urandom |
    timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/${PVN_PORT[3]}" 2>/dev/null
sleep 1
t_check "node 3 logged the dropped connections" \
    eval '[ "$(grep -c "malformed\|dropping" "$PV_LOG")" -gt "$before" ]'
t_check "node 3 still serves" pv_ready
t_until "node 3 keeps its peers" 10 pvn_peers_are 3 2

# ---------------------------------------------------------------------
# a node with another key is refused and receives nothing
# ---------------------------------------------------------------------
pvn_conf 5 1
pvn_use 5
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n' \
    >"$PV_DIR/other.key")
sed -i "s|^key .*|key \"$PV_DIR/other.key\"|" "$PV_CONF"
pvn_use 1
inbound=$(grep -c "handshake from .* failed: wrong network key?" "$PV_LOG")
pvn_start 5
t_until "node 5 logs the failed handshake" 15 \
    log_has "handshake with 127.0.0.1:${PVN_PORT[1]} failed: wrong network key?"
# back-off from 1 s, doubling, +-25%: attempts at about 0, 1, 3 and 7 s
sleep 8
n=$(grep -c "handshake with .* failed: wrong network key?" "$PV_LOG")
t_check "node 5 redials with back-off, not in a loop ($n attempts in 8 s)" \
    eval '[ "$n" -ge 2 ] && [ "$n" -le 6 ]'
t_is "node 5 has no peers" 0 "$(pvctl -j status | jq -r .peers)"
t_is "node 5 received no file" 0 "$(pvctl -j list | jq length)"
pvn_use 1
n=$(( $(grep -c "handshake from .* failed: wrong network key?" "$PV_LOG") -
    inbound ))
t_check "node 1 logs the refused node at most once per 10 s (n=$n)" \
    eval '[ "$n" -ge 1 ] && [ "$n" -le 2 ]'
t_check "node 1 still has its peers" pvn_peers_are 1 2
pvn_stop 5

# ---------------------------------------------------------------------
# an A-B-C chain: node 4 only knows node 3, by the name localhost,
# which pv-discoverd resolves
# ---------------------------------------------------------------------
PVN_HOST=localhost pvn_conf 4 3
pvn_start 4
t_check "node 4's configuration names localhost" \
    grep -q 'bootstrap "localhost"' "$PV_CONF"
t_until "node 4 reaches node 3 by name" 20 pvn_peers_are 4 1
head -c 50000 /dev/urandom >"$D/chain"
pvn_use 4
pvctl store "$D/chain" chain.bin >/dev/null
t_until "a file stored on node 4 reaches node 1 through node 3" 30 \
    pvn_has 1 chain.bin "$(sha "$D/chain")"
t_until "and node 2" 30 pvn_has 2 chain.bin "$(sha "$D/chain")"

# ---------------------------------------------------------------------
# a node over quota says so, keeps its index, and recovers
# ---------------------------------------------------------------------
pvn_use 4
pvctl quota set 1M >/dev/null
head -c 2000000 /dev/urandom >"$D/big2m"
pvn_use 1
pvctl store "$D/big2m" big2m >/dev/null
t_until "node 4 lists the file it has no room for" 30 eval \
    'pvn_use 4; pvctl -j list | jq -e ".[] | select(.name == \"big2m\")" \
    >/dev/null'
pvn_use 4
t_until "node 4's status says replication waits for space" 30 eval \
    'pvctl status | grep -q "waiting for space"'
t_check "node 4 logs it" log_has "quota exceeded"
pvctl quota set none >/dev/null
t_until "node 4 fetches the file once space frees" 30 \
    pvn_has 4 big2m "$(sha "$D/big2m")"

# ---------------------------------------------------------------------
# kill -9 of the sender during a 512 MiB transfer
# ---------------------------------------------------------------------
# node 2 stores it and node 3 copies it; node 3 stops; node 4 starts
# knowing only node 2, which is killed mid-transfer; node 3 comes back
# and dials node 4, which resumes from it.
pvn_stop 4
pvn_stop 1
head -c $((512 * 1024 * 1024)) /dev/urandom >"$D/huge"
idh=$(sha "$D/huge")
pvn_use 2
pvctl store "$D/huge" huge.bin >/dev/null
t_until "node 3 holds the 512 MiB file" 180 pvn_has 3 huge.bin "$idh"
pvn_stop 3
pvn_conf 4 2
pvn_start 4
partial() {
	local f
	f=$(find "$T_TMP/n4/data/tmp" -name 'recv-*' -size +64M 2>/dev/null)
	[ -n "$f" ]
}
t_until "node 4 receives from node 2" 120 partial
pvn_kill 2
pvn_use 4
out=$(pvctl get huge.bin 2>/dev/null | sha256sum | cut -d' ' -f1)
t_is "a get meanwhile fails and writes not a byte" \
    "$(sha256sum </dev/null | cut -d' ' -f1)" "$out"
t_check "the partial transfer is kept for a resume" partial
pvn_conf 3 2 4
pvn_start 3
t_until "node 4 completes from node 3" 180 pvn_has 4 huge.bin "$idh"
pvn_use 4
t_check "node 4 resumed where the transfer stopped, not from 0" \
    grep -q "resuming at [1-9][0-9]* from" "$PV_LOG"
t_is "node 4 returns the 512 MiB file intact" "$idh" \
    "$(pvctl get huge.bin | sha256sum | cut -d' ' -f1)"
t_is "nothing is left in node 4's tmp/" "" \
    "$(find "$PV_DATA/tmp" -type f)"

# ---------------------------------------------------------------------
# a stalled peer holds up no one else
# ---------------------------------------------------------------------
# node 6 knows only node 3 and fetches the 512 MiB file from it; then
# node 6's pv-netd is stopped, so node 3's stream to it fills its socket
# and its output buffer.  Node 3 goes on serving node 4 and pvctl, marks
# node 6 stale and drops it; node 6, running again, completes the file.
pvn_conf 6 3
pvn_start 6
recv6() {
	find "$T_TMP/n6/data/tmp" -name 'recv-*' -size +32M 2>/dev/null |
	    grep -q .
}
t_until "node 6 receives from node 3" 120 recv6
pvn_use 6
pv_snap
net6=$(pv_get net pid)
id6=$(pvctl -j status | jq -r .node_id)
kill -STOP "$net6"
pvn_use 3
timedout=$(grep -c "timed out" "$PV_LOG")
head -c 100000 /dev/urandom >"$D/during"
t_check "node 3 takes a store while node 6 is stalled" \
    eval 'pvctl store "$D/during" during.bin >/dev/null'
t_until "and node 4 receives it" 20 \
    pvn_has 4 during.bin "$(sha "$D/during")"
pvn_use 3
t_is "while node 3 still has the stalled peer" "$timedout" \
    "$(grep -c "timed out" "$PV_LOG")"
t_until "node 3 drops the stalled peer after twice the peer timeout" 30 \
    eval '[ "$(grep -c "timed out" "$PV_LOG")" -gt "$timedout" ]'
t_check "having marked it stale first" log_has "(${id6:0:8}) is stale"
kill -CONT "$net6"
t_until "node 6, running again, completes the file" 180 \
    pvn_has 6 huge.bin "$idh"

t_done
