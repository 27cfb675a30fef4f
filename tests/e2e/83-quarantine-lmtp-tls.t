#!/bin/bash
# tests/e2e/83-quarantine-lmtp-tls.t - milter.quarantine: lmtp with the
# TLS settings of a service: STARTTLS required, the server's certificate
# verified against its CA file. The message reaches the mailbox over TLS
# (the log says tls=yes); a server without TLS gets nothing and the client
# a 4xx.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/dovecot_mail.sh"
h_plan 6

mta_install
h_tls_cert "$H_TMP/tls" || h_die "no certificate"
chmod 755 "$H_TMP/tls"
chmod 644 "$H_TMP/tls/cert.pem"
DOVECOT_TLS_DIR=$H_TMP/tls dovecot_mail_start "$H_TMP/dovecot" quarantine secret 2424 1143 ||
    h_die "Dovecot does not start"
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy quarantine-lmtp-tls)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

count() {
    python3 - "$1" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", 1143)
m.login("quarantine", "secret")
typ, _ = m.select("tls", readonly=True)
n = 0
if typ == "OK":
    typ, data = m.search(None, "BODY", '"%s"' % sys.argv[1])
    n = len(data[0].split())
print(n)
m.logout()
PY
}

h_swaks one --from alice@sender.test --to bob@rcpt.test --body "tls lmtp marker"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the client gets 250"
h_is "$(count 'tls lmtp marker')" 1 "the message is in the mailbox"
h_file_like "$(h_stagemilter_log)" \
    'quarantine=tls delivered lmtp rcpt=<quarantine\+tls@example\.org> target=tcp://127\.0\.0\.1:2424 tls=yes' \
    "it went over TLS"

# The same server without TLS: require_tls refuses to send in clear.
dovecot_mail_stop
dovecot_mail_start "$H_TMP/dovecot" quarantine secret 2424 1143 || h_die "Dovecot does not restart"
h_swaks two --from alice@sender.test --to bob@rcpt.test --body "clear lmtp marker"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^4[0-9][0-9] ' "no TLS offered: the client gets a 4xx"
h_is "$(count 'clear lmtp marker')" 0 "and nothing was sent in clear to the mailbox"
h_file_like "$(h_stagemilter_log)" 'quarantine=tls lmtp delivery failed' \
    "stagemilter logs the failed delivery"
