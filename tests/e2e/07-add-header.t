#!/bin/bash
# tests/e2e/07-add-header.t - an `add_header` effect (with interpolated
# variables) reaches the sink; the rest of the message is unchanged.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 6

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy add-header)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks tagged --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "tag me" --body "body stays the same"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the message is accepted"
h_ok "it reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" "^X-Stagemilter-Origin: loopback client 127\.0\.0\.1 server 127\.0\.0\.1:$MTA_PORT$" \
    "the added header, with variables and the macros {client_addr} {daemon_addr} {daemon_port}"
h_is "$(grep -c '^X-Stagemilter-Origin:' "$f")" 1 "exactly once"
h_file_like "$f" '^body stays the same$' "the body is there"
# The sent lines, in order, once the added header is taken out.
lines_kept() {
    diff <(h_sent_data "$1") <(grep -v '^X-Stagemilter-Origin:' "$2" | sed -n '/^Date:/,$p' |
        head -n "$(h_sent_data "$1" | wc -l)")
}
h_ok "the original lines are all there, in order" lines_kept "$H_SWAKS_OUT" "$f"
