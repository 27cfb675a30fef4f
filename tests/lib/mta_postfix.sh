# tests/lib/mta_postfix.sh - the MTA interface of tests/lib/harness.sh for a
# private Postfix 3.x instance (sourced by h_setup when MTA=postfix).
#
# Everything lives under $H_TMP/postfix: etc/ (config_directory: main.cf,
# master.cf), spool/ (queue_directory), data/ (data_directory, owned by
# postfix) and maillog (maillog_file, written by the postlog service). The
# machine's own /etc/postfix is only read (postfix-files, for the queue
# layout), never written. Every service runs with chroot n. The milter lines
# of main.cf are contrib/postfix/main.cf, appended verbatim, so the snippet
# administrators paste is the one tested; only smtpd_milters is overridden.
#
# Optional switches of mta_start (see harness.sh): MTA_TLS=1 offers STARTTLS
# (smtpd_tls_security_level = may) with a throw-away certificate in tls/;
# MTA_AUTH_USER and MTA_AUTH_PASS offer SMTP AUTH (PLAIN, LOGIN) for that one
# user through Dovecot SASL (tests/lib/dovecot.sh, files in dovecot/), and
# imply MTA_TLS.
#
# Functions: mta_install mta_start mta_stop mta_log mta_held_count
# mta_queue_count mta_release mta_flush mta_sendmail_path mta_queue_id
# mta_logged mta_expect
# (see harness.sh), plus mta_postconf (postconf on the private instance) and
# mta_queue_dir.

PF_DIR=$H_TMP/postfix
PF_ETC=$PF_DIR/etc
PF_SPOOL=$PF_DIR/spool
# shellcheck source=tests/lib/dovecot.sh
. "$H_TOP/tests/lib/dovecot.sh"

# Postfix and its tools are installed, with the postfix user and postdrop group.
mta_install() {
    h_need postfix postconf postqueue postsuper /usr/lib/postfix/sbin/master /usr/sbin/smtp-sink
    getent passwd postfix >/dev/null || h_die "user postfix is missing (reinstall the postfix package)"
    getent group postdrop >/dev/null || h_die "group postdrop is missing (reinstall the postfix package)"
    local v
    # -d: the compiled-in default. A non-interactive install of the package
    # writes no /etc/postfix/main.cf, and then `postconf -h` prints nothing.
    v=$(postconf -dh mail_version 2>/dev/null)
    case $v in
    3.*) ;;
    *) h_die "Postfix 3.x required, found '$v'" ;;
    esac
}

# Path of the private instance's log.
mta_log() {
    echo "$PF_DIR/maillog"
}

# Path of the private queue directory.
mta_queue_dir() {
    echo "$PF_SPOOL"
}

# postconf on the private instance.
mta_postconf() {
    postconf -c "$PF_ETC" "$@"
}

# Translate libmilter socket syntax into Postfix's.
pf_milter_address() {
    case $1 in
    "") echo "" ;;
    inet:*@*) local p=${1#inet:} && echo "inet:${p#*@}:${p%%@*}" ;;
    inet6:*@*) local p=${1#inet6:} && echo "inet6:[${p#*@}]:${p%%@*}" ;;
    unix:* | local:*) echo "unix:${1#*:}" ;;
    *) echo "$1" ;;
    esac
}

