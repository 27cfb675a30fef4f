#!/bin/bash
# tests/e2e/02-info.t - `info` at end of message: the client gets the
# policy's 451 and keeps the message; nothing is delivered or left queued.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 7

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy info)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks grey --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "Greylist me please" --body "not now"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" '^250 ' "the recipient is accepted"
h_is "$(h_reply "$H_SWAKS_OUT" .)" "451 4.7.1 Greylisted, please come back later" \
    "the end of data gets the policy's 451 and text"
sleep 1
h_is "$(h_sink_count)" 0 "nothing reaches the sink"
h_is "$(mta_queue_count)" 0 "nothing stays in the $MTA queue"
h_is "$(mta_held_count)" 0 "nothing is held"
h_file_like "$(h_stagemilter_log)" 'stage=preq rule="come back later" verdict=info code=451' \
    "stagemilter logs the verdict"
h_file_like "$(mta_log)" 'reject.*4\.7\.1 Greylisted, please come back later' \
    "the $MTA log records the temporary refusal"
