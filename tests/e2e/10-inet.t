#!/bin/bash
# tests/e2e/10-inet.t - the same policies over a TCP socket
# (inet:PORT@127.0.0.1): a recipient refused with the policy's text, the
# other delivered with the header an action adds.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 8

mta_install
sock=inet:$MILTER_PORT@127.0.0.1
h_stagemilter_start "$(h_policy add-header)" "$sock"
h_ok "stagemilter listens on 127.0.0.1:$MILTER_PORT" h_listening "$MILTER_PORT"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

h_swaks two --from alice@sender.test --to bob@rcpt.test,devil@satan.org \
    --h-Subject "over tcp" --body "one of you will not get this"
out=$H_SWAKS_OUT
# (Sendmail puts "<rcpt>... " before a milter's text)
DENY_RE='^550 5\.7\.1 (<devil@satan\.org>\.\.\. )?satan\.org is not welcome here\.$'
h_like "$(h_reply "$out" 'RCPT TO:<bob@rcpt.test>')" '^250 ' "the first recipient is accepted"
h_like "$(h_reply "$out" 'RCPT TO:<devil@satan.org>')" "$DENY_RE" \
    "the second gets the policy's reply"
h_like "$(h_reply "$out" .)" '^250 ' "the message is accepted"
h_ok "exactly one message reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_is "$(grep '^X-Rcpt-Args:' "$f" | sed 's/ ORCPT=.*//')" "X-Rcpt-Args: <bob@rcpt.test>" \
    "addressed to the first recipient only"
h_file_like "$f" "^X-Stagemilter-Origin: loopback client 127\.0\.0\.1 server 127\.0\.0\.1:$MTA_PORT$" "with the added header"
h_file_like "$(h_stagemilter_log)" 'stage=rcpt rule="no mail for satan\.org" verdict=deny code=550' \
    "stagemilter logs the refusal"
