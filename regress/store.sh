#!/bin/bash
#
# One node storing files: every pvctl file command (store, store -r,
# store -, get to a file and to standard output, delete, list, quota,
# quota set, scrub) in text and JSON; the id is the sha256sum of the
# content; deduplication and replacement; names refused with a reason;
# a failed get leaves no file; quota exhaustion leaves nothing partial;
# a flipped byte on disk makes get fail and the scrub quarantine the
# blob; a missing node marker refuses data; kill -9 of pv-storaged and
# of the whole pvd during a 512 MiB store leaves no entry and no
# temporary, loses no earlier file and keeps the index sound; the
# store's peak memory stays small.
#
set -u
umask 022
. "$(dirname "$0")/lib.sh"
# 512 MiB through a sanitizer build on a busy machine takes a while
export PVCTL_TIMEOUT=300

t_require
command -v sqlite3 >/dev/null 2>&1 ||
    t_skip_all "needs sqlite3 (apt-get install sqlite3) to check pv.db"
pv_single

blobs() {
	find "$PV_DATA/blobs" -type f | wc -l
}
tmpfiles() {
	find "$PV_DATA/tmp" -type f | wc -l
}
storage_pid() {
	pv_snap && pv_get storage pid
}

# ---------------------------------------------------------------------
# store, list, get
# ---------------------------------------------------------------------
head -c 300000 /dev/urandom >"$D/a.bin"
want=$(sha256sum "$D/a.bin" | cut -d' ' -f1)
out=$(pvctl store "$D/a.bin" 2>&1)
t_is "store exits 0" 0 $?
t_check "store prints the name" grep -q "a.bin" <<<"$out"
t_check "store prints the full id, the sha256sum of the content" \
    grep -q "$want" <<<"$out"
out=$(pvctl -j store "$D/a.bin" docs/a-copy.bin)
t_is "store -j gives the id" "$want" "$(jq -r .id <<<"$out")"
t_is "store -j gives the size" 300000 "$(jq -r .size <<<"$out")"
t_is "identical content under two names keeps one blob" 1 "$(blobs)"

out=$(pvctl list)
t_check "list shows the file with the first 8 digits of its id" \
    grep -E -q "a\.bin.*${want:0:8}" <<<"$out"
t_check "list shows no more than 8 digits of the id" \
    eval '! grep -q "${want:0:9}" <<<"$out"'
t_is "list -j holds both names" "a.bin docs/a-copy.bin" \
    "$(pvctl -j list | jq -r '[.[].name] | sort | join(" ")')"
t_is "list -j gives the whole id" "$want" \
    "$(pvctl -j list | jq -r '.[] | select(.name == "a.bin") | .id')"

pvctl get a.bin "$D/a.out"
t_is "get into a file exits 0" 0 $?
t_check "get returns the same bytes" cmp -s "$D/a.bin" "$D/a.out"
t_is "get to standard output returns the same bytes" "$want" \
    "$(pvctl get docs/a-copy.bin | sha256sum | cut -d' ' -f1)"
t_is "get - is standard output" "$want" \
    "$(pvctl get a.bin - | sha256sum | cut -d' ' -f1)"

out=$(pvctl get no/such/name "$D/none.out" 2>&1)
t_is "get of an unknown name exits 1" 1 $?
t_check "get of an unknown name says so" grep -q "no such file" <<<"$out"
t_check "a failed get leaves no file" test ! -e "$D/none.out"
t_is "a failed get leaves no temporary beside the file" "" \
    "$(find "$D" -maxdepth 1 -name '.none.out*')"

: >"$D/empty"
pvctl store "$D/empty" >/dev/null
t_is "an empty file is stored" 0 $?
t_is "an empty file comes back empty" 0 \
    "$(pvctl get empty | wc -c)"
t_is "an empty file has the id of empty content" \
    "$(sha256sum </dev/null | cut -d' ' -f1)" \
    "$(pvctl -j list | jq -r '.[] | select(.name == "empty") | .id')"

head -c 100000 /dev/urandom >"$D/pipe.bin"
cat "$D/pipe.bin" | pvctl store - from/pipe >/dev/null
t_is "store - reads standard input" 0 $?
t_check "what came through a pipe comes back" \
    eval 'pvctl get from/pipe | cmp -s - "$D/pipe.bin"'
out=$(pvctl store - 2>&1 </dev/null)
t_is "store - without a NAME exits 1" 1 $?

