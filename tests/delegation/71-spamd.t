#!/bin/bash
# tests/delegation/71-spamd.t - the spamd protocol (milter/delegate/spamd.c)
# against a real spamd (SpamAssassin 4, shipped rules, local tests only):
#   GTUBE    returned, spam=true with spamd's score and threshold, GTUBE
#            among the symbols, SpamAssassin's X-Spam-* fields to apply
#   ham      returned, spam=false, X-Spam-Flag: NO to apply
#   spamd down, an error reply, garbage, a reply cut short, a 100 MB
#            Content-length: failed with the reason, memory bounded
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 21
h_need /usr/bin/time

sc_spamd_start
P=$H_TMP/policy.yaml
dg_policy "$P" "  spamassassin:
    protocol: spamd
    targets: [\"tcp://127.0.0.1:7399\", \"tcp://127.0.0.1:$SC_SPAMD_PORT\"]
    connect_timeout: 2s
    timeout: 30s
  down:
    protocol: spamd
    targets: \"tcp://127.0.0.1:7399\"
  errorcode:
    protocol: spamd
    targets: \"tcp://127.0.0.1:7311\"
    timeout: 5s
  garbage:
    protocol: spamd
    targets: \"tcp://127.0.0.1:7312\"
    timeout: 5s
  cut:
    protocol: spamd
    targets: \"tcp://127.0.0.1:7313\"
    timeout: 5s
  huge:
    protocol: spamd
    targets: \"tcp://127.0.0.1:7314\"
    timeout: 30s"
h_ok "--check accepts spamd services" "$STAGEMILTER" --check -c "$P"
dg_eml "$H_TMP/gtube.eml" "spam one" "$(sc_gtube)"
dg_eml "$H_TMP/ham.eml" "ham one" "Hello Bob, the meeting is at ten tomorrow. Regards, Alice"

# 1. GTUBE.
dg_probe gtube -c "$P" -s spamassassin -m "$H_TMP/gtube.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" returned "GTUBE: returned (spamd answered)"
h_is "$(dg_get "$DG_OUT" spam)" true "GTUBE: spam"
h_like "$(dg_get "$DG_OUT" score)" '^1[0-9]{3}\.[0-9]+$' "GTUBE: score about 1000"
h_is "$(dg_get "$DG_OUT" required)" 5.00 "GTUBE: spamd's threshold"
h_file_like "$DG_OUT" '^symbol=GTUBE$' "GTUBE: the GTUBE rule is among the symbols"
h_file_like "$DG_OUT" '^add_header=X-Spam-Flag: YES$' "GTUBE: X-Spam-Flag: YES to apply"
h_file_like "$DG_OUT" '^add_header=X-Spam-Status: Yes, score=1[0-9]{3}' "GTUBE: X-Spam-Status to apply"
h_file_unlike "$DG_OUT" '^add_header=(Content-Type|MIME-Version|Subject)' \
    "GTUBE: only X-Spam-* fields, not report_safe's MIME rewrite"
h_file_like "$DG_ERR" 'tcp://127\.0\.0\.1:7399: connect: Connection refused' \
    "the first target, closed, was left for the second"
h_file_like "$DG_ERR" 'delegate service=spamassassin spam=true score=1[0-9]{3}\.[0-9]+ required=5\.00 symbols=.*GTUBE' \
    "the log line has the verdict, score and symbols"

# 2. Ham.
dg_probe ham -c "$P" -s spamassassin -m "$H_TMP/ham.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" spam)" "returned false" "ham: returned, not spam"
h_file_like "$DG_OUT" '^add_header=X-Spam-Flag: NO$|^add_header=X-Spam-Status: No,' "ham: X-Spam-Status: No"

# 3. Failures.
dg_probe down -c "$P" -s down -m "$H_TMP/ham.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "spamd down: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'connect: Connection refused' "spamd down: says why"
sc_greeting_peer 7311 "'SPAMD/1.0 76 Bad header line: (Content-Length mismatch: Expected 10 bytes, got 0 bytes)\\r\\n'"
dg_probe errorcode -c "$P" -s errorcode -m "$H_TMP/ham.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*spamd answered 76 Bad header line' \
    "an error reply: failed with spamd's code and text"
sc_greeting_peer 7312 "'220 I am an SMTP server\\r\\n\\r\\n'"
dg_probe garbage -c "$P" -s garbage -m "$H_TMP/ham.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*something else than a SPAMD/ reply' \
    "garbage: failed, says so"
# The peer closes after half its reply.
h_daemon cut-7313 /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 7313)); s.listen(4)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    c.sendall(b"SPAMD/1.1 0 EX_OK\r\nContent-length: 500\r\nSpam: True ; 9.0 / 5.0\r\n\r\nX-Spam-Flag: YES\r\n")
    c.close()'
h_wait_port 7313 10
dg_probe cut -c "$P" -s cut -m "$H_TMP/ham.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*connection closed by the server in the middle of the reply' \
    "closed mid-reply: failed, says so"
h_file_unlike "$DG_OUT" '^spam=' "closed mid-reply: no verdict is kept"
# A peer that announces 100 MB and sends them.
h_daemon huge-7314 /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 7314)); s.listen(4)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    try:
        c.sendall(b"SPAMD/1.1 0 EX_OK\r\nContent-length: 104857600\r\nSpam: True ; 9.0 / 5.0\r\n\r\n")
        chunk = b"X-Spam-Junk: " + b"x" * 65000 + b"\r\n"
        for _ in range(1600): c.sendall(chunk)
    except OSError:
        pass
    c.close()'
h_wait_port 7314 10
DG_WRAPPER="/usr/bin/time -f maxrss_kb=%M" dg_probe huge -c "$P" -s huge -m "$H_TMP/ham.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*reply longer than 1048576 bytes' \
    "a 100 MB reply: failed, says so"
rss=$(sed -n 's/^maxrss_kb=//p' "$DG_ERR")
if [ -n "$rss" ] && [ "$rss" -lt 30000 ]; then
    h_pass "a 100 MB reply: the probe stayed at ${rss} KB"
else
    h_fail "a 100 MB reply: memory stays bounded" "maxrss_kb=$rss"
fi
