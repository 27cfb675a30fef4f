#!/bin/bash
# tests/e2e/20-clamsmtpd.t - delegation end to end: the MTA, stagemilter
# running contrib/policies/clamsmtpd.yaml, clamsmtpd in front of clamd
# (one-line EICAR database), and back through stagemilter's receiver.
#   clean mail            delivered, with clamsmtpd's X-Virus-Scanned applied
#                         and without our ticket header
#   EICAR, Action: pass   returned with X-Virus-Infected: quarantined
#   EICAR, Action: drop   250 and nothing returned: `dropped`, quarantined,
#                         decided seconds after the 250, not after `timeout`
#   EICAR, Action: bounce 550 from clamsmtpd: `rejected`, the client gets the
#                         policy's deny with clamsmtpd's text (${reply})
# The infected message never reaches the sink. Then --trace: refused while
# the daemon holds receiver.listen; once it is stopped, a real delegation
# with the scanner's dialogue and the headers it would apply.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 35

mta_install
P=$(sc_contrib_policy clamsmtpd)
sc_clamsmtpd_start pass
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$P" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)
h_file_like "$log" "receiver: listening on 127\.0\.0\.1 port $SC_RECEIVER_PORT" \
    "stagemilter's receiver listens on receiver.listen"

# 1. Clean mail.
h_swaks clean --from alice@sender.test --to bob@rcpt.test --h-Subject "clean one" \
    --body "nothing to see here"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "clean: the client gets 250"
h_ok "clean: exactly one message reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^X-Virus-Scanned: ClamAV using ClamSMTP$' \
    "clean: clamsmtpd's X-Virus-Scanned header is applied to the delivered copy"
h_is "$(grep -ci '^X-Stagemilter-Ticket' "$f")" 0 "clean: our ticket header is not"
h_file_like "$f" '^Subject: clean one$' "clean: the original headers are there"
h_file_like "$f" '^nothing to see here' "clean: and the body"
h_file_like "$log" 'delegate service=clamsmtpd target=tcp://127\.0\.0\.1:10026 tls=no result=returned code=250' \
    "clean: logged as returned, with clamsmtpd's 250"
h_file_like "$log" 'delegate service=clamsmtpd apply=headers headers_added=1 changed=0 deleted=0' \
    "clean: one header added, nothing else changed"

# 2. EICAR, Action: pass: it comes back with X-Virus-Infected.
h_swaks pass --from alice@sender.test --to bob@rcpt.test --h-Subject "infected, pass" \
    --body "$(sc_eicar)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "pass: the client gets 250 (quarantined, not bounced)"
h_is "$(sc_quarantined virus)" 1 "pass: stored in the virus quarantine"
q=$(find "$H_TMP/work/virus/new" -type f | head -n 1)
h_file_like "$q" 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "pass: the stored copy is the infected message"
h_is "$(grep -c 'delegate service=clamsmtpd .*result=returned' "$log")" 2 \
    "pass: the result was returned (the second returned copy)"
h_file_like "$log" 'rule="infected" verdict=quarantine' "pass: the has_header rule decided"
h_file_like "$log" 'service=clamsmtpd reusing a connection to tcp://127\.0\.0\.1:10026' \
    "pass: the clean message's connection to clamsmtpd was reused"

# 3. EICAR, Action: drop: 250, nothing comes back.
sc_clamsmtpd_stop
sc_clamsmtpd_start drop
t0=$(sc_now)
h_swaks drop --from alice@sender.test --to bob@rcpt.test --h-Subject "infected, drop" \
    --body "$(sc_eicar)"
ms=$(sc_ms "$t0" "$(sc_now)")
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "drop: the client gets 250"
h_is "$(sc_quarantined virus)" 2 "drop: stagemilter's own copy is quarantined"
h_file_like "$log" 'result=dropped code=250 enhanced=- reply="Virus Detected; Discarded Email"' \
    "drop: the result is dropped, with clamsmtpd's reply"
