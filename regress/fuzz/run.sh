#!/bin/sh
# Replay every fuzz target over its seed corpus (and any crash reproducers
# kept beside it), so that `make check` runs the fuzz targets as
# regression tests.  With --enable-fuzz the targets are libFuzzer binaries
# and -runs=0 makes them replay and stop; otherwise they were linked with
# regress/fuzz/fuzz_main.c, which replays the files it is given.
set -u
: "${top_builddir:=.}" "${top_srcdir:=.}"
fail=0 pass=0
for t in imsg parse blob wire; do
	bin="$top_builddir/regress/fuzz/fuzz_$t"
	corpus="$top_srcdir/regress/fuzz/corpus/$t"
	if [ ! -x "$bin" ] || [ ! -d "$corpus" ]; then
		echo "not ok - fuzz_$t: missing $bin or $corpus"
		fail=$((fail + 1))
		continue
	fi
	if "$bin" -help=1 2>&1 | grep -q libFuzzer; then
		set -- -runs=0 "$corpus"
	else
		set -- "$corpus"
	fi
	if "$bin" "$@" >/dev/null 2>"${TMPDIR:-/tmp}/fuzz_$t.$$"; then
		echo "ok - fuzz_$t replays $(ls "$corpus" | wc -l) inputs"
		pass=$((pass + 1))
	else
		echo "not ok - fuzz_$t"
		cat "${TMPDIR:-/tmp}/fuzz_$t.$$"
		fail=$((fail + 1))
	fi
	rm -f "${TMPDIR:-/tmp}/fuzz_$t.$$"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
