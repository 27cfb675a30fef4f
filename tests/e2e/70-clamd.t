#!/bin/bash
# tests/e2e/70-clamd.t - the clamd protocol end to end: the MTA,
# stagemilter running contrib/policies/clamd.yaml (its socket moved to the
# test's clamd), a real clamd with a one-signature EICAR database.
#   clean mail   delivered, unchanged
#   EICAR        quarantined, the client gets 250, ${virus} in the log,
#                never delivered
#   reuse        the clean message's clamd session (zIDSESSION) is kept
#                and answers the second message
#   clamd down   the service's on_failure: 451 4.3.0, nothing delivered
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 16

mta_install
sc_clamd_start
P=$(sc_contrib_policy clamd)
sed -i "s|unix:/run/clamav/clamd.ctl|unix:$SC_CLAMD_SOCK|" "$P"
grep -q "unix:$SC_CLAMD_SOCK" "$P" || h_die "the policy names no clamd socket to move"
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$P" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)
# The policy has no receiver section: no copy comes back, none is started.
if h_listening "$SC_RECEIVER_PORT"; then
    h_fail "no receiver listens on $SC_RECEIVER_PORT (the policy delegates to no smtp or lmtp service)" \
        "$(ss -Hltnp "sport = :$SC_RECEIVER_PORT")"
else
    h_pass "no receiver listens on $SC_RECEIVER_PORT (the policy delegates to no smtp or lmtp service)"
fi

# 1. Clean mail.
h_swaks clean --from alice@sender.test --to bob@rcpt.test --h-Subject "clean one" \
    --body "nothing to see here"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "clean: the client gets 250"
h_ok "clean: the message reaches the sink" h_wait_delivered 1
h_file_like "$(h_sink_files | head -n 1)" '^nothing to see here' "clean: with its body"
h_file_like "$log" "delegate service=clamav target=unix:$SC_CLAMD_SOCK tls=no result=returned .*reply=\"([0-9]+: )?stream: OK\"" \
    "clean: logged as returned with clamd's stream: OK"

# 2. EICAR.
h_swaks eicar --from alice@sender.test --to bob@rcpt.test --h-Subject "infected" \
    --body "$(sc_eicar)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "EICAR: the client gets 250 (quarantined)"
h_is "$(sc_quarantined virus)" 1 "EICAR: stored in the virus quarantine"
h_file_like "$(find "$H_TMP/work/virus/new" -type f | head -n 1)" 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' \
    "EICAR: the stored copy is the infected message"
h_file_like "$log" 'virus Eicar-Test-Signature[.A-Za-z]* from 127\.0\.0\.1' \
    "EICAR: the log effect shows \${virus}"
h_file_like "$log" 'rule="infected" verdict=quarantine' "EICAR: the virus rule decided"
h_file_like "$log" "service=clamav reusing a connection to unix:$SC_CLAMD_SOCK" \
    "EICAR: the clean message's clamd session was kept and reused"
h_file_like "$log" 'delegate service=clamav .*reply="2: stream: Eicar-Test-Signature' \
    "EICAR: the second answer of that session"

# 3. clamd down.
h_stop clamd 5
h_swaks down --from alice@sender.test --to bob@rcpt.test --h-Subject "down" --body "down body"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^451 4\.3\.0 (.* )?Content scanner clamav unavailable, try again later$' \
    "clamd down: the client gets on_failure's tempfail"
h_file_like "$log" 'delegate service=clamav target=tcp://127\.0\.0\.1:3310 .*result=failed' \
    "clamd down: failed after both targets"

sleep 1
h_is "$(h_sink_count)" 1 "only the clean message reached the sink"
h_is "$(mta_queue_count)" 0 "nothing is left in the $MTA queue"
