#!/bin/bash
# tests/e2e/08-no-decision.t - rules at every stage, none matches: the
# message is delivered, unchanged, and stagemilter adds nothing.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 6

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy no-decision)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks plain --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "nothing to see" --body "an ordinary message"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" '^250 ' "the recipient is accepted"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the message is accepted"
h_ok "it reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_ok "unchanged" h_intact "$H_SWAKS_OUT" "$f"
h_file_unlike "$f" '^X-Stagemilter' "with no stagemilter header"
h_file_unlike "$(h_stagemilter_log)" 'verdict=(deny|reject|info|defer|discard)' \
    "stagemilter refused nothing"