# Write main.cf and master.cf for MILTER (libmilter syntax) and SINK_PORT.
pf_write_config() {
    local milter sink=$2 m before=
    milter=$(pf_milter_address "$1")
    # MTA_MILTERS_BEFORE: milters (libmilter syntax), in order, before ours.
    for m in ${MTA_MILTERS_BEFORE:-}; do
        before="${before:+$before, }$(pf_milter_address "$m")"
    done
    [ -n "$before" ] && milter="$before${milter:+, $milter}"
    mkdir -p "$PF_ETC" "$PF_SPOOL" "$PF_DIR/data"
    chown postfix "$PF_DIR/data"
    cat >"$PF_ETC/main.cf" <<EOF
# Private test instance written by tests/lib/mta_postfix.sh.
compatibility_level = 3.6
queue_directory = $PF_SPOOL
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = host.test.example
mydomain = test.example
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# Nothing is local: every recipient is relayed to the sink.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
relayhost = [127.0.0.1]:$sink
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
# No DNS in the test namespace.
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
# Deliver (or retry) at once: tests wait for the queue to drain.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
default_process_limit = 20
smtputf8_enable = no
EOF
    if [ -n "${MTA_TLS:-}${MTA_AUTH_USER:-}" ]; then
        cat >>"$PF_ETC/main.cf" <<EOF
# STARTTLS (MTA_TLS): a throw-away certificate; log the handshakes.
smtpd_tls_cert_file = $PF_DIR/tls/cert.pem
smtpd_tls_key_file = $PF_DIR/tls/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
EOF
    fi
    if [ -n "${MTA_AUTH_USER:-}" ]; then
        cat >>"$PF_ETC/main.cf" <<EOF
# SMTP AUTH (MTA_AUTH_USER): Dovecot SASL, one user.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $PF_DIR/dovecot/auth
EOF
    fi
    {
        echo ""
        echo "# ---- contrib/postfix/main.cf, verbatim but for smtpd_milters ----"
        sed "s|^smtpd_milters *=.*|smtpd_milters = $milter|" "$H_TOP/contrib/postfix/main.cf"
    } >>"$PF_ETC/main.cf"
    grep -qxF "smtpd_milters = $milter" "$PF_ETC/main.cf" ||
        h_die "contrib/postfix/main.cf has no smtpd_milters line to point at the test's milter"
    # Like Debian's master.cf, minus chroot (chroot n everywhere) and minus
    # the services a relay-only test instance never uses.
    cat >"$PF_ETC/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
$MTA_PORT      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# Create the queue directories as the package's postfix-files lists them,
# and mark the queue "quick-start": `postfix start` then skips its integrity
# checks (post-install create-missing, postsuper), which cost ~2 s a test.
pf_make_queue() {
    local meta name owner group mode
    meta=$(postconf -dh meta_directory 2>/dev/null)
    [ -f "$meta/postfix-files" ] || h_die "no $meta/postfix-files (reinstall the postfix package)"
    while IFS=: read -r name _ owner group mode _; do
        name=${name#\$queue_directory/}
        owner=${owner/\$mail_owner/postfix}
        group=${group/\$setgid_group/postdrop}
        mkdir -p "$PF_SPOOL/$name"
        chown "$owner" "$PF_SPOOL/$name"
        [ "$group" != - ] && chgrp "$group" "$PF_SPOOL/$name"
        chmod "$mode" "$PF_SPOOL/$name"
    done < <(grep -E '^\$queue_directory/[a-z]+:d:' "$meta/postfix-files")
    [ -d "$PF_SPOOL/hold" ] && [ -d "$PF_SPOOL/public" ] || h_die "could not create the queue in $PF_SPOOL"
    touch "$PF_SPOOL/quick-start"
}

# Start the private instance; return once smtpd accepts connections.
mta_start() {
    local milter=$1 sink=$2
    [ -n "$sink" ] || h_die "mta_start: no sink port"
    if [ -n "${MTA_TLS:-}${MTA_AUTH_USER:-}" ]; then
        h_tls_cert "$PF_DIR/tls" || return 1
    fi
    if [ -n "${MTA_AUTH_USER:-}" ]; then
        dovecot_auth_start "$PF_DIR/dovecot" "$MTA_AUTH_USER" "${MTA_AUTH_PASS:-}" || return 1
    fi
    pf_write_config "$milter" "$sink"
    pf_make_queue
    # `postfix start` reports errors only to the maillog and its daemons
    # inherit stdout: never pipe it, send it to a file.
    if ! postfix -c "$PF_ETC" start >>"$H_TMP/postfix-start.log" 2>&1; then
        h_diag "postfix start failed:" "$(cat "$H_TMP/postfix-start.log")" \
            "$(tail -n 20 "$PF_DIR/maillog" 2>/dev/null)"
        return 1
    fi
    if ! h_wait_port "$MTA_PORT" 15; then
        h_diag "Postfix does not listen on 127.0.0.1:$MTA_PORT" "$(tail -n 20 "$PF_DIR/maillog" 2>/dev/null)"
        return 1
    fi
}

# Stop the instance and every process it started.
mta_stop() {
    [ -f "$PF_ETC/main.cf" ] || return 0
    local pid i
    pid=$(sed 1q "$PF_SPOOL/pid/master.pid" 2>/dev/null | tr -d ' ')
    if h_pid_ok "$pid"; then
        # What `postfix stop` does, without its start-up checks: TERM the
        # master, which passes it on to its children.
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            h_running "$pid" || break
            sleep 0.1
        done
        # master is a process group leader: take its children with it.
        kill -KILL -- "-$pid" 2>/dev/null
    fi
    dovecot_auth_stop
    return 0
}

# Queue files under the named queues of the private instance.
pf_count() {
    local q n=0
    for q in "$@"; do
        [ -d "$PF_SPOOL/$q" ] && n=$((n + $(find "$PF_SPOOL/$q" -type f | wc -l)))
    done
    echo "$n"
}

# Messages in the hold queue.
mta_held_count() {
    pf_count hold
}

# Messages still queued (not counting held ones).
mta_queue_count() {
    pf_count maildrop incoming active deferred
}

# Release message QID from the hold queue (postsuper -H): it goes back to
# the deferred queue, delivered by the next queue run or mta_flush.
mta_release() {
    postsuper -c "$PF_ETC" -H "$1" >>"$H_TMP/postsuper.log" 2>&1
}

# Try delivery of queued mail now.
mta_flush() {
    postqueue -c "$PF_ETC" -f >/dev/null 2>&1
}

# MTA-specific expectations, as extended regexes (see harness.sh).
mta_expect() {
    case $1 in
    milter_down) echo '^451 4\.7\.1 ' ;;
    # Postfix does not pass a milter's connect-stage reply to the client: it
    # greets with its own "554 HOST ESMTP not accepting connections" and logs
    # the milter's code and text (milter-reject: CONNECT ...).
    connect_reject) echo '^554 .*not accepting connections' ;;
    # Is macro i (the queue id) there at MAIL FROM? Not with Postfix's
    # default smtpd_delay_open_until_valid_rcpt = yes: the queue file, and
    # its id, exist only once a first recipient is accepted.
    queue_id_at_mail) echo no ;;
    *) h_die "mta_expect: unknown key $1" ;;
    esac
}

