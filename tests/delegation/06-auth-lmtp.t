#!/bin/bash
# tests/delegation/06-auth-lmtp.t - AUTH PLAIN against Postfix smtpd with
# Dovecot SASL (right and wrong password, never in clear except to a
# loopback address), and LMTP against dovecot-lmtpd (a final delivery
# agent: the copy stays there, so the result is dropped; per-recipient
# refusals are reported; all refused is rejected).
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 16
h_need openssl dovecot

# A non-loopback address inside the private namespace.
ip addr add 192.0.2.1/32 dev lo || h_die "cannot add 192.0.2.1 to lo"

T=$H_TMP/tls
dg_test_pki "$T"

# Dovecot: SASL for Postfix, and an LMTP server on 10024.
D=$H_TMP/dovecot
mkdir -p "$D/run" "$D/mail"
chown nobody "$D/mail"
cat >"$D/passwd" <<'EOF'
scanuser:{PLAIN}s3cret-pw
bob@rcpt.test:{PLAIN}x
carol@rcpt.test:{PLAIN}x
EOF
cat >"$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/run
log_path = $H_TMP/dovecot-daemon.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = $D/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/mail/%u
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = 10024
  }
}
service auth {
  unix_listener $D/auth {
    mode = 0666
  }
}
EOF
h_daemon dovecot dovecot -F -c "$D/dovecot.conf"
h_wait_port 10024 15 && h_wait 5 test -S "$D/auth" ||
    h_die "dovecot did not start" "$(cat "$H_TMP/dovecot.log" "$H_TMP/dovecot-daemon.log" 2>&1)"

mta_install
mta_start "" "$DG_RECEIVER_PORT" || h_die "Postfix does not start"
PF_ETC_DIR=$(dirname "$(mta_log)")/etc
mta_postconf -e "smtpd_tls_cert_file=$T/server.pem" "smtpd_tls_key_file=$T/server.key" \
    "smtpd_tls_security_level=may" "smtpd_sasl_auth_enable=yes" "smtpd_sasl_type=dovecot" \
    "smtpd_sasl_path=$D/auth" "smtpd_sasl_authenticated_header=yes"
echo "192.0.2.1:2526 inet n - n - - smtpd" >>"$PF_ETC_DIR/master.cf"
postfix -c "$PF_ETC_DIR" reload >>"$H_TMP/postfix-reload.log" 2>&1
h_wait 15 bash -c "ss -Hltn 'sport = :2526' | grep -q ." ||
    h_die "Postfix does not listen on 192.0.2.1:2526" "$(tail "$(mta_log)")"
sleep 1 # let the reloaded smtpd settings reach the 2525 listener too

P=$H_TMP/policy.yaml
common='    connect_timeout: 5s
    command_timeout: 10s
    submission_timeout: 20s
    timeout: 30s'
tls="    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true }"
dg_policy "$P" "  auth_tls:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
$tls
    auth: plain
    username: scanuser
    password: s3cret-pw
$common
  auth_wrong:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
$tls
    auth: plain
    username: scanuser
    password: not-the-password
$common
  auth_clear_remote:
    targets: [\"tcp://192.0.2.1:2526\"]
    attempt_starttls: false
    auth: plain
    username: scanuser
    password: s3cret-pw
$common
  auth_clear_loopback:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    attempt_starttls: false
    auth: plain
    username: scanuser
    password: s3cret-pw
$common
  lmtp:
    protocol: lmtp
    targets: [\"tcp://127.0.0.1:10024\"]
$common"
dg_eml "$H_TMP/m.eml" "with auth" "hello"

dg_probe auth_tls -c "$P" -s auth_tls -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test \
    -g 10000 -v
h_is "$(dg_get "$DG_OUT" result)" returned "AUTH PLAIN over STARTTLS: returned"
h_file_like "$DG_ERR" '^< 235 ' "the server accepted the credentials"
h_file_like "$DG_OUT" '^header=Received: .*\(Authenticated sender: scanuser\)' \
    "Postfix recorded the authenticated sender"
h_file_unlike "$DG_ERR" 's3cret-pw|czNjcmV0LXB3' "the password is in no log line"

dg_probe auth_wrong -c "$P" -s auth_wrong -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "a wrong password: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'AUTH PLAIN failed: 535' "with the server's 535"

dg_probe auth_remote -c "$P" -s auth_clear_remote -m "$H_TMP/m.eml" -f alice@sender.test \
    -r bob@rcpt.test
h_is "$(dg_get "$DG_OUT" result)" failed "AUTH PLAIN to a remote address without TLS: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'AUTH PLAIN refused over a connection without TLS' \
    "the password was not sent"
h_file_like "$(mta_log)" 'disconnect from [a-z]*\[192\.0\.2\.1\] ehlo=1 quit=1 commands=2$' \
    "Postfix on 192.0.2.1 saw EHLO and QUIT only"

dg_probe auth_loop -c "$P" -s auth_clear_loopback -m "$H_TMP/m.eml" -f alice@sender.test \
    -r bob@rcpt.test -g 10000
h_is "$(dg_get "$DG_OUT" result)" returned "AUTH PLAIN to a loopback address in clear: allowed, returned"

# LMTP: dovecot delivers into a Maildir; nothing comes back.
dg_probe lmtp -c "$P" -s lmtp -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test \
    -r ghost@rcpt.test -r carol@rcpt.test -v
h_is "$(dg_get "$DG_OUT" result)" dropped "LMTP to a delivery agent: dropped (accepted, never back)"
h_file_like "$DG_ERR" '^> LHLO probe\.test\.example$' "spoken with LHLO"
h_file_like "$DG_ERR" 'rcpt=<ghost@rcpt\.test> refused code=550' "the unknown recipient is reported refused"
n=$(grep -c '^< 250 2\.0\.0 <[a-z]*@rcpt\.test> ' "$DG_ERR")
h_is "$n" 2 "one reply per accepted recipient after the data"
h_ok "delivered to bob's Maildir with the ticket" \
    bash -c "grep -rlq '^X-Stagemilter-Ticket: ' '$D/mail/bob@rcpt.test'"

dg_probe lmtp_none -c "$P" -s lmtp -m "$H_TMP/m.eml" -f alice@sender.test -r ghost@rcpt.test
h_like "$(dg_get "$DG_OUT" result) $(dg_get "$DG_OUT" code)" '^rejected 550$' \
    "LMTP with every recipient refused: rejected 550"
