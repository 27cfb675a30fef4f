# shellcheck shell=bash
# tests/lib/dovecot_mail.sh - a private Dovecot mailbox server: LMTP in,
# IMAP out, for tests that deliver into a mailbox (milter.quarantine: lmtp).
# Needs tests/lib/harness.sh.
#
# dovecot_mail_start DIR USER PASS LMTP_PORT IMAP_PORT
#     Write DIR/dovecot.conf and DIR/passwd (USER with PASS in clear), start
#     `dovecot -F` as the harness daemon "dovecot-mail" listening on
#     127.0.0.1:LMTP_PORT (LMTP) and 127.0.0.1:IMAP_PORT (IMAP, plain text
#     login allowed), and wait until both listen. Mail for USER+DETAIL@...
#     goes to USER's folder DETAIL (created on delivery), Maildir under
#     DIR/mail/USER; LMTP accepts any local part (the domain is ignored).
#     Non-zero, with a diagnostic, if Dovecot does not come up. With
#     DOVECOT_TLS_DIR set (a directory of h_tls_cert: cert.pem, key.pem),
#     LMTP and IMAP also offer STARTTLS with that certificate.
# dovecot_mail_stop
#     Stop it (harmless if it never started).

dovecot_mail_start() {
    local dir=$1 user=$2 pass=$3 lmtp=$4 imap=$5
    h_need dovecot
    mkdir -p "$dir/run" "$dir/mail" || return 1
    chmod 777 "$dir/mail"
    printf '%s:{PLAIN}%s\n' "$user" "$pass" >"$dir/passwd"
    chmod 644 "$dir/passwd"
    local ssl="ssl = no"
    if [ -n "${DOVECOT_TLS_DIR:-}" ]; then
        ssl="ssl = yes
ssl_cert = <$DOVECOT_TLS_DIR/cert.pem
ssl_key = <$DOVECOT_TLS_DIR/key.pem"
    fi
    cat >"$dir/dovecot.conf" <<CONF
# Written by tests/lib/dovecot_mail.sh: LMTP in, IMAP out, nothing else.
base_dir = $dir/run
state_dir = $dir/run
log_path = $dir/dovecot.log
protocols = lmtp imap
listen = 127.0.0.1
$ssl
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %n
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes
mail_location = maildir:$dir/mail/%n
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dir/mail/%n allow_all_users=yes
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
    h_daemon dovecot-mail dovecot -F -c "$dir/dovecot.conf"
    if ! h_wait 15 h_listening "$lmtp" || ! h_wait 15 h_listening "$imap"; then
        h_diag "dovecot (lmtp, imap) did not start:" \
            "$(cat "$H_TMP/dovecot-mail.log" "$dir/dovecot.log" 2>&1)"
        return 1
    fi
}

dovecot_mail_stop() {
    h_stop dovecot-mail 5
}
