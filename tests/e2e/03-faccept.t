#!/bin/bash
# tests/e2e/03-faccept.t - `faccept` at connect for a trusted client
# (client_ip from a list) skips a later deny; another client gets the deny.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 8

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy faccept)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

# All of 127/8 is loopback: 127.0.0.2 is the trusted client, 127.0.0.1 not.
h_swaks trusted --local-interface 127.0.0.2 --from alice@sender.test --to devil@satan.org \
    --h-Subject "from a trusted client" --body "trusted"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" '^250 ' "the trusted client's recipient is accepted"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "and its message"
h_ok "it reaches the sink" h_wait_delivered 1
h_file_like "$(h_sink_files | head -n 1)" '^Subject: from a trusted client' "the sink holds it"

h_swaks other --local-interface 127.0.0.1 --from alice@sender.test --to devil@satan.org \
    --h-Subject "from anybody" --body "untrusted"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" \
    '^550 5\.7\.1 (<devil@satan\.org>\.\.\. )?satan\.org is not welcome here\.$' \
    "another client gets the deny"
sleep 0.5
h_is "$(h_sink_count)" 1 "and nothing more reaches the sink"
log=$(h_stagemilter_log)
h_file_like "$log" 'stage=connect rule="trusted clients" verdict=faccept.*client=127\.0\.0\.2' \
    "stagemilter logs the faccept for 127.0.0.2"
h_file_like "$log" 'verdict=deny.*client=127\.0\.0\.1 ' "and the deny for 127.0.0.1"
