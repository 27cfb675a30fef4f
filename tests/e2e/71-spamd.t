#!/bin/bash
# tests/e2e/71-spamd.t - the spamd protocol end to end: the MTA,
# stagemilter running contrib/policies/spamd.yaml (its target moved to the
# test's spamd), a real spamd with SpamAssassin's shipped rules.
#   GTUBE  delivered tagged: spamd's X-Spam-Flag/X-Spam-Status applied,
#          the policy's header with ${spam_score}, logged
#   ham    delivered with X-Spam-Status: No; the sender's forged
#          X-Spam-Flag: YES is removed
#   spamd down  on_failure: accept: delivered untagged
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 15

mta_install
sc_spamd_start
P=$(sc_contrib_policy spamd)
sed -i "s|tcp://127.0.0.1:783\"|tcp://127.0.0.1:$SC_SPAMD_PORT\"|" "$P"
grep -q "127.0.0.1:$SC_SPAMD_PORT" "$P" || h_die "the policy names no spamd target to move"
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

# 1. GTUBE.
h_swaks gtube --from alice@sender.test --to bob@rcpt.test --h-Subject "buy now" \
    --body "$(sc_gtube)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "GTUBE: the client gets 250 (tagged, not refused)"
h_ok "GTUBE: delivered" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^X-Spam-Flag: YES' "GTUBE: spamd's X-Spam-Flag applied"
h_file_like "$f" '^X-Spam-Status: Yes, score=1[0-9]{3}' "GTUBE: spamd's X-Spam-Status with its score"
h_file_like "$f" '^X-Stagemilter-Spam-Score: 1[0-9]{3}\.[0-9]{2}$' "GTUBE: \${spam_score} in the policy's header"
h_file_like "$f" 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL' "GTUBE: the body is the sender's (no report_safe rewrite)"
h_file_like "$log" 'delegate service=spamassassin spam=true score=1[0-9]{3}\.[0-9]+ required=5\.00 symbols=.*GTUBE' \
    "GTUBE: the verdict, score and rules are logged"

# 2. Ham with a forged X-Spam-Flag.
h_swaks ham --from alice@sender.test --to bob@rcpt.test --h-Subject "lunch" \
    --add-header "X-Spam-Flag: YES" --body "Hello Bob, lunch at noon? Alice"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "ham: the client gets 250"
h_ok "ham: delivered" h_wait_delivered 2
f=$(grep -l '^Subject: lunch' $(h_sink_files) | head -n 1)
h_file_like "$f" '^X-Spam-Status: No, score=' "ham: X-Spam-Status: No applied"
h_is "$(grep -c '^X-Spam-Flag' "$f")" 0 "ham: the forged X-Spam-Flag is removed"
h_is "$(grep -c '^X-Stagemilter-Spam-Score' "$f")" 0 "ham: not tagged as spam"

# 3. spamd down: on_failure: accept.
h_stop "spamd-$SC_SPAMD_PORT" 5
h_swaks down --from alice@sender.test --to bob@rcpt.test --h-Subject "while down" --body "hello"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "spamd down: on_failure accept: 250"
h_ok "spamd down: delivered" h_wait_delivered 3
