#!/bin/sh
# tests/milter/run.t: the milter-protocol tests. For each tests/milter/X.lua,
# start the built stagemilter in the foreground on a private unix socket with
# tests/milter/policies/X.yaml (@WORKDIR@ replaced by a fresh directory),
# drive it with miltertest, then stop it. One TAP test per script.
# STAGEMILTER_WRAPPER (e.g. "valgrind --error-exitcode=9 --leak-check=full")
# runs the daemon under a tool; its exit status is then checked too.
# STAGEMILTER_BIN runs another build (e.g. one with -fsanitize=address).
srcdir=${top_srcdir:-.}/tests/milter
bin=${STAGEMILTER_BIN:-${top_builddir:-.}/stagemilter}

if ! command -v miltertest >/dev/null 2>&1; then
    echo "1..1"
    echo "not ok 1 - miltertest is missing (Debian package miltertest)"
    exit 1
fi
if [ ! -x "$bin" ]; then
    echo "1..1"
    echo "not ok 1 - $bin is not built"
    exit 1
fi

scripts=$(ls "$srcdir"/*.lua | grep -v '/lib\.lua$')
n=$(echo "$scripts" | wc -l)
echo "1..$n"
i=0
status=0
for script in $scripts; do
    i=$((i + 1))
    name=$(basename "$script" .lua)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/stagemilter-mt.XXXXXX")
    sed "s|@WORKDIR@|$dir|g" "$srcdir/policies/$name.yaml" > "$dir/policy.yaml"
    # As root the daemon wants -u or --run-as-root; the scripts need root's view of $dir.
    asroot=
    [ "$(id -u)" = 0 ] && asroot=--run-as-root
    $STAGEMILTER_WRAPPER "$bin" -f -p "unix:$dir/sock" -c "$dir/policy.yaml" $asroot 2> "$dir/log" &
    pid=$!
    tries=0
    while [ ! -S "$dir/sock" ] && [ $tries -lt 100 ] && kill -0 $pid 2>/dev/null; do
        sleep 0.1
        tries=$((tries + 1))
    done
    miltertest -D "socket=unix:$dir/sock" -D "logfile=$dir/log" -D "workdir=$dir" \
        -D "lib=$srcdir/lib.lua" -s "$script" > "$dir/out" 2>&1
    rc=$?
    kill -TERM $pid 2>/dev/null
    wait $pid
    drc=$?
    if [ $rc -eq 0 ] && grep -q '^ok$' "$dir/out" && { [ -z "$STAGEMILTER_WRAPPER" ] || [ $drc -eq 0 ]; }; then
        echo "ok $i - $name"
        rm -rf "$dir"
    else
        echo "not ok $i - $name (miltertest exit $rc, daemon exit $drc; kept $dir)"
        sed 's/^/# /' "$dir/out"
        echo "# --- stagemilter log:"
        tail -n 30 "$dir/log" | sed 's/^/# /'
        status=1
    fi
done
exit $status
