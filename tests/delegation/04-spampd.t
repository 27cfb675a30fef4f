#!/bin/bash
# tests/delegation/04-spampd.t - delegation to spampd 2.53 (SpamAssassin 4,
# local tests only), a transparent proxy: ham comes back as it was sent;
# GTUBE comes back flagged and rewritten by report_safe into a report with
# the original (and so our ticket) only inside an attachment - the receiver
# must still match it, and the copy handed back has the ticket cut out.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 9
h_need spampd /usr/bin/python3

# spampd logs only to syslog: give it a UDP listener on loopback.
h_daemon syslog /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 514))
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$H_TMP/spampd-syslog.txt"
# A private SpamAssassin home: --homedir dies under taint mode.
mkdir -p "$H_TMP/spampd-home"
chown mail:mail "$H_TMP/spampd-home"
mount --bind "$H_TMP/spampd-home" /var/cache/spampd || h_die "cannot bind-mount /var/cache/spampd"
h_daemon spampd spampd --nodetach --host=127.0.0.1:10030 --relayhost=127.0.0.1:"$DG_RECEIVER_PORT" \
    --local-only --logsock=inet --children=2 --pid="$H_TMP/spampd.pid"
h_wait_port 10030 30 || h_die "spampd does not listen" "$(cat "$H_TMP/spampd.log")"

P=$H_TMP/policy.yaml
dg_policy "$P" '  spampd:
    targets: ["tcp://127.0.0.1:10030"]
    connect_timeout: 5s
    command_timeout: 60s
    submission_timeout: 120s
    timeout: 120s'
dg_eml "$H_TMP/ham.eml" "lunch" "Shall we have lunch on Tuesday?"
dg_eml "$H_TMP/gtube.eml" "buy now" \
    'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

dg_probe ham -c "$P" -s spampd -m "$H_TMP/ham.eml" -f alice@sender.test -r bob@rcpt.test -b
h_is "$(dg_get "$DG_OUT" result)" returned "ham: returned"
h_file_like "$DG_OUT" '^header=Subject: lunch$' "ham comes back with its headers"
h_file_unlike "$DG_OUT" '^header=X-Spam-Flag:' "ham is not flagged"

dg_probe gtube -c "$P" -s spampd -m "$H_TMP/gtube.eml" -f alice@sender.test -r bob@rcpt.test -b
h_is "$(dg_get "$DG_OUT" result)" returned "GTUBE: returned"
h_file_like "$DG_OUT" '^header=X-Spam-Flag: YES$' "flagged X-Spam-Flag: YES"
h_file_like "$DG_OUT" '^header=X-Spam-Status: Yes, score=' "with X-Spam-Status"
h_file_like "$DG_OUT" '^Content-Type: message/rfc822' "the original is an attachment (report_safe)"
h_file_unlike "$DG_OUT" '^header=X-Stagemilter-Ticket:' "the report's own header has no ticket"
h_file_unlike "$DG_OUT" 'X-Stagemilter-Ticket' \
    "the ticket that travelled inside the attachment (it was matched: returned) is cut out of the copy"