# ---------------------------------------------------------------------
# replacement, names, delete
# ---------------------------------------------------------------------
head -c 5000 /dev/urandom >"$D/v2"
n_before=$(blobs)
pvctl store "$D/v2" docs/a-copy.bin >/dev/null
t_check "storing a name again replaces its content" \
    eval 'pvctl get docs/a-copy.bin | cmp -s - "$D/v2"'
t_check "the other name still has the old content" \
    eval 'pvctl get a.bin | cmp -s - "$D/a.bin"'
t_is "the new version is one more blob" $((n_before + 1)) "$(blobs)"

out=$(pvctl store "$D/v2" "$(printf 'bad\001name')" 2>&1)
t_is "a name with a control character is refused" 1 $?
t_check "the refusal says why" grep -q "control character" <<<"$out"
long=$(head -c 1025 /dev/zero | tr '\0' x)
out=$(pvctl store "$D/v2" "$long" 2>&1)
t_is "a name of 1025 bytes is refused" 1 $?

pvctl delete -f a.bin >/dev/null
t_is "delete -f exits 0" 0 $?
t_check "a deleted file leaves the list" \
    eval '! pvctl -j list | jq -e ".[] | select(.name == \"a.bin\")" >/dev/null'
out=$(pvctl get a.bin 2>&1)
t_is "get of a deleted file fails" 1 $?
out=$(pvctl delete -f a.bin 2>&1)
t_is "deleting it again fails" 1 $?
t_check "and says there is no such file" grep -q "no such file" <<<"$out"
pvctl delete -f docs/a-copy.bin >/dev/null
t_is "the blobs of deleted files are collected" 2 "$(blobs)"

# ---------------------------------------------------------------------
# store -r
# ---------------------------------------------------------------------
mkdir -p "$D/tree/sub/deeper"
for i in 1 2 3; do
	echo "file $i" >"$D/tree/f$i"
	echo "deep $i" >"$D/tree/sub/deeper/d$i"
done
ln -s f1 "$D/tree/link"
out=$(pvctl store -r "$D/tree" 2>/dev/null)
t_is "store -r exits 0" 0 $?
t_is "store -r names files PREFIX/relative path" \
    "tree/f1 tree/f2 tree/f3 tree/sub/deeper/d1 tree/sub/deeper/d2 tree/sub/deeper/d3" \
    "$(pvctl -j list | jq -r '[.[].name | select(startswith("tree/"))] | sort | join(" ")')"
t_check "store -r prints a total" grep -qi "6 files" <<<"$out"
pvctl store -r "$D/tree" backup >/dev/null 2>&1
t_is "store -r with a PREFIX" "deep 2" "$(pvctl get backup/sub/deeper/d2)"

# ---------------------------------------------------------------------
# quota
# ---------------------------------------------------------------------
out=$(pvctl quota)
t_check "quota shows what is used" grep -qi "used" <<<"$out"
t_is "quota -j: no quota by default" 0 "$(pvctl -j quota | jq -r .quota)"
pvctl quota set 1M >/dev/null
t_is "quota set 1M" 1048576 "$(pvctl -j quota | jq -r .quota)"
head -c 2000000 /dev/urandom >"$D/big"
files_before=$(pvctl -j list | jq length)
out=$(pvctl store "$D/big" 2>&1)
t_is "a store over the quota exits 1" 1 $?
t_check "the error gives the figures" \
    grep -E -q "quota exceeded: need .*, available .*" <<<"$out"
t_is "nothing of it is listed" "$files_before" "$(pvctl -j list | jq length)"
t_is "nothing of it is left in tmp/" 0 "$(tmpfiles)"
out=$(cat "$D/big" | pvctl store - piped-big 2>&1)
t_is "a piped store over the quota fails too" 1 $?
t_is "and leaves nothing in tmp/" 0 "$(tmpfiles)"
pvctl quota set 50K >/dev/null
out=$(pvctl quota)
t_is "quota above 100% still answers" 0 $?
t_check "and shows more than 100%" grep -E -q "[0-9]{3,}%" <<<"$out"

kill -TERM "$PV_PID"
t_wait_exit "$PV_PID" 10
pv_start
t_is "quota set persists across a restart" 51200 \
    "$(pvctl -j quota | jq -r .quota)"
pvctl quota set none >/dev/null
t_is "quota set none removes it" 0 "$(pvctl -j quota | jq -r .quota)"