# The queue id in Postfix's reply to the final dot ("250 2.0.0 Ok: queued as ID").
mta_queue_id() {
    echo "$1" | sed -n 's/^250 .*queued as \([0-9A-Za-z]*\).*/\1/p'
}

# What the maillog says of the smtpd session that received message QID
# (KEY: client_name, auth, tls; see harness.sh). An smtpd process serves one
# session after another: its facts are those logged since its last
# "connect from".
mta_logged() {
    awk -v qid="$1" -v key="$2" '
        match($0, /postfix\/smtpd\[[0-9]+\]: /) {
            pid = substr($0, RSTART, RLENGTH)
            rest = substr($0, RSTART + RLENGTH)
            if (rest ~ /^connect from /) { tls[pid] = "" }
            else if (rest ~ /TLS connection established from /) {
                v = rest; sub(/.*: /, "", v); sub(/ .*/, "", v); tls[pid] = v
            } else if (index(rest, qid ": client=") == 1) {
                name = rest; sub(/^[^=]*=/, "", name); sub(/\[.*/, "", name)
                auth = ""
                if (rest ~ /sasl_username=/) { auth = rest; sub(/.*sasl_username=/, "", auth); sub(/,.*/, "", auth) }
                if (key == "client_name") print name
                else if (key == "auth") print auth
                else if (key == "tls") print tls[pid]
                exit
            }
        }' "$PF_DIR/maillog"
}

# Print the path of an executable that submits mail to this instance like
# sendmail(1) (Postfix's sendmail with MAIL_CONFIG set to the private
# configuration). Mail submitted so goes through pickup: smtpd_milters (and
# so stagemilter) do not see it.
mta_sendmail_path() {
    local w=$PF_DIR/sendmail-cmd
    if [ ! -x "$w" ]; then
        printf '#!/bin/sh\nMAIL_CONFIG=%s exec /usr/sbin/sendmail "$@"\n' "$PF_ETC" >"$w"
        chmod 755 "$w"
    fi
    echo "$w"
}
