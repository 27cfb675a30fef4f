#!/bin/bash
# tests/delegation/02-clamsmtpd.t - delegation to a real relaying scanner:
# clamsmtpd 1.10 in front of clamd (one-line EICAR database) passes clean
# mail on to the receiver (returned, with X-Virus-Scanned), swallows EICAR
# with Action: drop (dropped), refuses it with Action: bounce (rejected, the
# scanner's reply kept), and answers 451 when clamd is gone (rejected).
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 16

P=$H_TMP/policy.yaml
dg_policy "$P" "  clamsmtpd:
    targets: [\"tcp://127.0.0.1:$DG_CLAMSMTP_PORT\"]
    connect_timeout: 5s
    command_timeout: 10s
    submission_timeout: 20s
    timeout: 30s"
dg_eml "$H_TMP/clean.eml" "clean one" "nothing to see here"
dg_eml "$H_TMP/eicar.eml" "infected one" \
    'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

dg_clam_start drop

# 1. Clean mail comes back through the receiver.
dg_probe clean -c "$P" -s clamsmtpd -m "$H_TMP/clean.eml" -f alice@sender.test \
    -r bob@rcpt.test -b
h_is "$(dg_get "$DG_OUT" result)" returned "clean mail: returned"
h_is "$(dg_get "$DG_OUT" code)" 250 "the final reply is the receiver's 250, relayed"
h_file_like "$DG_OUT" '^header=X-Virus-Scanned: ClamAV using ClamSMTP$' \
    "the returned copy has clamsmtpd's X-Virus-Scanned header"
h_file_like "$DG_OUT" '^header=X-Stagemilter-Ticket: [0-9a-f]{32}$' "and our ticket"
h_file_like "$DG_OUT" '^header=Subject: clean one$' "and the original headers"
h_file_like "$DG_OUT" '^nothing to see here' "and the body"
ms=$(dg_get "$DG_OUT" elapsed_ms)
if [ -n "$ms" ] && [ "$ms" -lt 1500 ]; then
    h_pass "returned without waiting for any grace ($ms ms)"
else
    h_fail "returned without waiting for any grace" "elapsed_ms=$ms"
fi
h_file_like "$DG_ERR" 'receiver: peer=127\.0\.0\.1:[0-9]+ size=[0-9]+ delivered' \
    "the receiver logged the delivery"

# 2. EICAR with Action: drop: 250 to us, nothing comes back.
dg_probe drop -c "$P" -s clamsmtpd -m "$H_TMP/eicar.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" dropped "EICAR, Action: drop: dropped"
h_is "$(dg_get "$DG_OUT" reply)" "Virus Detected; Discarded Email" "with clamsmtpd's reply"
h_file_unlike "$DG_OUT" '^header=' "no returned copy"

# 3. EICAR with Action: bounce: 550.
dg_clam_stop
dg_clam_start bounce
dg_probe bounce -c "$P" -s clamsmtpd -m "$H_TMP/eicar.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" rejected "EICAR, Action: bounce: rejected"
h_is "$(dg_get "$DG_OUT" code) $(dg_get "$DG_OUT" reply)" "550 Virus Detected; Content Rejected" \
    "with the scanner's code and text"

# 4. Clean mail still passes with this clamsmtpd.
dg_probe clean2 -c "$P" -s clamsmtpd -m "$H_TMP/clean.eml" -f "" -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" returned "clean mail from the null sender: returned"

# 5. clamd gone: clamsmtpd answers 451 Local Error.
h_stop clamd 3
dg_probe noclamd -c "$P" -s clamsmtpd -m "$H_TMP/clean.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" rejected "clamd down: rejected (the scanner said 4xx)"
h_like "$(dg_get "$DG_OUT" code) $(dg_get "$DG_OUT" reply)" '^451 Local Error' "with 451 Local Error"
