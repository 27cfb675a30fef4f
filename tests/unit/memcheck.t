#!/bin/bash
# tests/unit/memcheck.t - every unit test binary under valgrind's memcheck.
#
# TAP: one test per binary that the Makefile registers in TESTS under
# tests/unit/ (tests/unit/test_*). A test fails when the binary fails, when
# valgrind reports any memory error, or any definite, indirect or possible
# leak. PCRE2's JIT code gives false "uninitialised value" reports;
# tests/valgrind.supp suppresses exactly those (see there).
#
# Run from anywhere after `make check TESTS=` (which builds the binaries):
#     tests/unit/memcheck.t
# A missing valgrind or a missing binary fails the test, never skips it.
# MEMCHECK_KEEP=DIR keeps every binary's valgrind log in DIR.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "${top_builddir:-$top}" || exit 1
srcdir=${top_srcdir:-$top}

bins=$(printf 'memcheck-print:\n\t@echo $(TESTS)\n' | make -s --no-print-directory -f Makefile -f - memcheck-print |
    tr ' ' '\n' | grep '^tests/unit/test_[A-Za-z0-9_]*$')
if [ -z "$bins" ]; then
    echo "1..1"
    echo "not ok 1 - no unit test binaries found in the Makefile's TESTS"
    exit 1
fi

set -- $bins
echo "1..$#"
if ! command -v valgrind >/dev/null 2>&1; then
    n=0
    for b; do
        n=$((n + 1))
        echo "not ok $n - $b under valgrind: valgrind is not installed (Debian package valgrind)"
    done
    exit 1
fi

logdir=${MEMCHECK_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/memcheck.XXXXXX")} || exit 1
mkdir -p "$logdir"
[ -n "${MEMCHECK_KEEP:-}" ] || trap 'rm -rf "$logdir"' EXIT

# Exit status valgrind uses for errors, distinct from a test's own failure.
vgerr=97
fail=0
n=0
for b; do
    n=$((n + 1))
    name=$(basename "$b")
    log=$logdir/$name.valgrind
    out=$logdir/$name.out
    if [ ! -x "$b" ]; then
        echo "not ok $n - $b under valgrind: not built (run make check TESTS=)"
        fail=1
        continue
    fi
    start=$(date +%s)
    # Plain cmocka output (not TAP) so that it cannot mix with ours.
    CMOCKA_MESSAGE_OUTPUT=STDOUT valgrind --quiet --tool=memcheck \
        --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible \
        --suppressions="$srcdir/tests/valgrind.supp" \
        --error-exitcode=$vgerr --log-file="$log" "$b" >"$out" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ] && [ ! -s "$log" ]; then
        echo "ok $n - $b under valgrind (${secs}s)"
        continue
    fi
    fail=1
    if [ $rc -eq $vgerr ] || [ -s "$log" ]; then
        echo "not ok $n - $b under valgrind: memory errors or leaks (exit $rc)"
    else
        echo "not ok $n - $b under valgrind: the test failed (exit $rc)"
    fi
    sed -n '1,60s/^/# /p' "$log"
    grep -E '^\[  (FAILED|ERROR) |^\[  FAILED  \]' "$out" | sed 's/^/# /'
done
exit $fail
