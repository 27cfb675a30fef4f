#!/bin/bash
# tests/delegation/72-rspamd.t - the rspamd protocol (milter/delegate/rspamd.c:
# HTTP/1.1 POST /checkv2 on the connection code, JSON with jansson) against
# a real rspamd 3.4 run as a private instance (tests/lib/scanners.sh):
#   GTUBE     returned, action reject, spam, GTUBE among the symbols
#   untidy    (no Date, no Message-ID) action "add header", with rspamd's
#             milter headers (X-Spamd-Bar, X-Spam-Status) and X-Spam: Yes
#             to apply
#   tidy      no action, not spam
#   the envelope reaches rspamd as header fields (its log shows them)
#   https://  through a TLS front (tests/lib/tls-proxy.py is SMTP; a
#             python TLS relay here), verified with the test CA
#   failures  rspamd down, HTTP 500, garbage, not JSON, closed mid-reply,
#             a 100 MB reply: failed with the reason, memory bounded
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 23
h_need /usr/bin/time

sc_rspamd_start
P=$H_TMP/policy.yaml
dg_test_pki "$H_TMP/pki"
dg_policy "$P" "  rspamd:
    protocol: rspamd
    targets: [\"http://127.0.0.1:11399\", \"http://127.0.0.1:$SC_RSPAMD_PORT\"]
    connect_timeout: 2s
    timeout: 30s
  rspamdtls:
    protocol: rspamd
    targets: \"https://127.0.0.1:11443\"
    tls_client: { ca_file: \"$H_TMP/pki/ca.pem\" }
    timeout: 30s
  down:
    protocol: rspamd
    targets: \"http://127.0.0.1:11399\"
  e500:
    protocol: rspamd
    targets: \"http://127.0.0.1:11311\"
    timeout: 5s
  garbage:
    protocol: rspamd
    targets: \"http://127.0.0.1:11312\"
    timeout: 5s
  notjson:
    protocol: rspamd
    targets: \"http://127.0.0.1:11313\"
    timeout: 5s
  cut:
    protocol: rspamd
    targets: \"http://127.0.0.1:11314\"
    timeout: 5s
  huge:
    protocol: rspamd
    targets: \"http://127.0.0.1:11315\"
    timeout: 30s"
h_ok "--check accepts rspamd services with http:// and https:// targets" "$STAGEMILTER" --check -c "$P"
dg_eml "$H_TMP/gtube.eml" "spam one" "$(sc_gtube)"
printf 'From: Alice <alice@sender.test>\nTo: bob@rcpt.test\nSubject: tag me\n\nhello\n' >"$H_TMP/untidy.eml"
printf 'From: Alice <alice@sender.test>\nTo: Bob <bob@rcpt.test>\nSubject: lunch\nDate: %s\nMessage-ID: <%s@sender.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHello Bob, lunch at noon tomorrow? Alice\n' \
    "$(date -R)" "$RANDOM$RANDOM" >"$H_TMP/tidy.eml"

# 1. GTUBE.
dg_probe gtube -c "$P" -s rspamd -m "$H_TMP/gtube.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" returned "GTUBE: returned (rspamd answered)"
h_is "$(dg_get "$DG_OUT" action)" reject "GTUBE: action reject"
h_is "$(dg_get "$DG_OUT" spam)" true "GTUBE: spam"
h_file_like "$DG_OUT" '^symbol=GTUBE$' "GTUBE: the GTUBE symbol"
h_file_like "$DG_ERR" 'tcp://127\.0\.0\.1:11399|http://127\.0\.0\.1:11399: connect: Connection refused' \
    "the first target, closed, was left for the second"
h_file_like "$DG_ERR" 'delegate service=rspamd spam=true score=[0-9.]+ required=[0-9.]+ action="reject" symbols=.*GTUBE' \
    "the log line has action, score and symbols"

# 2. Untidy: add header, with rspamd's milter headers.
dg_probe untidy -c "$P" -s rspamd -m "$H_TMP/untidy.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" action)" "add header" "untidy: action add header"
h_file_like "$DG_OUT" '^add_header=X-Spamd-Bar: \+' "untidy: rspamd's X-Spamd-Bar to add"
h_file_like "$DG_OUT" '^add_header=X-Spam-Status: Yes, score=' "untidy: rspamd's X-Spam-Status to add"
h_file_like "$DG_OUT" '^remove_header=X-Spam 0$' "untidy: rspamd's X-Spam to remove first"

# 3. Tidy: no action.
dg_probe tidy -c "$P" -s rspamd -m "$H_TMP/tidy.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" action) $(dg_get "$DG_OUT" spam)" "no action false" "tidy: no action, not spam"
h_file_like "$H_TMP/rspamd/log/rspamd.log" 'from: <alice@sender\.test>.*rcpts: <bob@rcpt\.test>|rcpts: <bob@rcpt\.test>' \
    "the envelope reached rspamd as header fields"

