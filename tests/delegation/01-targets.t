#!/bin/bash
# tests/delegation/01-targets.t - the delegation client against simple real
# peers: Postfix's smtp-sink as a scanner that swallows the message
# (dropped, decided within the drop grace, not the whole timeout), a closed
# first target (the second is used), only closed targets (failed at once),
# a peer that accepts and never answers (failed within command_timeout).
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 21

h_need /usr/sbin/smtp-sink /usr/bin/python3
mkdir -p "$H_SINK" && chown nobody "$H_SINK"
h_daemon sink /usr/sbin/smtp-sink -u nobody -d "$H_SINK/%H%M%S." 127.0.0.1:10027 10
h_wait_port 10027 10 || h_die "smtp-sink does not listen"
dg_silent_peer 10029
dg_greeting_peer 10030 '"220-x\r\n" * 150 + "220 end\r\n"'
dg_greeting_peer 10031 '"220 " + "y" * 3000 + "\r\n"'
dg_greeting_peer 10032 '"554 5.3.2 not today\r\n"'

P=$H_TMP/policy.yaml
dg_policy "$P" '  sink:
    targets: ["tcp://127.0.0.1:10028", "tcp://127.0.0.1:10027"]
    connect_timeout: 2s
    command_timeout: 3s
    submission_timeout: 5s
    timeout: 30s
  closed:
    targets: ["tcp://127.0.0.1:10028", "tcp://[::1]:10028"]
    connect_timeout: 2s
  silent:
    targets: ["tcp://127.0.0.1:10029"]
    connect_timeout: 2s
    command_timeout: 2s
  hostile:
    targets: ["tcp://127.0.0.1:10030", "tcp://127.0.0.1:10031", "tcp://127.0.0.1:10032"]
    connect_timeout: 2s
    command_timeout: 2s'
dg_eml "$H_TMP/m.eml" "to the sink" "hello
.a line that starts with a dot"

# 1. smtp-sink says 250 and keeps the message: dropped, after the grace only.
dg_probe sink -c "$P" -s sink -m "$H_TMP/m.eml" -f alice@sender.test \
    -r bob@rcpt.test -r carol@rcpt.test -v
h_is "$DG_RC" 0 "the probe ran"
h_is "$(dg_get "$DG_OUT" result)" dropped "smtp-sink (250, nothing back): dropped"
h_is "$(dg_get "$DG_OUT" code)" 250 "the scanner's last reply code is kept"
h_is "$(dg_get "$DG_OUT" enhanced)" 2.0.0 "its enhanced status code too"
ms=$(dg_get "$DG_OUT" elapsed_ms)
if [ -n "$ms" ] && [ "$ms" -ge 1900 ] && [ "$ms" -lt 5000 ]; then
    h_pass "decided after the 2 s drop grace, not the 30 s timeout ($ms ms)"
else
    h_fail "decided after the 2 s drop grace, not the 30 s timeout" "elapsed_ms=$ms"
fi
h_file_like "$DG_ERR" 'tcp://127\.0\.0\.1:10028: connect: Connection refused' \
    "the closed first target is reported"
h_file_like "$DG_ERR" 'target=tcp://127\.0\.0\.1:10027 .*result=dropped' "the second target was used"
h_ok "the sink got one message" h_wait 5 test "$(h_sink_count)" = 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^X-Stagemilter-Ticket: [0-9a-f]{32}$' "it carries a 128-bit ticket header"
h_file_like "$f" '^X-Rcpt-Args: <bob@rcpt\.test>' "RCPT TO the first accepted recipient"
h_file_like "$f" '^X-Rcpt-Args: <carol@rcpt\.test>' "and the second"
h_file_like "$f" '^X-Mail-Args: <alice@sender\.test>' "MAIL FROM the envelope sender"
h_file_like "$f" '^\.a line that starts with a dot' "dot-stuffing undone by the peer: the line is intact"
h_file_like "$DG_ERR" '^progress$' "the progress callback ran while waiting"

# 2. Only closed targets: failed at once.
dg_probe closed -c "$P" -s closed -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "no target reachable: failed"

# 3. A peer that accepts and never answers: failed within command_timeout.
dg_probe silent -c "$P" -s silent -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test
ms=$(dg_get "$DG_OUT" elapsed_ms)
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*greeting: timed out' \
    "a silent peer: failed, waiting for the greeting"
if [ -n "$ms" ] && [ "$ms" -ge 1900 ] && [ "$ms" -lt 4000 ]; then
    h_pass "within the 2 s command_timeout ($ms ms)"
else
    h_fail "within the 2 s command_timeout" "elapsed_ms=$ms"
fi
h_like "$(dg_get "$DG_OUT" progress_calls)" '^[1-9]' "progress was called while blocked on the socket"

# 4. Hostile greetings: bounded replies, each target left for the next.
dg_probe hostile -c "$P" -s hostile -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test
h_file_like "$DG_ERR" '10030: greeting: reply longer than 100 lines' "a 151-line reply is refused"
h_file_like "$DG_ERR" '10031: greeting: reply line longer than 2048 bytes' "a 3000-byte line is refused"
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*10032: greeting: greeting 554 ' \
    "a 554 greeting leaves the last target too: failed"