if [ "$ms" -lt 10000 ]; then
    h_pass "drop: decided in $ms ms, well below the service's timeout of 60 s"
else
    h_fail "drop: decided well below the service's timeout of 60 s" "took $ms ms"
fi

# 4. EICAR, Action: bounce: clamsmtpd refuses it.
sc_clamsmtpd_stop
sc_clamsmtpd_start bounce
h_swaks bounce --from alice@sender.test --to bob@rcpt.test --h-Subject "infected, bounce" \
    --body "$(sc_eicar)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^550 5\.7\.1 (.* )?Virus Detected; Content Rejected$' \
    "bounce: the client gets the policy's 550 5.7.1 with clamsmtpd's text"
h_file_like "$log" 'result=rejected code=550' "bounce: the result is rejected"
h_file_like "$log" 'rule="virus refused by the scanner" verdict=deny code=550' \
    "bounce: the policy's deny decided"
h_is "$(sc_quarantined virus)" 2 "bounce: nothing more is quarantined"

# The infected messages never reached the sink.
sleep 1
h_is "$(h_sink_count)" 1 "only the clean message reached the sink"
h_is "$(grep -l EICAR-STANDARD "$(h_sink_files)" /dev/null | wc -l)" 0 \
    "and no sink file holds the EICAR string"
h_is "$(mta_queue_count)" 0 "nothing is left in the $MTA queue"

# 5. --trace while the daemon holds receiver.listen: a clear refusal.
printf 'From: alice@sender.test\nTo: bob@rcpt.test\nSubject: traced\n\nhello trace\n' \
    >"$H_TMP/trace.eml"
"$STAGEMILTER" --trace "$H_TMP/trace.eml" -c "$P" --client-ip 192.0.2.1 \
    --from alice@sender.test --rcpt bob@rcpt.test >"$H_TMP/trace1.out" 2>"$H_TMP/trace1.err"
h_is "$?" 1 "--trace exits 1 when receiver.listen is taken"
h_file_like "$H_TMP/trace1.err" "cannot start its receiver on receiver.listen 127\.0\.0\.1:$SC_RECEIVER_PORT: .*in use" \
    "and says why"

# A reload that changes receiver.allow: the receiver keeps the networks it
# started with until a restart, and the log says so.
sed -i 's/^  listen: .*/&\n  allow: ["127.0.0.0\/8"]/' "$P"
kill -HUP "${H_PIDS[stagemilter]}"
h_wait 10 grep -q 'reload: .* is in use for new connections' "$log"
h_file_like "$log" 'reload: receiver\.allow or its timeouts changed: the receiver keeps the ones it started with until stagemilter is restarted' \
    "a reload that changes receiver.allow warns that the receiver keeps its networks"

# 6. Daemon stopped: --trace delegates for real.
h_stop stagemilter 10
h_file_like "$log" 'receiver: stopping; connections=[0-9]+ delivered=2 refused=0 too_big=0 busy=0 no_memory=0 denied=0 timed_out=0$' \
    "the daemon's receiver took two copies back and refused, turned away or cut none"
"$STAGEMILTER" --trace "$H_TMP/trace.eml" -c "$P" --client-ip 192.0.2.1 \
    --from alice@sender.test --rcpt bob@rcpt.test >"$H_TMP/trace2.out" 2>"$H_TMP/trace2.err"
h_is "$?" 0 "--trace runs once the port is free"
h_file_like "$H_TMP/trace2.out" '^ +\| > DATA$' "--trace prints what it sent to the scanner"
h_file_like "$H_TMP/trace2.out" '^ +\| < 250 ' "and what the scanner replied"
h_file_like "$H_TMP/trace2.out" 'delegation: clamsmtpd: returned \(250 .*result=returned$' \
    "and the result"
h_file_like "$H_TMP/trace2.out" '^   header +add X-Virus-Scanned: ClamAV using ClamSMTP \(from clamsmtpd\)$' \
    "and the header the scanner's copy brings"
