#!/bin/bash
# tests/e2e/22-faults.t - delegation faults end to end (policy
# delegate-faults.yaml; the Subject picks the service):
#   first target closed   the second one (clamsmtpd) is used, mail delivered
#   all targets down      the client gets on_failure's tempfail (451 4.3.0)
#                         and nothing is delivered
#   silent scanner        (accepts, never answers) `failed` within
#                         command_timeout (8 s); with Postfix's
#                         milter_content_timeout cut to 5 s the transaction
#                         still ends with stagemilter's own reply: progress
#                         reports keep the MTA waiting, no milter timeout
#   straight to receiver  a message without a live ticket gets 550 and
#                         appears nowhere
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 20

mta_install
sc_clamsmtpd_start pass
sc_silent_peer 10033
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy delegate-faults)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)
TEMPFAIL_RE='^451 4\.3\.0 (.* )?Content scanner (down|silent) unavailable, try again later$'

# 1. First target closed: the second is used.
h_swaks failover --from alice@sender.test --to bob@rcpt.test --h-Subject "failover" \
    --body "failover body"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "failover: the client gets 250"
h_ok "failover: the message reaches the sink" h_wait_delivered 1
h_file_like "$(h_sink_files | head -n 1)" '^X-Virus-Scanned: ClamAV using ClamSMTP$' \
    "failover: scanned by the second target"
h_file_like "$log" 'service=failover tcp://127\.0\.0\.1:10031: connect: Connection refused' \
    "failover: the closed first target is logged"
h_file_like "$log" 'delegate service=failover target=tcp://127\.0\.0\.1:10026 .*result=returned' \
    "failover: the second target returned it"

# 2. All targets down.
h_swaks down --from alice@sender.test --to bob@rcpt.test --h-Subject "down" --body "down body"
h_like "$(h_reply "$H_SWAKS_OUT" .)" "$TEMPFAIL_RE" "down: the client gets on_failure's tempfail"
h_file_like "$log" 'delegate service=down target=tcp://127\.0\.0\.1:10032 .*result=failed' \
    "down: failed after trying both targets"
h_file_like "$log" 'rule="down" verdict=defer code=451' "down: logged as a deferral"

# 3. A scanner that accepts and never answers.
if [ "$MTA" = postfix ]; then
    # Shorter than the delegation: only progress reports keep Postfix waiting.
    mta_postconf -e milter_content_timeout=5s
    postfix -c "$(mta_postconf -h config_directory)" reload >>"$H_TMP/postfix-start.log" 2>&1
    sleep 2
fi
mline=$(wc -l <"$(mta_log)")
t0=$(sc_now)
h_swaks silent --from alice@sender.test --to bob@rcpt.test --h-Subject "silent" \
    --body "silent body"
ms=$(sc_ms "$t0" "$(sc_now)")
h_like "$(h_reply "$H_SWAKS_OUT" .)" "$TEMPFAIL_RE" \
    "silent: the client gets stagemilter's tempfail, not the MTA's milter timeout"
el=$(sed -n 's/.*delegate service=silent .*result=failed.* elapsed_ms=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -n "$el" ] && [ "$el" -ge 7500 ] && [ "$el" -lt 10000 ]; then
    h_pass "silent: failed within command_timeout (8 s): $el ms"
else
    h_fail "silent: failed within command_timeout (8 s)" "elapsed_ms=$el"
fi
if [ "$ms" -lt 15000 ]; then
    h_pass "silent: the client had its answer after $ms ms"
else
    h_fail "silent: the client had its answer within 15 s" "took $ms ms"
fi
h_is "$(tail -n +"$((mline + 1))" "$(mta_log)" | sed "s|$H_TMP||g" | grep -ciE 'milter.*(timeout|timed out)|timeout.*milter')" 0 \
    "silent: the $MTA logged no milter timeout"
h_file_like "$log" "service=silent tcp://127\.0\.0\.1:10033: .*(greeting|timed out|timeout)" \
    "silent: the stalled greeting is logged"

# 4. Straight to the receiver, without a live ticket.
S=$H_TMP/swaks-receiver.txt
swaks --server "127.0.0.1:$SC_RECEIVER_PORT" --helo intruder.test --timeout 20 \
    --from intruder@evil.test --to bob@rcpt.test --h-Subject "relay me" \
    --header "X-Stagemilter-Ticket: $(openssl rand -hex 16)" --body "open relay?" >"$S" 2>&1
h_like "$(h_reply "$S" .)" '^550 ' "receiver: a message without a live ticket gets 550"
h_file_like "$log" 'refused: no pending delegation matches' "receiver: the refusal is logged"

sleep 1
h_is "$(h_sink_count)" 1 "only the failover message reached the sink"
h_is "$(grep -l -e 'down body' -e 'silent body' -e 'open relay' $(h_sink_files) /dev/null | wc -l)" 0 \
    "none of the others is at the sink"
h_is "$(mta_queue_count)" 0 "nothing is queued in the $MTA"
h_is "$(find "$H_TMP/work" -type f | wc -l)" 0 "nothing was stored in the workdir"
h_stop stagemilter 10
h_file_like "$log" 'receiver: stopping; connections=[0-9]+ delivered=1 refused=1' \
    "the receiver took one copy back and refused the intruder"
