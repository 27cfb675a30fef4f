#!/bin/bash
# tests/delegation/70-clamd.t - the clamd protocol (milter/delegate/clamd.c)
# against a real clamd 1.x from Debian with a one-signature EICAR database:
#   clean mail            returned, "stream: OK", no virus
#   EICAR                 returned, the signature's name as virus=
#   unix: then tcp://     a target that is not there is left for the next
#   StreamMaxLength       a message larger than clamd's limit: failed, and
#                         says so (never "clean")
#   clamd down            failed, with the connect error
#   garbage, silence,     failed with a clear reason, within the timeout,
#   a 100 MB reply        memory bounded
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 23
h_need /usr/bin/time

sc_clamd_start
# A second clamd on TCP with a small StreamMaxLength, same database.
d=$H_TMP/clam
cat >"$d/clamd-tcp.conf" <<EOF2
TCPSocket 3310
TCPAddr 127.0.0.1
DatabaseDirectory $d/db
Foreground yes
LogFile $d/clamd-tcp.log
User root
StreamMaxLength 20K
EOF2
h_daemon clamd-tcp clamd -c "$d/clamd-tcp.conf"
h_wait_port 3310 20 || h_die "the TCP clamd does not listen" "$(cat "$d/clamd-tcp.log")"

P=$H_TMP/policy.yaml
dg_policy "$P" "  clamav:
    protocol: clamd
    targets: [\"unix:$H_TMP/nothing-here.sock\", \"unix:$SC_CLAMD_SOCK\"]
    connect_timeout: 2s
    command_timeout: 5s
    timeout: 10s
  clamtcp:
    protocol: clamd
    targets: \"tcp://127.0.0.1:3310\"
    timeout: 10s
  clamdown:
    protocol: clamd
    targets: [\"unix:$H_TMP/nothing-here.sock\", \"tcp://127.0.0.1:3399\"]
    timeout: 5s
  garbage:
    protocol: clamd
    targets: \"tcp://127.0.0.1:3311\"
    timeout: 5s
  silent:
    protocol: clamd
    targets: \"tcp://127.0.0.1:3312\"
    timeout: 2s"
h_ok "--check accepts clamd services with unix: and tcp:// targets" "$STAGEMILTER" --check -c "$P"
dg_eml "$H_TMP/clean.eml" "clean one" "nothing to see here"
dg_eml "$H_TMP/eicar.eml" "infected one" "$(sc_eicar)"

# 1. Clean mail.
dg_probe clean -c "$P" -s clamav -m "$H_TMP/clean.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" returned "clean: returned (clamd answered)"
h_is "$(dg_get "$DG_OUT" reply)" "stream: OK" "clean: clamd's reply"
h_file_unlike "$DG_OUT" '^virus=' "clean: no virus"
h_file_like "$DG_ERR" "unix:$H_TMP/nothing-here\.sock: connect: No such file or directory" \
    "the first target, not there, was tried and left"

# 2. EICAR.
dg_probe eicar -c "$P" -s clamav -m "$H_TMP/eicar.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" returned "EICAR: returned"
h_like "$(dg_get "$DG_OUT" virus)" '^Eicar-Test-Signature' "EICAR: the signature's name"
h_like "$(dg_get "$DG_OUT" reply)" '^stream: Eicar-Test-Signature.* FOUND$' "EICAR: clamd's reply"
h_file_like "$DG_ERR" 'delegate service=clamav virus="Eicar-Test-Signature' "EICAR: logged with virus="

# 3. TCP, and clamd's StreamMaxLength.
dg_probe tcp -c "$P" -s clamtcp -m "$H_TMP/eicar.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" virus)" '^returned Eicar-Test-Signature' \
    "tcp://: EICAR found"
{
    printf 'From: alice@sender.test\nTo: bob@rcpt.test\nSubject: big\n\n'
    for _ in $(seq 1 2000); do printf 'a line of forty bytes to make it big....\n'; done
    sc_eicar
} >"$H_TMP/big.eml"
dg_probe big -c "$P" -s clamtcp -m "$H_TMP/big.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "80 KB past StreamMaxLength 20K: failed, not clean"
h_like "$(dg_get "$DG_OUT" reply)" "larger than clamd's StreamMaxLength" "and says why"
h_file_unlike "$DG_OUT" '^virus=' "and names no virus"

# 4. clamd down.
dg_probe down -c "$P" -s clamdown -m "$H_TMP/clean.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "no clamd: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'tcp://127\.0\.0\.1:3399: connect: Connection refused' \
    "with the last target's connect error"

# 5. A peer that answers garbage, one that never answers.
sc_greeting_peer 3311 "'HTTP/1.0 200 OK hello\\x00'"
dg_probe garbage -c "$P" -s garbage -m "$H_TMP/clean.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "garbage: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'answered something else than a scan result' "garbage: says so"
sc_silent_peer 3312
dg_probe silent -c "$P" -s silent -m "$H_TMP/clean.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "silence: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'timed out' "silence: timed out"
ms=$(dg_get "$DG_OUT" elapsed_ms)
if [ -n "$ms" ] && [ "$ms" -ge 1900 ] && [ "$ms" -lt 4000 ]; then
    h_pass "silence: gave up at the service's timeout of 2 s ($ms ms)"
else
    h_fail "silence: gave up at the service's timeout of 2 s" "elapsed_ms=$ms"
fi
h_file_like "$DG_ERR" '^progress$' "the MTA is kept waiting meanwhile (progress)"
# A peer that sends 100 MB without the NUL that ends clamd's reply.
sc_greeting_peer 3313 "'x' * 100000000"
dg_policy "$H_TMP/huge.yaml" "  huge:
    protocol: clamd
    targets: \"tcp://127.0.0.1:3313\"
    timeout: 30s"
DG_WRAPPER="/usr/bin/time -f maxrss_kb=%M" dg_probe huge -c "$H_TMP/huge.yaml" -s huge -m "$H_TMP/clean.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*reply longer than 4096 bytes' \
    "a 100 MB reply: failed, says so"
rss=$(sed -n 's/^maxrss_kb=//p' "$DG_ERR")
if [ -n "$rss" ] && [ "$rss" -lt 30000 ]; then
    h_pass "a 100 MB reply: the probe stayed at ${rss} KB"
else
    h_fail "a 100 MB reply: memory stays bounded" "maxrss_kb=$rss"
fi
