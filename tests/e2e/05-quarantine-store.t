#!/bin/bash
# tests/e2e/05-quarantine-store.t - `quarantine` with `store`: the client
# gets 250, exactly one file lands in WORKDIR/QUEUE/new holding the message
# and its envelope, and nothing reaches the sink.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 12

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy quarantine-store)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks q --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test \
    --h-Subject "Your invoice 4711" --body "pay now, quarantine body marker"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the client gets 250 (it must not retry)"
sleep 1
h_is "$(h_sink_count)" 0 "nothing reaches the sink"
h_is "$(mta_queue_count)" 0 "nothing stays in the $MTA queue"
h_is "$(mta_held_count)" 0 "nothing is held in the $MTA (store only)"
q=$H_TMP/work/suspect
h_is "$(find "$q/new" -type f 2>/dev/null | wc -l)" 1 "exactly one file in WORKDIR/suspect/new"
f=$(find "$q/new" -type f 2>/dev/null | head -n 1)
h_is "$(find "$q/tmp" -type f 2>/dev/null | wc -l)" 0 "nothing left in WORKDIR/suspect/tmp"
h_file_like "$f" '^Return-Path: <alice@sender\.test>$' "the file has the envelope sender"
h_is "$(grep -c '^X-Original-To: <\(bob\|carol\)@rcpt\.test>$' "$f" 2>/dev/null)" 2 \
    "and both envelope recipients"
h_file_like "$f" '^X-Stagemilter-Quarantine: rule="suspicious subject" queue=suspect' \
    "and says which rule put it there"
h_ok "and holds the message as sent" h_intact "$H_SWAKS_OUT" "$f"
h_file_like "$(h_stagemilter_log)" 'quarantine=suspect stored path=.*/suspect/new/' \
    "stagemilter logs where it stored the message"
h_file_like "$(mta_log)" '[Mm]ilter.*discard' "the $MTA log shows the discard"
