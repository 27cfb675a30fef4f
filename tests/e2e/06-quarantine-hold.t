#!/bin/bash
# tests/e2e/06-quarantine-hold.t - `quarantine` with `hold`: the message
# waits in the MTA's hold queue (Postfix: queue_directory/hold), nothing
# reaches the sink, no copy is stored by stagemilter.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 8

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy quarantine-hold)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks q --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "Your invoice 4712" --body "pay now"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the client gets 250"
h_ok "the message is in the $MTA's hold queue" h_wait 10 test "$(mta_held_count)" = 1
mta_flush
sleep 1
h_is "$(mta_held_count)" 1 "it stays there after a flush"
h_is "$(h_sink_count)" 0 "nothing reaches the sink"
h_is "$(find "$H_TMP/work" -type f 2>/dev/null | wc -l)" 0 "stagemilter stores no copy"
h_file_like "$(h_stagemilter_log)" 'quarantine=suspect held in the MTA' "stagemilter logs the hold"
h_file_like "$(mta_log)" 'milter-hold|quarantine=' "the $MTA log shows the hold"
if [ "$MTA" = postfix ]; then
    held=$(postqueue -c "$PF_ETC" -j 2>/dev/null)
    h_like "$held" '"queue_name": *"hold".*"recipients": *\[\{"address": *"bob@rcpt\.test"' \
        "postqueue -j lists it in the hold queue for its recipient"
else
    h_pass "(hold queue listing is Postfix-specific)"
fi
