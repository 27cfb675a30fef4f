#!/bin/bash
# tests/check/run.t - golden tests of `stagemilter --check`.
#
# tests/check/bad/NN-name.yaml must be refused (exit 1) with exactly the
# output in NN-name.out; tests/check/good/*.yaml must pass (exit 0) with the
# output in name.out when there is one (warnings), else "FILE: OK".
# Run from the top of the tree; paths in the .out files are relative to it.
# TAP output. Set REGENERATE=1 to rewrite the .out files of bad/ (review
# the diff before committing).
set -u
bin="${top_builddir:-.}/stagemilter"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
cd "${top_srcdir:-.}" || exit 1

files=(tests/check/bad/*.yaml tests/check/good/*.yaml)
echo "1..${#files[@]}"
if [ ! -x "$bin" ]; then
    n=0
    for f in "${files[@]}"; do
        n=$((n + 1))
        echo "not ok $n - $f # $bin not built"
    done
    exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
for f in "${files[@]}"; do
    n=$((n + 1))
    out="${f%.yaml}.out"
    "$bin" --check -c "$f" >"$tmp/got" 2>&1
    rc=$?
    case "$f" in
    tests/check/bad/*)
        want_rc=1
        if [ "${REGENERATE:-}" = 1 ]; then cp "$tmp/got" "$out"; fi
        ;;
    *)
        want_rc=0
        if [ ! -e "$out" ]; then
            printf '%s: OK\n' "$f" >"$tmp/want"
            out="$tmp/want"
        fi
        ;;
    esac
    if [ ! -e "$out" ]; then
        echo "not ok $n - $f # missing $out"
        fail=1
    elif [ "$rc" -ne "$want_rc" ]; then
        echo "not ok $n - $f # exit $rc, expected $want_rc"
        sed 's/^/# /' "$tmp/got"
        fail=1
    elif ! diff -u "$out" "$tmp/got" >"$tmp/diff"; then
        echo "not ok $n - $f"
        sed 's/^/# /' "$tmp/diff"
        fail=1
    else
        echo "ok $n - $f"
    fi
done
exit $fail
