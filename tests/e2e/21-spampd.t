#!/bin/bash
# tests/e2e/21-spampd.t - delegation end to end to spampd (SpamAssassin's
# SMTP proxy, local tests only, --tagall, SpamAssassin's shipped defaults
# including report_safe) through contrib/policies/spampd.yaml:
#   a normal message      delivered with spampd's X-Spam-* headers applied
#   GTUBE                 comes back rewritten by report_safe (the ticket only
#                         inside the attached original), flagged
#                         X-Spam-Flag: YES: quarantined by the header: rule,
#                         never delivered.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 14

mta_install
P=$(sc_contrib_policy spampd)
sc_spampd_start
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$P" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)

# 1. Ham.
h_swaks ham --from alice@sender.test --to bob@rcpt.test --h-Subject "lunch" \
    --body "Shall we have lunch on Tuesday? The usual place at noon."
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "ham: the client gets 250"
h_ok "ham: exactly one message reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^X-Spam-Status: No, score=' "ham: spampd's X-Spam-Status is applied"
h_file_like "$f" '^X-Spam-Checker-Version: SpamAssassin ' "ham: and X-Spam-Checker-Version"
h_is "$(grep -ci '^X-Spam-Flag' "$f")" 0 "ham: it is not flagged"
h_is "$(grep -ci '^X-Stagemilter-Ticket' "$f")" 0 "ham: our ticket header is not applied"
h_file_like "$f" '^Shall we have lunch on Tuesday' "ham: the body is the original"
h_file_like "$log" 'delegate service=spampd apply=headers headers_added=[1-9]' \
    "ham: stagemilter logs the headers it added"

# 2. GTUBE.
h_swaks gtube --from alice@sender.test --to bob@rcpt.test --h-Subject "buy now" \
    --body "$(sc_gtube)"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "GTUBE: the client gets 250 (quarantined, not bounced)"
h_is "$(sc_quarantined spam)" 1 "GTUBE: stored in the spam quarantine"
q=$(find "$H_TMP/work/spam/new" -type f | head -n 1)
h_file_like "$q" 'GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL' "GTUBE: the stored copy is the original message"
h_file_like "$log" 'delegate service=spampd .*result=returned' \
    "GTUBE: the rewritten report was still matched to its delegation"
h_file_like "$log" 'rule="spam" verdict=quarantine' "GTUBE: the header: rule on X-Spam-Flag decided"
sleep 1
h_is "$(h_sink_count)" 1 "GTUBE never reaches the sink"
