#!/bin/bash
# tests/delegation/05-tls.t - STARTTLS and implicit TLS against a private
# Postfix smtpd that relays what it gets to the receiver (a queueing relay:
# the copy comes back shortly after the 250, so the services have a
# drop_grace of 10 s). Certificates come from a test CA made with openssl: the name is
# checked (server_name, or the target's IP address); a wrong name or an
# untrusted CA fails that target with or without require_tls, and nothing is
# then sent in clear to it (a second target with a good certificate gets the
# message over TLS); require_tls never sends in clear to a peer without
# STARTTLS.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 26
h_need openssl /usr/sbin/smtp-sink

# A CA, a server certificate for scanner.test.example and 127.0.0.1.
T=$H_TMP/tls
dg_test_pki "$T"

mta_install
mta_start "" "$DG_RECEIVER_PORT" || h_die "Postfix does not start"
PF_ETC_DIR=$(dirname "$(mta_log)")/etc
mta_postconf -e "smtpd_tls_cert_file=$T/server.pem" "smtpd_tls_key_file=$T/server.key" \
    "smtpd_tls_security_level=may" "smtpd_tls_received_header=yes" \
    "smtpd_tls_ask_ccert=yes" "smtpd_tls_CAfile=$T/ca.pem"
# A second server certificate for the same names, self-signed: it does not
# verify against the test CA. Port 10587 presents it (logging as
# postfix-badcert, so what reached it can be told from the rest).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=scanner.test.example" \
    -addext "subjectAltName=DNS:scanner.test.example,IP:127.0.0.1" \
    -keyout "$T/selfsigned.key" -out "$T/selfsigned.pem" >>"$T/openssl.log" 2>&1 ||
    h_die "openssl could not make the self-signed certificate" "$(tail "$T/openssl.log")"
chmod 644 "$T/selfsigned.pem" "$T/selfsigned.key"
echo "10465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt" \
    >>"$PF_ETC_DIR/master.cf"
echo "10587 inet n - n - - smtpd -o syslog_name=postfix-badcert -o smtpd_tls_cert_file=$T/selfsigned.pem -o smtpd_tls_key_file=$T/selfsigned.key" \
    >>"$PF_ETC_DIR/master.cf"
postfix -c "$PF_ETC_DIR" reload >>"$H_TMP/postfix-reload.log" 2>&1
h_wait_port 10465 15 || h_die "Postfix does not listen on 10465 (wrapper mode)" "$(tail "$(mta_log)")"
h_wait_port 10587 15 || h_die "Postfix does not listen on 10587 (self-signed)" "$(tail "$(mta_log)")"
mkdir -p "$H_SINK" && chown nobody "$H_SINK"
h_daemon sink /usr/sbin/smtp-sink -u nobody -d "$H_SINK/%H%M%S." 127.0.0.1:10027 10
h_wait_port 10027 10 || h_die "smtp-sink does not listen"

P=$H_TMP/policy.yaml
common='    connect_timeout: 5s
    command_timeout: 10s
    submission_timeout: 20s
    timeout: 30s
    drop_grace: 10s'
dg_policy "$P" "  starttls:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true }
$common
  wrongname:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    tls_client: { ca_file: $T/ca.pem, server_name: other.test.example, verify: true }
$common
  wrongname_may:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    tls_client: { ca_file: $T/ca.pem, server_name: other.test.example, verify: true }
$common
  badfirst:
    targets: [\"tcp://127.0.0.1:10587\", \"tcp://127.0.0.1:$MTA_PORT\"]
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true }
$common
  untrusted:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    tls_client: { ca_file: /etc/ssl/certs/ca-certificates.crt, verify: true }
$common
  implicit:
    targets: [\"tls://127.0.0.1:10465\"]
    tls_client: { ca_file: $T/ca.pem, verify: true }
$common
  clientcert:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true,
                  cert_file: $T/client.pem, key_file: $T/client.key }
$common
  external:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    auth: external
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true,
                  cert_file: $T/client.pem, key_file: $T/client.key }
