#!/bin/sh
# The whole test suite, as CI runs it: a -Werror build with `make check`
# and `make distcheck`, the manual pages through mandoc's linter, then an
# AddressSanitizer+UndefinedBehaviorSanitizer build with `make check`.
# Builds go to build/ and build-asan/ beside the sources.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

./autogen.sh

echo "=== normal build (-Werror): make check, make distcheck"
rm -rf build && mkdir build && cd build
"$src/configure" --enable-werror
make -j"$jobs"
make -j"$jobs" check || { cat test-suite.log; exit 1; }
make lint-man
make -j"$jobs" distcheck
cd "$src"

echo "=== sanitizer build (--enable-asan): make check"
rm -rf build-asan && mkdir build-asan && cd build-asan
"$src/configure" --enable-werror --enable-asan
make -j"$jobs"
make -j"$jobs" check || { cat test-suite.log; exit 1; }
cd "$src"

# one closing line over both builds, counted from automake's results
results() {
	cat build/regress/*.trs build/regress/*/*.trs \
	    build-asan/regress/*.trs build-asan/regress/*/*.trs |
	    grep -c "^:test-result: $1" || true
}
pass=$(results PASS)
fail=$(results FAIL)
echo "=== all tests passed"
echo "check-all: $pass passed, $fail failed"
