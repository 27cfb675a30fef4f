#!/bin/bash
# tests/e2e/42-mime-url.t - a `url_domain:` rule with a @list refuses a
# message whose HTML and text link to a listed domain (Python's email
# package, multipart/alternative): 550 with the domains in the text,
# promptly; a message without such links is delivered.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 5

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy mime)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
corpus=$H_TOP/tests/mime/corpus

start=$(date +%s)
h_swaks phish --from alice@sender.test --to bob@rcpt.test --data "@$corpus/python-html-links.eml"
secs=$(($(date +%s) - start))
h_like "$(h_reply "$H_SWAKS_OUT" .)" \
    '^550 5\.7\.1 links to login\.phish\.example, tracker\.example\.com are refused' \
    "a link to a listed domain: 550 5.7.1 naming the domains"
h_ok "and promptly (${secs}s)" test "$secs" -le 10
h_swaks ham --from alice@sender.test --to bob@rcpt.test --h-Subject "lunch" \
    --body "See https://www.example.org/menu for the menu."
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a link to another domain: 250"
h_ok "only that one reaches the sink" h_wait_delivered 1
h_file_like "$(h_sink_files | head -n 1)" '^Subject: lunch' "and it is that one"
