# shellcheck shell=bash
# tests/lib/dovecot.sh - a private Dovecot that serves only SASL
# authentication, for tests that need an MTA offering SMTP AUTH (sourced by
# tests/lib/mta_postfix.sh; needs tests/lib/harness.sh).
#
# dovecot_auth_start DIR USER PASS
#     Write DIR/dovecot.conf (no mail protocol at all, only the auth
#     service) and DIR/passwd (a passwd-file with USER and PASS in clear),
#     start `dovecot -F` as the harness daemon "dovecot-auth" (log in
#     $H_TMP/dovecot-auth.log and DIR/dovecot.log), and wait until its
#     client socket DIR/auth exists (mode 0666: Postfix's smtpd, running as
#     postfix, connects to it; smtpd_sasl_type = dovecot, smtpd_sasl_path =
#     DIR/auth). Mechanisms PLAIN and LOGIN; plain text allowed (the MTA
#     decides whether AUTH needs TLS). Non-zero, with a diagnostic, if
#     Dovecot does not come up.
# dovecot_auth_stop
#     Stop it (h_stop; harmless if it never started).

# Start an auth-only Dovecot for USER:PASS with its files and socket in DIR.
dovecot_auth_start() {
    local dir=$1 user=$2 pass=$3
    h_need dovecot
    mkdir -p "$dir/run" || return 1
    printf '%s:{PLAIN}%s\n' "$user" "$pass" >"$dir/passwd"
    # Read by Dovecot's auth process, which runs as user dovecot.
    chmod 640 "$dir/passwd"
    chgrp dovecot "$dir/passwd" 2>/dev/null || chmod 644 "$dir/passwd"
    cat >"$dir/dovecot.conf" <<EOF
# Written by tests/lib/dovecot.sh: SASL for the test MTA, nothing else.
base_dir = $dir/run
state_dir = $dir/run
log_path = $dir/dovecot.log
protocols = none
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dir
}
service auth {
  unix_listener $dir/auth {
    mode = 0666
  }
}
EOF
    h_daemon dovecot-auth dovecot -F -c "$dir/dovecot.conf"
    if ! h_wait 15 test -S "$dir/auth"; then
        h_diag "dovecot (auth) did not start:" "$(cat "$H_TMP/dovecot-auth.log" "$dir/dovecot.log" 2>&1)"
        return 1
    fi
}

# Stop the auth-only Dovecot.
dovecot_auth_stop() {
    h_stop dovecot-auth 5
}