$common
  notls:
    targets: [\"tcp://127.0.0.1:10027\", \"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true }
$common"
dg_eml "$H_TMP/m.eml" "over tls" "secret"
run() {
    dg_probe "$1" -c "$P" -s "$1" -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test
}

run starttls
h_is "$(dg_get "$DG_OUT" result)" returned "STARTTLS, verified name: returned"
h_file_like "$DG_ERR" 'service=starttls .*: TLS TLSv1\.[23] ' "the dialogue went over TLS"
h_file_like "$DG_OUT" '^header=Received: from probe\.test\.example .*with ESMTPS' \
    "Postfix saw ESMTPS"
h_file_like "$DG_ERR" 'result=returned' "the copy came back through the receiver"

run wrongname
h_is "$(dg_get "$DG_OUT" result)" failed "wrong server name with require_tls: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'certificate verification failed: [Hh]ostname mismatch' \
    "because the host name does not match"

# A certificate that does not verify is a failure of that target, never a
# reason to send in clear (require_tls is false here). Its own message, so
# Postfix's log tells whether it arrived.
dg_eml "$H_TMP/clear.eml" "must not travel in clear" "secret"
clear_id=$(sed -n 's/^Message-ID: <\(.*\)>$/\1/p' "$H_TMP/clear.eml")
dg_probe wrongname_may -c "$P" -s wrongname_may -m "$H_TMP/clear.eml" -f alice@sender.test \
    -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "wrong server name without require_tls: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'starttls: TLS handshake failed: certificate verification failed: [Hh]ostname mismatch' \
    "because the host name does not match"
h_file_unlike "$(mta_log)" "message-id=<$clear_id>" "nothing was sent in clear to that target"

# Two targets, the first with a certificate that does not verify: the
# second gets the message, over TLS, and the first nothing.
run badfirst
h_is "$(dg_get "$DG_OUT" result)" returned "first target's certificate does not verify: returned"
h_file_like "$DG_ERR" '10587: starttls: TLS handshake failed: certificate verification failed' \
    "the first target was left because of its certificate"
h_file_like "$DG_ERR" "delegate service=badfirst target=tcp://127\\.0\\.0\\.1:$MTA_PORT tls=yes result=returned" \
    "the second target took it"
h_file_like "$DG_OUT" '^header=Received: from probe\.test\.example .*with ESMTPS' \
    "over TLS"
h_file_like "$(mta_log)" 'postfix-badcert/smtpd\[[0-9]+\]: connect from' \
    "the first target saw the connection"
h_file_unlike "$(mta_log)" 'postfix-badcert/smtpd\[[0-9]+\]: [0-9A-Za-z]+: client=' \
    "and no message from it, in clear or otherwise"

run untrusted
h_is "$(dg_get "$DG_OUT" result)" failed "an untrusted CA with require_tls: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'certificate verification failed: (unable to get local issuer|self.signed)' \
    "because the certificate does not verify"

run implicit
h_is "$(dg_get "$DG_OUT" result)" returned "implicit TLS (tls://), IP address checked: returned"
h_file_like "$DG_OUT" '^header=Received: from probe\.test\.example .*with ESMTPS' \
    "over TLS from the first byte"

run notls
h_is "$(dg_get "$DG_OUT" result)" returned "require_tls skips a target without STARTTLS"
h_file_like "$DG_ERR" '10027: hello: TLS is required and STARTTLS is not offered' \
    "that target was left"
h_is "$(ls "$H_SINK" | wc -l)" 0 "nothing was sent in clear to it"

run clientcert
h_is "$(dg_get "$DG_OUT" result)" returned "with a client certificate: returned"
h_file_like "$DG_OUT" '^header=Received: from probe\.test\.example .*Client CN "probe\.test\.example", Issuer "Test CA" \(verified OK\)' \
    "Postfix verified our client certificate"

run external
h_is "$(dg_get "$DG_OUT" result)" failed "AUTH EXTERNAL where the server offers none: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'server does not offer AUTH EXTERNAL' "and says why"
