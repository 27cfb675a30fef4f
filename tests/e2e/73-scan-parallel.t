#!/bin/bash
# tests/e2e/73-scan-parallel.t - delegate: [clamav, spamassassin, rspamd]:
# real clamd, spamd and rspamd asked at the same time on one message
# (policy scan-parallel.yaml):
#   EICAR+GTUBE  all three facts in the log (virus, spamd's verdict,
#                rspamd's action), ${virus} and ${spam_score}; quarantined
#   GTUBE        scan: {rspamd: {action: reject}, spamassassin: {spam:
#                true, symbol: GTUBE}} decides: 554
#   tag me       (rspamd scores it 4.9 with its test rule) add_score: 1 at connect plus
#                add_score: "${spam_score}": score >= 5.5 refuses with ${score}
#   [clamav, stuck]  a socket that accepts and never answers (timeout 3s,
#                on_failure: continue): clamd's answer is there at once,
#                the message is decided after about 3 s, not later
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 15

mta_install
sc_clamd_start
sc_spamd_start
sc_rspamd_start
sc_silent_peer 3399
P=$(h_policy scan-parallel)
sed -i -e "s|@CLAMD_SOCK@|$SC_CLAMD_SOCK|" -e "s|@SPAMD_PORT@|$SC_SPAMD_PORT|" \
    -e "s|@RSPAMD_PORT@|$SC_RSPAMD_PORT|" "$P"
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$P" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)

# 1. EICAR and GTUBE: every scanner has something to say.
h_swaks both --from alice@sender.test --to bob@rcpt.test --h-Subject "all of it" \
    --body "$(sc_eicar)
$(sc_gtube)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "EICAR+GTUBE: 250 (quarantined)"
h_is "$(sc_quarantined virus)" 1 "EICAR+GTUBE: quarantined by the virus rule"
h_file_like "$log" 'delegate service=clamav virus="Eicar-Test-Signature' "clamd's fact: the virus"
h_file_like "$log" 'delegate service=spamassassin spam=true score=[0-9.]+ .*symbols=.*GTUBE' "spamd's fact: spam, GTUBE"
h_file_like "$log" 'delegate service=rspamd spam=true .*action="reject"' "rspamd's fact: reject"
h_file_like "$log" 'delegate parallel services=clamav=returned/[0-9]+,spamassassin=returned/[0-9]+,rspamd=returned/[0-9]+ ' \
    "the three ran as one parallel delegation"
h_file_like "$log" 'facts virus=Eicar-Test-Signature[.A-Za-z]* spam_score=[0-9]+\.[0-9]{2}' \
    "\${virus} and \${spam_score} in the rules"

# 2. GTUBE: both spam scanners agree (scan: per service).
h_swaks gtube --from alice@sender.test --to bob@rcpt.test --h-Subject "all spam" \
    --body "$(sc_gtube)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^554 5\.7\.1 (.* )?Spam on both counts$' "GTUBE: scan: {...} per service decided"

# 3. Points across stages and scanners.
h_swaks score --from alice@sender.test --to bob@rcpt.test --h-Subject "all: please tag me" \
    --body "Hello Bob, lunch at noon tomorrow? Alice"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^550 5\.7\.1 (.* )?Score ([5-9]|[1-9][0-9])\.[0-9]{2} is too high$' \
    "score: connect's point plus rspamd's score refuse it, with \${score}"
h_file_like "$log" 'delegate service=rspamd .*action="add header" symbols=.*TEST_TAG_ME' \
    "score: rspamd's test rule hit"

# 4. One scanner hangs.
t0=$(sc_now)
h_swaks stuck --from alice@sender.test --to bob@rcpt.test --h-Subject "stuck with a virus" \
    --body "$(sc_eicar)"
ms=$(sc_ms "$t0" "$(sc_now)")
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "stuck: 250 (quarantined)"
h_file_like "$log" 'virus Eicar-Test-Signature[.A-Za-z]* while stuck hangs' "stuck: clamd's answer decided"
h_file_like "$log" 'delegate parallel services=clamav=returned/([0-9]{1,3}|[12][0-9]{3}),stuck=failed/3[0-9]{3} ' \
    "stuck: clamd answered before the stuck one failed at its 3 s"
if [ "$ms" -lt 6000 ]; then
    h_pass "stuck: the message was decided in $ms ms (its timeout is 3 s)"
else
    h_fail "stuck: decided soon after the stuck service's 3 s" "took $ms ms"
fi
sleep 1
h_is "$(h_sink_count)" 0 "nothing reached the sink"
