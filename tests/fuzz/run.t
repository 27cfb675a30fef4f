#!/bin/bash
# tests/fuzz/run.t - every libFuzzer target of tests/fuzz/, built and run for
# a short bounded time over its seed corpus.
#
# TAP: test 1 builds the targets (tests/fuzz/build, clang with
# -fsanitize=fuzzer,address,undefined) into a private directory; then one
# test per target, which runs it for FUZZ_SECONDS (default 10) seconds over
# a scratch copy of tests/fuzz/corpus/NAME/ and fails on any crash, failed
# FUZZ_CHECK, leak, timeout (-timeout, 25 s per input), memory blow-up
# (-rss_limit_mb=2048) or sanitizer report. A missing clang fails test 1 and
# every target: it is part of the test packages (contrib/install-deps.sh).
#
# Each target runs in an empty directory with stdin from /dev/null, so a
# policy naming relative list files reads nothing of the tree.
#
# Run from anywhere once configure has run:  tests/fuzz/run.t
# FUZZ_SECONDS=600 tests/fuzz/run.t runs each target ten minutes (see
# tests/fuzz/README.md and tests/fuzz/run-long for one target).
# FUZZ_KEEP=DIR builds and works in DIR and keeps it; after a failure the
# private directory is kept anyway and named, with the crashing input.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
src=${top_srcdir:-$top}
secs=${FUZZ_SECONDS:-10}

targets=()
for f in "$src"/tests/fuzz/fuzz_*.c; do
    [ -f "$f" ] && targets+=("$(basename "$f" .c)")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "1..1"
    echo "not ok 1 - no tests/fuzz/fuzz_*.c targets found"
    exit 1
fi
echo "1..$((${#targets[@]} + 1))"

dir=${FUZZ_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")} || exit 1
mkdir -p "$dir" || exit 1
keep=${FUZZ_KEEP:+1}
cleanup() { [ -n "$keep" ] || rm -rf "$dir"; }
trap cleanup EXIT

start=$(date +%s)
if ! "$src"/tests/fuzz/build "$dir/bin" >"$dir/build.out" 2>&1; then
    echo "not ok 1 - build the fuzz targets with clang -fsanitize=fuzzer,address,undefined"
    sed -n '1,40s/^/# /p' "$dir/build.out"
    n=1
    for t in "${targets[@]}"; do
        n=$((n + 1))
        echo "not ok $n - $t: not built"
    done
    exit 1
fi
echo "ok 1 - build the fuzz targets with clang -fsanitize=fuzzer,address,undefined ($(($(date +%s) - start))s)"

fail=0
n=1
for t in "${targets[@]}"; do
    n=$((n + 1))
    name=${t#fuzz_}
    seeds=$src/tests/fuzz/corpus/$name
    work=$dir/work/$name
    mkdir -p "$work/corpus" "$work/cwd" || exit 1
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
        fail=1
        echo "not ok $n - $t: no seed corpus in tests/fuzz/corpus/$name"
        continue
    fi
    log=$work/log
    start=$(date +%s)
    (cd "$work/cwd" &&
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            "$dir/bin/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 \
            -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds" \
            </dev/null >"$log" 2>&1)
    rc=$?
    took=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ] && ! grep -qE 'runtime error|ERROR: [A-Za-z]*Sanitizer|fuzz check failed' "$log"; then
        echo "ok $n - $t: ${runs:-?} runs in ${took}s, no crash"
        continue
    fi
    fail=1
    keep=1
    echo "not ok $n - $t (exit $rc after ${took}s)"
    grep -E -A25 'fuzz check failed|runtime error|ERROR: [A-Za-z]*Sanitizer|ERROR: libFuzzer' "$log" |
        sed -n '1,50s/^/# /p'
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
        [ -f "$a" ] && echo "# input kept: $a (add it to tests/fuzz/corpus/$name/ with the fix)"
    done
done
[ -n "$keep" ] && echo "# fuzz directory kept: $dir"
exit $fail
