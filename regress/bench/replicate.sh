#!/bin/bash
#
# make bench: three nodes on 127.0.0.1 in a full mesh.
#  - a 1 GiB file of random bytes stored on node 1: the time until nodes 2
#    and 3 both hold verified copies (measured from the end of the store),
#    MiB/s, against a reference measured in the same run on the same bytes:
#      C = cp FILE COPY && sync COPY           (write it durably once)
#    target: both replicas within 4 x C
#  - the CPU time each net and storage process spends on the replication
#  - the peak RSS (VmHWM) of every process of every node (target < 16 MiB)
# BENCH_SIZE_MB changes the size.  It prints figures and never fails on
# them: timing targets are not tests.
#
set -u
. "$(dirname "$0")/../lib.sh"

t_require
if is_root && ! t_ensure_user; then
	echo "bench: cannot create the user $PV_USER" >&2
	exit 1
fi
size_mb=${BENCH_SIZE_MB:-1024}
export PVCTL_TIMEOUT=3600	# figures, not limits

t_tmpdir
D=$T_TMP
pvn_init 3
for i in 1 2 3; do
	pvn_start $i || { echo "bench: node $i did not start" >&2;
	    t_diag "$PV_LOG"; exit 1; }
done
for i in 1 2 3; do
	t_wait 30 pvn_peers_are $i 2 ||
	    { echo "bench: node $i has no peers" >&2; exit 1; }
done

now() {
	date +%s.%N
}
secs() {
	echo "$2 - $1" | bc -l
}

echo "# making a ${size_mb} MiB file of random bytes"
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$D/file"
sync
id=$(sha256sum "$D/file" | cut -d' ' -f1)

t0=$(now); cp "$D/file" "$D/copy" && sync "$D/copy"; t1=$(now)
copy=$(secs "$t0" "$t1")
rm -f "$D/copy"

# the CPU time (user + system) each storage and net process spends on
# the replication: on two cores shared by three nodes, it is what the
# time is made of
hz=$(getconf CLK_TCK)
declare -A cpid cpu0
for i in 1 2 3; do
	pvn_use $i
	pv_snap
	for p in storage net; do
		cpid[$i$p]=$(pv_get "$p" pid)
	done
done
ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

pvn_use 1
t0=$(now); pvctl store "$D/file" big >/dev/null || exit 1; t1=$(now)
for k in "${!cpid[@]}"; do
	cpu0[$k]=$(ticks "${cpid[$k]}")
done
store=$(secs "$t0" "$t1")
# poll the logs, which costs next to nothing, rather than pvctl and jq,
# which would take CPU from the nodes being measured
fetched() {
	grep -q "fetched blob ${id:0:8}" "$T_TMP/n$1/pvd.log"
}
both() {
	fetched 2 && fetched 3
}
t_wait 3600 both || { echo "bench: the replicas did not complete" >&2; exit 1; }
t2=$(now)
cpu=
total=0
for k in 1net 2net 2storage 3net 3storage; do
	d=$(( $(ticks "${cpid[$k]}") - ${cpu0[$k]} ))
	total=$((total + d))
	cpu="$cpu, node ${k:0:1} ${k:1} $(printf %.2f \
	    "$(echo "$d / $hz" | bc -l)")"
done
for i in 2 3; do
	pvn_has $i big "$id" ||
	    { echo "bench: node $i does not hold the file" >&2; exit 1; }
done
repl=$(secs "$t1" "$t2")

printf '%-36s %8.2f s\n' "C  cp + sync" "$copy"
printf '%-36s %8.2f s\n' "store ${size_mb} MiB on node 1" "$store"
printf '%-36s %8.2f s  %7.1f MiB/s  %5.2f x C  (target <= 4)\n' \
    "replicas on nodes 2 and 3" "$repl" \
    "$(echo "scale=1; $size_mb / $repl" | bc -l)" \
    "$(echo "scale=2; $repl / $copy" | bc -l)"

printf '%-36s %8.2f s  (%s)\n' "CPU time of the replication" \
    "$(echo "scale=2; $total / $hz" | bc -l)" "${cpu#, }"

for i in 1 2 3; do
	pvn_use $i
	pv_snap
	for p in pvd storage net discover; do
		pid=$(pv_get "$p" pid)
		printf '%-36s %8s kB\n' "peak RSS (VmHWM) node $i $p" \
		    "$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' \
		    "/proc/$pid/status")"
	done
done