# ---------------------------------------------------------------------
# a flipped byte on disk
# ---------------------------------------------------------------------
head -c 200000 /dev/urandom >"$D/victim"
touch "$D/mark"
sleep 1
pvctl store "$D/victim" victim >/dev/null
blob=$(find "$PV_DATA/blobs" -type f -newer "$D/mark" | head -n 1)
t_check "the victim's blob is found" test -n "$blob"
printf '\xff' | dd of="$blob" bs=1 seek=150000 conv=notrunc 2>/dev/null
out=$(pvctl get victim "$D/victim.out" 2>&1)
t_is "get of a damaged file exits 1" 1 $?
t_check "get names the failed verification" \
    grep -q "verification" <<<"$out"
t_check "get of a damaged file leaves no file" test ! -e "$D/victim.out"
n=$(pvctl get victim 2>/dev/null | wc -c)
t_check "get to stdout writes less than the damaged segment ($n bytes)" \
    test "$n" -le 131072
out=$(pvctl -j scrub)
t_is "scrub reports the damaged blob" 1 "$(jq -r .damaged <<<"$out")"
t_check "scrub checked every blob" test "$(jq -r .checked <<<"$out")" -ge 2
t_check "the damaged blob is in quarantine/" \
    test -f "$PV_DATA/quarantine/$(basename "$blob")"
t_is "list shows no replica of it" 0 \
    "$(pvctl -j list | jq -r '.[] | select(.name == "victim") | .replicas')"
t_check "the other files still come back" \
    eval 'pvctl get from/pipe | cmp -s - "$D/pipe.bin"'
# as the daemon would have left it: owned by the data directory's owner
mkdir -p "$PV_DATA/blobs/00/00"
touch "$PV_DATA/blobs/00/00/0000orphan"
chown -R "$(stat -c %u:%g "$PV_DATA")" "$PV_DATA/blobs/00"
out=$(pvctl -j scrub)
t_check "scrub removes a file the index does not know" \
    test ! -e "$PV_DATA/blobs/00/00/0000orphan"

# the damaged content stored again replaces the quarantined blob, whose
# space is counted once: the store below fits only then
used=$(pvctl -j quota | jq -r .used)
pvctl store "$D/victim" victim-again >/dev/null
t_is "the damaged content can be stored again" 0 $?
t_is "and comes back intact" "$(sha256sum <"$D/victim")" \
    "$(pvctl get victim-again | sha256sum)"
head -c 100000 /dev/urandom >"$D/after"
pvctl quota set $((used + 150000)) >/dev/null
out=$(pvctl store "$D/after" after 2>&1)
rc=$?
t_is "the replaced blob is not counted twice against the quota" 0 "$rc"
[ "$rc" = 0 ] || echo "# $out"
n=$(pvctl -j quota | jq -r .used)
t_check "the recount agrees ($used then $n bytes)" \
    test "$n" -gt "$((used + 100000))" -a "$n" -lt "$((used + 150000))"
pvctl quota set none >/dev/null

# ---------------------------------------------------------------------
# kill -9 during a 512 MiB store
# ---------------------------------------------------------------------
head -c $((512 * 1024 * 1024)) /dev/urandom >"$D/huge"
big_tmp() {
	[ -n "$(find "$PV_DATA/tmp" -type f -size +20M 2>/dev/null)" ]
}
for victim in storage pvd; do
	pv_snap
	if [ "$victim" = storage ]; then
		target=$(pv_get storage pid)
	else
		# the whole daemon at once, as a crash or a power cut would
		target=$(pv_get . '[.processes[].pid] | join(" ")')
	fi
	pvctl store "$D/huge" "huge-$victim" >"$D/huge.out" 2>&1 &
	spid=$!
	t_wait 30 big_tmp
	t_check "kill -9 $victim: the store was under way" big_tmp
	# shellcheck disable=SC2086
	kill -KILL $target
	t_wait_exit "$spid" 30
	t_check "kill -9 $victim: pvctl store fails ($T_RC)" \
	    test "$T_RC" != 0 -a "$T_RC" != timeout
	if [ "$victim" = pvd ]; then
		t_wait_exit "$PV_PID" 10
		pv_start
	fi
	t_wait 10 pv_ready
	t_check "kill -9 $victim: the node serves again" pv_ready
	t_is "kill -9 $victim: no entry for the interrupted store" "" \
	    "$(pvctl -j list | jq -r ".[] | select(.name == \"huge-$victim\") | .name")"
	t_wait 5 eval '[ "$(tmpfiles)" -eq 0 ]'
	t_is "kill -9 $victim: tmp/ is empty again" 0 "$(tmpfiles)"
	t_check "kill -9 $victim: an earlier file is intact" \
	    eval 'pvctl get from/pipe | cmp -s - "$D/pipe.bin"'
	t_is "kill -9 $victim: pv.db passes integrity_check" ok \
	    "$(sqlite3 "file:$PV_DATA/pv.db?mode=ro" 'PRAGMA integrity_check' 2>&1)"