# 4. https:// through a TLS relay with the test CA's certificate.
h_daemon tlsrelay /usr/bin/python3 -c '
import socket, ssl, threading, sys
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[1] + "/server.pem", sys.argv[1] + "/server.key")
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 11443)); s.listen(8)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
while True:
    c, _ = s.accept()
    try: t = ctx.wrap_socket(c, server_side=True)
    except OSError: continue
    u = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    threading.Thread(target=pipe, args=(t, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, t), daemon=True).start()' "$H_TMP/pki" "$SC_RSPAMD_PORT"
h_wait_port 11443 10
dg_probe tls -c "$P" -s rspamdtls -m "$H_TMP/gtube.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" action)" "returned reject" "https://: GTUBE rejected over TLS"
h_file_like "$DG_ERR" 'https://127\.0\.0\.1:11443: TLS TLSv1\.[23]' "https://: the TLS handshake is logged"

# 5. Failures.
dg_probe down -c "$P" -s down -m "$H_TMP/tidy.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*connect: Connection refused' "rspamd down: failed, says why"
peer() { # PORT PYTHON-BYTES: read the request, send the bytes, close
    h_daemon "peer-$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
reply = eval(sys.argv[2])
while True:
    c, _ = s.accept()
    c.settimeout(1)
    try:
        while c.recv(65536): pass
    except OSError: pass
    try:
        if callable(reply): reply(c)
        else: c.sendall(reply)
    except OSError: pass
    c.close()' "$1" "$2"
    h_wait_port "$1" 10
}
peer 11311 'b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"'
dg_probe e500 -c "$P" -s e500 -m "$H_TMP/tidy.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*rspamd answered HTTP 500 Internal Server Error' "HTTP 500: failed, says so"
peer 11312 'b"SPAMD/1.1 0 EX_OK\r\n\r\n"'
dg_probe garbage -c "$P" -s garbage -m "$H_TMP/tidy.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*something else than HTTP' "garbage: failed, says so"
peer 11313 'b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"action\""'
dg_probe notjson -c "$P" -s notjson -m "$H_TMP/tidy.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" "^failed .*not JSON" "broken JSON: failed, says so"
peer 11314 'b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n{\"action\": \"reject\", \"score\": 15"'
dg_probe cut -c "$P" -s cut -m "$H_TMP/tidy.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*connection closed by the server in the middle of the reply' \
    "closed mid-reply: failed, says so"
h_file_unlike "$DG_OUT" '^action=' "closed mid-reply: no verdict is kept"
peer 11315 'lambda c: [c.sendall(b"HTTP/1.1 200 OK\r\n\r\n{\"symbols\": {")] + [c.sendall(b"\"x\": 1, " * 8192) for _ in range(1600)]'
DG_WRAPPER="/usr/bin/time -f maxrss_kb=%M" dg_probe huge -c "$P" -s huge -m "$H_TMP/tidy.eml" -f alice@sender.test -r bob@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" reply)" '^failed .*reply longer than 4194304 bytes' \
    "a 100 MB reply without Content-Length: failed, says so"
rss=$(sed -n 's/^maxrss_kb=//p' "$DG_ERR")
if [ -n "$rss" ] && [ "$rss" -lt 40000 ]; then
    h_pass "a 100 MB reply: the probe stayed at ${rss} KB"
else
    h_fail "a 100 MB reply: memory stays bounded" "maxrss_kb=$rss"
fi
