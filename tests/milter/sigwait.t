#!/bin/sh
# tests/milter/sigwait.t - libmilter's calls to sigwait() reach the one
# stagemilter defines (milter/daemon/signals.c says why: libmilter's signal
# thread stops the filter on SIGHUP), not the C library's. The dynamic
# linker's own record of its bindings is the proof, for whatever libmilter
# the daemon is linked with (Debian ships one, libmilter1.0.1, used with
# Postfix and Sendmail alike); tests/e2e/36-reload-storm.t shows the effect
# on both MTAs. TAP: two tests.
bin=${STAGEMILTER:-${top_builddir:-.}/stagemilter}
echo "1..2"
if [ ! -x "$bin" ]; then
    echo "not ok 1 - $bin is not built"
    echo "not ok 2 - $bin is not built"
    exit 1
fi
lib=$(ldd "$bin" | awk '/libmilter/ { print $3 }')
if [ -n "$lib" ]; then echo "ok 1 - the daemon is linked with $lib"; else
    echo "not ok 1 - the daemon is linked with libmilter (ldd shows none)"
    exit 1
fi
policy=$(mktemp) || exit 1
trap 'rm -f "$policy"' EXIT
printf 'stages: {}\n' >"$policy"
# LD_BIND_NOW: every binding is made (and logged) at start, not on first call.
line=$(LD_BIND_NOW=1 LD_DEBUG=bindings "$bin" --check -c "$policy" 2>&1 |
    grep "binding file [^ ]*libmilter[^ ]* .* to [^ ]*stagemilter .*symbol .sigwait'")
if [ -n "$line" ]; then
    echo "ok 2 - libmilter's sigwait() is bound to stagemilter's"
else
    echo "not ok 2 - libmilter's sigwait() is bound to stagemilter's"
    LD_BIND_NOW=1 LD_DEBUG=bindings "$bin" --check -c "$policy" 2>&1 | grep "sigwait" | sed 's/^/# /'
    exit 1
fi
