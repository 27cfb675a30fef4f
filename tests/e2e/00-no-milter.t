#!/bin/bash
# tests/e2e/00-no-milter.t - the test bed alone: the MTA, with no milter,
# relays a message from swaks to the sink. If this fails, every other
# end-to-end result is meaningless.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 7

mta_install
h_sink_start
mta_start "" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks plain --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "harness sanity" --body "hello from the harness"
h_like "$(h_reply "$H_SWAKS_OUT" banner)" '^220 ' "$MTA greets on 127.0.0.1:$MTA_PORT"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the message is accepted"
h_ok "it reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^Subject: harness sanity' "the sink holds the message"
h_file_like "$f" '^X-Rcpt-Args: <bob@rcpt\.test>' "addressed to its recipient"
h_file_like "$(mta_log)" 'to=<bob@rcpt\.test>.*stat(us)?=[Ss]ent' "the $MTA log records the delivery"
h_ok "the message reached the sink unchanged" h_intact "$H_SWAKS_OUT" "$f"