done

# ---------------------------------------------------------------------
# memory stays constant in the size of a file
# ---------------------------------------------------------------------
pv_snap
spid=$(pv_get storage pid)
pvctl store "$D/huge" huge >/dev/null
t_is "a 512 MiB store succeeds" 0 $?
pvctl get huge >/dev/null
t_is "a 512 MiB get succeeds" 0 $?
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$spid/status")
# the sanitizers' shadow memory and allocator add a constant of their own
limit=16
grep -q 'define PV_ASAN 1' "$top_builddir/config.h" 2>/dev/null && limit=48
t_check "pv-storaged's peak RSS stays under $limit MiB (${hwm} kB)" \
    test "${hwm:-999999}" -lt $((limit * 1024))
t_is "the 512 MiB file comes back intact" \
    "$(sha256sum <"$D/huge" | cut -d' ' -f1)" \
    "$(pvctl get huge | sha256sum | cut -d' ' -f1)"
rm -f "$D/huge"

# ---------------------------------------------------------------------
# kill -9 of the whole daemon during a store -r of many small files: the
# stores are committed in batches, and every file pvctl reported stored
# must be there, whole, after the restart
# ---------------------------------------------------------------------
mkdir -p "$D/many"
for ((i = 0; i < 600; i++)); do
	head -c $((1024 + i)) /dev/urandom >"$D/many/f$i"
done
reported() {
	grep -c '^many/f' "$D/many.out" 2>/dev/null
}
pv_snap
target=$(pv_get . '[.processes[].pid] | join(" ")')
pvctl store -r "$D/many" >"$D/many.out" 2>&1 &
spid=$!
t_wait 30 eval '[ "$(reported)" -ge 40 ]'
# shellcheck disable=SC2086
kill -KILL $target
t_wait_exit "$spid" 30
t_wait_exit "$PV_PID" 10
n=$(reported)
t_check "kill -9 during store -r: some files were reported stored ($n)" \
    test "$n" -ge 40 -a "$n" -lt 600
pv_start
t_wait 10 pv_ready
pvctl -j list | jq -r '.[].name' | sort >"$D/many.listed"
lost=0
damaged=0
for name in $(awk '/^many\/f/ { print $1 }' "$D/many.out"); do
	grep -qxF "$name" "$D/many.listed" || { lost=$((lost + 1)); continue; }
	pvctl get "$name" | cmp -s - "$D/$name" || damaged=$((damaged + 1))
done
t_is "kill -9 during store -r: no reported file is lost" 0 "$lost"
t_is "kill -9 during store -r: every reported file comes back intact" \
    0 "$damaged"
t_wait 5 eval '[ "$(tmpfiles)" -eq 0 ]'
t_is "kill -9 during store -r: tmp/ is empty again" 0 "$(tmpfiles)"
out=$(pvctl -j scrub)
t_is "kill -9 during store -r: the scrub finds nothing damaged" 0 \
    "$(jq -r .damaged <<<"$out")"
t_is "kill -9 during store -r: pv.db passes integrity_check" ok \
    "$(sqlite3 "file:$PV_DATA/pv.db?mode=ro" 'PRAGMA integrity_check' 2>&1)"
rm -rf "$D/many"

# ---------------------------------------------------------------------
# a missing node marker
# ---------------------------------------------------------------------
kill -TERM "$PV_PID"
t_wait_exit "$PV_PID" 10
mv "$PV_DATA/node-id" "$D/node-id.saved"
pv_start
out=$(pvctl store "$D/v2" after-marker 2>&1)
t_is "without the marker a store fails" 1 $?
t_check "and says the storage refuses" grep -q "refuses" <<<"$out"
out=$(pvctl get from/pipe 2>&1 >/dev/null)
t_is "without the marker a get fails" 1 $?
out=$(pvctl list 2>&1)
t_is "without the marker list fails rather than showing nothing" 1 $?
kill -TERM "$PV_PID"
t_wait_exit "$PV_PID" 10
mv "$D/node-id.saved" "$PV_DATA/node-id"
pv_start
t_check "with the marker back, the files are there" \
    eval 'pvctl get from/pipe | cmp -s - "$D/pipe.bin"'

t_done
