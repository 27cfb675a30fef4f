#!/bin/bash
# tests/e2e/23-apply-message.t - `apply: message`: the copy spampd returns
# replaces the MTA's copy, headers and body. GTUBE is delivered as
# SpamAssassin's report_safe report (new Content-Type, the original
# attached), ham with its X-Spam-* headers and its own body; our ticket
# header is never a header of the delivered message.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 16

mta_install
sc_spampd_start
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy spampd-message)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)

# The delivered message's header block (up to the first empty line).
headers() {
    sed '/^\r\{0,1\}$/q' "$1"
}

h_swaks gtube --from alice@sender.test --to bob@rcpt.test --h-Subject "buy now" \
    --body "$(sc_gtube)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "GTUBE: the client gets 250"
h_ok "GTUBE: it is delivered (no rule stops it)" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_like "$(headers "$f")" $'\nX-Spam-Flag: YES' "GTUBE: flagged X-Spam-Flag: YES"
h_like "$(headers "$f")" $'\nContent-Type: multipart/mixed; boundary=' \
    "GTUBE: the report's Content-Type replaced ours"
h_is "$(headers "$f" | grep -ci '^X-Stagemilter-Ticket')" 0 "GTUBE: no ticket among the headers"
h_is "$(headers "$f" | grep -ci '^Content-Type:')" 1 "GTUBE: exactly one Content-Type"
# The original SpamAssassin attaches carried our ticket header: it is cut
# out of the body too, so neither the header nor a token of its form (32
# hex digits, which nothing else in this message has) is anywhere.
h_is "$(grep -ci 'X-Stagemilter-Ticket' "$f")" 0 "GTUBE: no ticket anywhere in the delivered message"
h_is "$(grep -cE '(^|[^0-9a-fA-F])[0-9a-f]{32}([^0-9a-fA-F]|$)' "$f")" 0 \
    "GTUBE: no ticket token anywhere either"
h_file_like "$f" '^Spam detection software' "GTUBE: the body is SpamAssassin's report"
h_file_like "$f" '^Content-Type: message/rfc822' "GTUBE: with the original attached"
h_file_like "$f" 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL' "GTUBE: the original is inside"
h_file_like "$log" 'delegate service=spampd apply=message headers_added=[0-9]+ changed=[0-9]+ deleted=[0-9]+ body=replaced' \
    "GTUBE: stagemilter logs the replaced body"

find "$H_SINK" -type f -delete
h_swaks ham --from alice@sender.test --to bob@rcpt.test --h-Subject "lunch" \
    --body "Shall we have lunch on Tuesday? The usual place at noon."
h_ok "ham: delivered" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_like "$(headers "$f")" $'\nX-Spam-Status: No, score=' "ham: X-Spam-Status applied"
h_file_like "$f" '^Shall we have lunch on Tuesday\? The usual place at noon\.' "ham: its own body"
h_is "$(headers "$f" | grep -c '^Subject: lunch')" 1 "ham: its Subject once"
