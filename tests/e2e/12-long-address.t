#!/bin/bash
# tests/e2e/12-long-address.t - an envelope address longer than any fixed
# buffer is judged whole: a rcpt_domain deny rule refuses
# <1,100 x v @satan.org> as it refuses <devil@satan.org> (it once passed,
# cut to 1,023 bytes, and was queued), and a long address that no rule
# refuses is accepted and queued by the MTA whole (smtp-sink itself drops a
# RCPT TO that long, so the MTA's log is where that shows).
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 7

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy rcpt-deny)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

long=$(printf 'v%.0s' $(seq 1 1100))
h_swaks long --from alice@sender.test --to "bob@rcpt.test,$long@satan.org" \
    --h-Subject "a long recipient" --body "the long one must not get this"
out=$H_SWAKS_OUT
h_like "$(h_reply "$out" "RCPT TO:<$long@satan.org>")" '^5[0-9][0-9] ' \
    "the 1,100-byte recipient at satan.org is refused (5xx)"
h_like "$(h_reply "$out" .)" '^250 ' "the message is accepted for the other recipient"
h_ok "one message reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_is "$(grep -c '^X-Rcpt-Args:' "$f")" 1 "addressed to one recipient only"
h_file_like "$f" '^X-Rcpt-Args: <bob@rcpt\.test>' "the one that no rule refused"

h_swaks whole --from alice@sender.test --to "$long@rcpt.test" --h-Subject "long but welcome" \
    --body "deliver me"
reply=$(h_reply "$H_SWAKS_OUT" "RCPT TO:<$long@rcpt.test>")
case $reply in
553\ 5.1.0*)
    # Sendmail has a limit of its own (MAXNAME) and refuses the address
    # before any milter sees it: then nothing is judged cut either.
    h_pass "the $MTA refuses a 1,100-byte address itself: $(echo "$reply" | cut -c1-20)..."
    h_file_unlike "$(h_stagemilter_log)" "rcpt=<vvvvvvvv" "and stagemilter never saw it"
    ;;
*)
    h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a 1,100-byte recipient no rule refuses is accepted"
    h_ok "and the $MTA queued it for the whole address" \
        h_wait 20 grep -qF "to=<$long@rcpt.test>" "$(mta_log)"
    ;;
esac
