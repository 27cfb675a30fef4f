#!/bin/bash
# tests/e2e/04-connect-reject.t - `reject` at connect. Postfix 3.7 does not
# show a milter's connect-stage text to the client: it answers the client
# with its own 554 5.7.1 and logs the milter's reply, so the client's reply
# and the MTA log are both checked. Other clients are not affected.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 6

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy connect-reject)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks blocked --local-interface 127.0.0.3 --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "from a blocked client" --body "refused"
first=$(grep -E '^<(-|\*\*) ' "$H_SWAKS_OUT" | grep -vE '^<-  220|^<-  250' | head -n 1 | sed 's/^<[^ ]* *//; s/\r$//')
h_like "$first" "$(mta_expect connect_reject)" "the blocked client is refused"
h_unlike "$(cat "$H_SWAKS_OUT")" '<-  250 2\.0\.0 Ok: queued' "its message is not accepted"
h_file_like "$(mta_log)" 'reject.*521 5\.7\.1 Connections from this address are refused' \
    "the $MTA log has the policy's code and text"
h_file_like "$(h_stagemilter_log)" 'stage=connect rule="blocked client" verdict=reject.*client=127\.0\.0\.3' \
    "stagemilter logs the rejection"

h_swaks ok --local-interface 127.0.0.1 --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "from a good client" --body "accepted"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "another client's message is accepted"
h_ok "and delivered, alone" h_wait_delivered 1
