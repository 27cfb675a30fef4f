#!/bin/bash
# tests/e2e/72-rspamd.t - the rspamd protocol end to end: the MTA,
# stagemilter running contrib/policies/rspamd.yaml (its target moved to the
# test's instance), a real rspamd 3.4 run privately (tests/lib/scanners.sh).
#   GTUBE    action reject: the client gets the policy's 554 with the score
#   tagged   (Subject "tag me": the test instance's TEST_TAG_ME rule)
#            action add header: delivered with rspamd's milter headers
#            (X-Spamd-Bar, X-Spam-Status) and X-Spam: Yes; a forged X-Spam
#            of the sender is removed first
#   tidy     no action: delivered without X-Spam
#   reuse    asked for (keep-alive); rspamd 3.4 answers Connection: close,
#            which is honoured
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 15

mta_install
sc_rspamd_start
P=$(sc_contrib_policy rspamd)
sed -i "s|http://127.0.0.1:11333\"|http://127.0.0.1:$SC_RSPAMD_PORT\"|" "$P"
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
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^554 5\.7\.1 (.* )?Spam message rejected \(score [0-9]+\.[0-9]{2}\)$' \
    "GTUBE: the client gets the policy's 554 with rspamd's score"
h_file_like "$log" 'delegate service=rspamd .*action="reject" symbols=.*GTUBE' "GTUBE: action and symbols logged"
h_file_like "$log" 'rule="rspamd rejects" verdict=deny code=554' "GTUBE: the action rule decided"

# 2. Untidy (no Date, no Message-ID): add header.
printf 'From: alice@sender.test\nTo: bob@rcpt.test\nSubject: please tag me\nX-Spam: forged\n\nhello\n' \
    >"$H_TMP/untidy.eml"
h_swaks untidy --from alice@sender.test --to bob@rcpt.test --data "$H_TMP/untidy.eml"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "untidy: the client gets 250"
h_ok "untidy: delivered" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^X-Spamd-Bar: \++$' "untidy: rspamd's X-Spamd-Bar applied"
h_file_like "$f" '^X-Spam-Status: Yes, score=' "untidy: rspamd's X-Spam-Status applied"
h_is "$(grep -c '^X-Spam: Yes$' "$f") $(grep -c '^X-Spam: forged' "$f")" "1 0" \
    "untidy: X-Spam: Yes added, the forged X-Spam removed"
h_file_like "$log" 'delegate service=rspamd apply=headers headers_added=3 changed=0 deleted=1' \
    "untidy: three headers added, one deleted"
h_file_like "$log" 'delegate service=rspamd .*action="add header" symbols=.*TEST_TAG_ME' \
    "untidy: rspamd's rule hit"

# 3. Tidy: no action.
h_swaks tidy --from alice@sender.test --to bob@rcpt.test --h-Subject "lunch" \
    --add-header "MIME-Version: 1.0" --add-header "Content-Type: text/plain; charset=us-ascii" \
    --body "Hello Bob, lunch at noon tomorrow? Alice"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "tidy: the client gets 250"
h_ok "tidy: delivered" h_wait_delivered 2
f=$(grep -l '^Subject: lunch' $(h_sink_files) | head -n 1)
h_is "$(grep -c '^X-Spam: ' "$f") $(grep -c '^X-Spam-Status: No, score=' "$f")" "0 1" \
    "tidy: no X-Spam, rspamd's X-Spam-Status: No"
# rspamd 3.4's normal worker answers "Connection: close" even to
# keep-alive: honoured, a connection per message.
h_is "$(grep -c 'service=rspamd connecting to' "$log") $(grep -c 'service=rspamd reusing' "$log")" "3 0" \
    "rspamd's Connection: close is honoured: a connection per message"
