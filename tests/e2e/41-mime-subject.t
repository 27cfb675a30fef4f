#!/bin/bash
# tests/e2e/41-mime-subject.t - a `subject:` rule matches RFC 2047 encoded
# subjects (UTF-8 from Python's email package, ISO-2022-JP): the client
# gets the deny reply with the decoded subject in its text, promptly; a
# subject that only looks alike in its encoded bytes is delivered.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 6

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy mime)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
corpus=$H_TOP/tests/mime/corpus

start=$(date +%s)
h_swaks utf8 --from alice@sender.test --to bob@rcpt.test --data "@$corpus/python-subject-utf8.eml"
secs=$(($(date +%s) - start))
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^554 5\.7\.1 no unpaid invoices here: Facture impay' \
    "=?utf-8?q?Facture_impay=C3=A9e...?= is denied with 554 5.7.1 and the decoded subject"
h_ok "and promptly (${secs}s)" test "$secs" -le 10
h_swaks jp --from alice@sender.test --to bob@rcpt.test --data "@$corpus/python-subject-iso2022jp.eml"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^554 5\.7\.1 ' "an ISO-2022-JP subject (請求書) is denied too"
h_swaks latin1 --from alice@sender.test --to bob@rcpt.test --data "@$corpus/python-subject-latin1.eml"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "an ISO-8859-1 subject the rule does not name is delivered"
h_ok "only that one reaches the sink" h_wait_delivered 1
h_file_like "$(h_stagemilter_log)" 'rule="invoice subject"' "the log names the subject rule"
