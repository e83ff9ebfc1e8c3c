#!/bin/bash
#
# make bench: one node on 127.0.0.1 in a temporary directory.
#  - a 1 GiB file of random bytes: store and get times and MiB/s, against
#    references measured in the same run on the same bytes:
#      D = openssl dgst -sha256 FILE          (hash it once)
#      C = cp FILE COPY && sync COPY           (write it durably once)
#    targets: store <= 1.5 x (D + C), get <= 2 x C
#  - the peak RSS (VmHWM) of every process
#  - 10,000 files of 4 KiB in one `pvctl store -r`: files/s (target 1,000)
# BENCH_SIZE_MB and BENCH_FILES change the sizes.  It prints figures and
# never fails on them: timing targets are not tests.
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
nfiles=${BENCH_FILES:-10000}

t_tmpdir
D=$T_TMP
pv_setup "$D/n1"
pv_start || { echo "bench: pvd did not start" >&2; t_diag "$PV_LOG"; exit 1; }

now() {
	date +%s.%N
}
secs() {
	echo "$2 - $1" | bc -l
}
ratio() {
	echo "scale=2; $1 / $2" | bc -l
}
mibs() {
	echo "scale=1; $size_mb / $1" | bc -l
}

echo "# making a ${size_mb} MiB file of random bytes"
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$D/file"
sync

t0=$(now); openssl dgst -sha256 "$D/file" >/dev/null; t1=$(now)
dgst=$(secs "$t0" "$t1")
t0=$(now); cp "$D/file" "$D/copy" && sync "$D/copy"; t1=$(now)
copy=$(secs "$t0" "$t1")
rm -f "$D/copy"

t0=$(now); pvctl store "$D/file" big >/dev/null || exit 1; t1=$(now)
store=$(secs "$t0" "$t1")
t0=$(now); pvctl get big "$D/back" || exit 1; t1=$(now)
get=$(secs "$t0" "$t1")
cmp -s "$D/file" "$D/back" || { echo "bench: get returned other bytes" >&2; exit 1; }
rm -f "$D/back"

printf '%-34s %8.2f s\n' "D  openssl dgst -sha256" "$dgst"
printf '%-34s %8.2f s\n' "C  cp + sync" "$copy"
printf '%-34s %8.2f s  %7.1f MiB/s  %5.2f x (D+C)  (target <= 1.5)\n' \
    "store ${size_mb} MiB" "$store" "$(mibs "$store")" \
    "$(ratio "$store" "$(echo "$dgst + $copy" | bc -l)")"
printf '%-34s %8.2f s  %7.1f MiB/s  %5.2f x C      (target <= 2)\n' \
    "get ${size_mb} MiB into a file" "$get" "$(mibs "$get")" \
    "$(ratio "$get" "$copy")"

pv_snap
for p in pvd storage net discover; do
	pid=$(pv_get "$p" pid)
	printf '%-34s %8s kB\n' "peak RSS (VmHWM) $p" \
	    "$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")"
done

echo "# making $nfiles files of 4 KiB"
mkdir -p "$D/small"
for ((i = 0; i < nfiles; i++)); do
	d="$D/small/d$((i / 1000))"
	[ -d "$d" ] || mkdir "$d"
	head -c 4096 /dev/urandom >"$d/f$i"
done
sync
t0=$(now); pvctl store -r "$D/small" >/dev/null || exit 1; t1=$(now)
small=$(secs "$t0" "$t1")
printf '%-34s %8.2f s  %7.0f files/s  (target >= 1000)\n' \
    "store -r $nfiles files of 4 KiB" "$small" \
    "$(echo "$nfiles / $small" | bc -l)"
