#!/bin/bash
# tests/e2e/09-milter-down.t - stagemilter killed: the MTA tempfails
# (milter_default_action = tempfail), the client keeps its message, nothing
# is half-delivered; once stagemilter is back the retry goes through.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 9

mta_install
sock=unix:$H_TMP/milter.sock
policy=$(h_policy rcpt-deny)
h_stagemilter_start "$policy" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks before --from alice@sender.test --to bob@rcpt.test --h-Subject "before" --body "1"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "with stagemilter up, a message is accepted"
h_ok "and delivered" h_wait_delivered 1

h_kill stagemilter # SIGKILL: as if it crashed
h_swaks down --from alice@sender.test --to bob@rcpt.test --h-Subject "while down" --body "2"
h_like "$(h_reply "$H_SWAKS_OUT" 'MAIL FROM:')" "$(mta_expect milter_down)" \
    "with stagemilter dead, MAIL FROM gets a temporary failure"
h_unlike "$(cat "$H_SWAKS_OUT")" '<-  250 [0-9.]* *Ok: queued' "the message is not accepted"
h_like "$H_SWAKS_RC" '^[1-9]' "swaks reports the failure (a client would retry)"
sleep 1
h_is "$(h_sink_count)/$(mta_queue_count)/$(mta_held_count)" 1/0/0 \
    "nothing half-delivered: sink, queue and hold unchanged"
h_file_like "$(mta_log)" '[Mm]ilter.*(connect|refused|No such file)' \
    "the $MTA log says it could not reach the milter"

rm -f "$H_TMP/milter.sock"
h_stagemilter_start "$policy" "$sock"
h_swaks retry --from alice@sender.test --to bob@rcpt.test --h-Subject "while down" --body "2"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "once stagemilter is back, the retry is accepted"
h_ok "and delivered" h_wait_delivered 2
