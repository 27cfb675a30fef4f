#!/bin/sh
# tests/trace/run.t: golden outputs of `stagemilter --trace`. For each
# tests/trace/NAME.args (one argument a line), run
#     stagemilter --trace NAME.eml -c NAME.yaml ARGS...
# in tests/trace/ and compare stdout with NAME.out and the exit status with 0;
# then a few command-line and file errors that must exit 1.
# STAGEMILTER_WRAPPER (e.g. "valgrind -q --error-exitcode=9 --leak-check=full")
# runs every trace under a tool. REGEN=1 rewrites the .out files.
srcdir=$(cd "${top_srcdir:-.}/tests/trace" && pwd) || { echo "1..0 # cannot find tests/trace"; exit 1; }
bin=$(cd "${top_builddir:-.}" && pwd)/stagemilter
cd "$srcdir" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stagemilter-trace.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

goldens=$(ls *.args | sed 's/\.args$//')
errors=4
echo "1..$(( $(echo "$goldens" | wc -l) + errors ))"
i=0
status=0

# ok/not ok for test $1 with description $2
result() {
    i=$((i + 1))
    if [ "$1" = 0 ]; then
        echo "ok $i - $2"
    else
        echo "not ok $i - $2"
        status=1
    fi
}

for name in $goldens; do
    set --
    while IFS= read -r arg; do
        set -- "$@" "$arg"
    done < "$name.args"
    # Durations vary from run to run: N in the goldens.
    $STAGEMILTER_WRAPPER "$bin" --trace "$name.eml" -c "$name.yaml" "$@" > "$tmp/raw" 2> "$tmp/err"
    rc=$?
    sed -E 's/elapsed_ms=[0-9]+/elapsed_ms=N/g; s/ in [0-9]+ ms/ in N ms/g' "$tmp/raw" > "$tmp/out"
    if [ -n "$REGEN" ]; then
        cp "$tmp/out" "$name.out"
    fi
    if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/out" "$name.out"; then
        result 0 "$name"
    else
        result 1 "$name (exit $rc)"
        diff -u "$name.out" "$tmp/out" | sed 's/^/# /'
        sed 's/^/# stderr: /' "$tmp/err"
    fi
done

# expect_fail DESCRIPTION STDERR-TEXT ARGS...: exit 1 with that text on stderr.
expect_fail() {
    desc=$1 text=$2
    shift 2
    $STAGEMILTER_WRAPPER "$bin" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && grep -qF -- "$text" "$tmp/err"; then
        result 0 "$desc"
    else
        result 1 "$desc (exit $rc)"
        sed 's/^/# stderr: /' "$tmp/err"
    fi
}

expect_fail "missing message file" "no-such.eml: No such file or directory" \
    --trace no-such.eml -c accept.yaml --client-ip 192.0.2.1 --from a@b --rcpt c@d
expect_fail "invalid policy" "no-such.yaml" \
    --trace accept.eml -c no-such.yaml --client-ip 192.0.2.1 --from a@b --rcpt c@d
expect_fail "--rcpt is required" "--trace needs --rcpt" \
    --trace accept.eml -c accept.yaml --client-ip 192.0.2.1 --from a@b
expect_fail "trace options need --trace" "go with --trace" \
    --check -c accept.yaml --client-ip 192.0.2.1
exit $status
