#!/bin/bash
# tests/distcheck.t - `make distcheck`: the release tarball builds out of tree,
# passes `make check`, installs and uninstalls cleanly. Run from the top of a
# configured tree (tests/run does). TAP: one test.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
echo "1..1"
if [ ! -f Makefile ]; then
    echo "not ok 1 - make distcheck # the tree is not configured"
    exit 1
fi
log=$(mktemp "${TMPDIR:-/tmp}/distcheck.XXXXXX") || exit 1
if make -j2 distcheck >"$log" 2>&1; then
    echo "ok 1 - make distcheck"
    rm -f "$log" stagemilter-*.tar.gz
    exit 0
fi
echo "not ok 1 - make distcheck"
tail -n 40 "$log" | sed 's/^/# /'
rm -f "$log"
exit 1
