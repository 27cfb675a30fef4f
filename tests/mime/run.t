#!/bin/sh
# tests/mime/run.t: golden outputs of `stagemilter --trace` over the MIME
# corpus (tests/mime/corpus, made by make-corpus.sh with mutt, mpack,
# swaks, Python's email package, zip and 7z; hostile cases included):
# for each corpus/NAME.eml, run
#     stagemilter --trace corpus/NAME.eml -c policy.yaml --client-ip 192.0.2.1
#                 --from alice@example.org --rcpt bob@example.net
# and compare stdout with golden/NAME.out (the MIME tree, the rule that
# matched and the part that made it match) and the exit status with 0.
# Each run must also end within 10 seconds (a bomb must not hang it).
# STAGEMILTER_WRAPPER runs each under a tool; REGEN=1 rewrites the goldens.
srcdir=$(cd "${top_srcdir:-.}/tests/mime" && pwd) || { echo "1..0 # cannot find tests/mime"; exit 1; }
bin=$(cd "${top_builddir:-.}" && pwd)/stagemilter
cd "$srcdir" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stagemilter-mime.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

names=$(ls corpus/*.eml | sed 's#^corpus/##; s/\.eml$//')
echo "1..$(echo "$names" | wc -l)"
i=0
status=0
for name in $names; do
    i=$((i + 1))
    timeout 10 ${STAGEMILTER_WRAPPER:-} "$bin" --trace "corpus/$name.eml" -c policy.yaml \
        --client-ip 192.0.2.1 --from alice@example.org --rcpt bob@example.net \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "${REGEN:-}" = 1 ]; then
        mkdir -p golden
        cp "$tmp/out" "golden/$name.out"
    fi
    if [ "$rc" -ne 0 ]; then
        echo "not ok $i - $name (exit $rc)"
        sed 's/^/# /' "$tmp/err"
        status=1
    elif ! diff -u "golden/$name.out" "$tmp/out" >"$tmp/diff" 2>&1; then
        echo "not ok $i - $name"
        head -40 "$tmp/diff" | sed 's/^/# /'
        status=1
    else
        echo "ok $i - $name"
    fi
done
exit $status
