#!/bin/bash
# tests/e2e/01-rcpt-deny.t - a recipient is refused with the policy's own
# "550 5.7.1" text while the other recipient of the same message is
# delivered: the sink gets exactly one message, addressed to that one only.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 9

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy rcpt-deny)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks two --from alice@sender.test --to bob@rcpt.test,devil@satan.org \
    --h-To "bob@rcpt.test, devil@satan.org" \
    --h-Subject "two recipients" --body "one of you will not get this"
out=$H_SWAKS_OUT
# (Sendmail puts "<rcpt>... " before a milter's text)
DENY_RE='^550 5\.7\.1 (<devil@satan\.org>\.\.\. )?satan\.org is not welcome here\.$'
h_like "$(h_reply "$out" 'RCPT TO:<bob@rcpt.test>')" '^250 ' "the first recipient is accepted"
h_like "$(h_reply "$out" 'RCPT TO:<devil@satan.org>')" "$DENY_RE" \
    "the second gets the policy's code, enhanced code and text"
h_like "$(h_reply "$out" .)" '^250 ' "the message is accepted for the first"
h_ok "exactly one message reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_is "$(grep '^X-Rcpt-Args:' "$f" | sed 's/ ORCPT=.*//')" "X-Rcpt-Args: <bob@rcpt.test>" \
    "it is addressed to the first recipient only"
h_ok "its content is unchanged" h_intact "$out" "$f"
log=$(h_stagemilter_log)
h_file_like "$log" 'stage=rcpt rule="no mail for satan\.org" verdict=deny code=550 enhanced=5\.7\.1.*rcpt=<devil@satan\.org>' \
    "stagemilter logs the refusal with rule, code and recipient"
h_file_unlike "$log" 'verdict=deny.*rcpt=<bob@rcpt\.test>' "and no refusal of the first recipient"
h_file_like "$(mta_log)" 'reject.*550 5\.7\.1 satan\.org is not welcome here\.' \
    "the $MTA log records the refusal"
