# tests/lib/mta_sendmail.sh - the MTA interface of tests/lib/harness.sh for a
# private Sendmail 8.17 instance (sourced by h_setup when MTA=sendmail).
#
# Debian's Sendmail packages conflict with postfix, so they are never
# installed: tests/lib/sendmail/fetch.sh downloads and unpacks them once into
# $SM_CACHE (default /var/cache/stagemilter-tests/sendmail) and the daemon
# runs from there, as root, in the test's namespaces.
#
# Everything of one instance lives under $H_TMP/sendmail: sendmail.cf (made
# with m4 from tests/lib/sendmail/test.mc, which includes
# contrib/sendmail/stagemilter.mc with only S= changed, so the snippet
# administrators paste is the one tested), etc/ (aliases, service.switch,
# hosts, helpfile), mqueue/ (the queue: qf* queued, hf* quarantined), maillog
# (what Sendmail logs) and traffic.log (-X, the SMTP traffic it sees).
#
# Sendmail logs only through syslog(3), i.e. to /dev/log, and there is no
# syslog daemon in the test namespace. tests/lib/sendmail/syslogd.py (python3)
# listens on $H_TMP/sendmail/syslog.sock and writes maillog;
# tests/lib/sendmail/devlog-ns.sh runs Sendmail in its own mount namespace
# whose private /dev has log -> that socket. The machine's /dev is untouched.
# In that namespace a tmpfs on /run also gives the milter's unix socket and
# the throw-away STARTTLS certificate (etc/tls) a path Sendmail accepts:
# it refuses both below a world-writable directory such as /tmp.
#
# STARTTLS is always offered (so MTA_TLS=1 changes nothing here). With
# MTA_AUTH_USER and MTA_AUTH_PASS, Sendmail also offers SMTP AUTH PLAIN and
# LOGIN (test.mc with SM_AUTH) through Cyrus SASL: libsasl2 reads
# Sendmail.conf from its configuration path, of which /usr/lib/sasl2 exists
# (package libsasl2-2) and is otherwise empty; devlog-ns.sh binds sasl/ over
# it, with Sendmail.conf (auxprop sasldb) and sasldb2 (saslpasswd2, realm
# host.test.example: Sendmail's default AuthRealm is $j).
#
# Certificates of a test CA instead of the throw-away one: MTA_TLS_CERT and
# MTA_TLS_KEY (files) are the server's certificate and key; MTA_TLS_CA (a
# file) is what client certificates are verified against (CACertFile;
# test.mc with SM_TLS_CA). MTA_AUTH_EXTERNAL=1 (with MTA_TLS_CA) offers SASL
# EXTERNAL (test.mc with SM_AUTH_EXTERNAL): Sendmail asks every STARTTLS
# client for a certificate, and once one verified ({verify} OK) Cyrus SASL
# offers EXTERNAL with its {cert_subject} as the authid. They are copied
# into etc/tls (cert.pem, key.pem, cacert.pem).
#
# The first test on a machine downloads the packages (from the network
# namespace the test was started from); tests/lib/sendmail/fetch.sh can also
# be run beforehand. SM_DEBUG=CATEGORY.LEVEL (e.g. 64.10 for the milter
# protocol, macros included) writes Sendmail's debug output to
# sendmail/debug.log.
#
# Functions: mta_install mta_start mta_stop mta_log mta_held_count
# mta_queue_count mta_release mta_flush mta_sendmail_path mta_queue_id
# mta_logged mta_expect
# (see harness.sh), plus
# mta_queue_dir, mta_sendmail (run the cached sendmail binary on the private
# configuration, in the logging namespace) and sm_* helpers.

SM_CACHE=${SM_CACHE:-/var/cache/stagemilter-tests/sendmail}
SM_ROOT=$SM_CACHE/root
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
SM_CF_DIR=$SM_ROOT/usr/share/sendmail/cf
SM_LIBDIR=$SM_ROOT/usr/lib/x86_64-linux-gnu
SM_LIB=$H_TOP/tests/lib/sendmail
SM_DIR=$H_TMP/sendmail
SM_QUEUE=$SM_DIR/mqueue
SM_TLS=$SM_DIR/etc/tls
SM_SASL=$SM_DIR/sasl
# NAME:DIR pairs that Sendmail sees at /run/stagemilter-test/NAME (devlog-ns.sh).
SM_RUN_BINDS="tls:$SM_TLS"

# The network namespace the test was started from: that of the nearest
# ancestor process outside this test's own network namespace (empty if none).
sm_outer_netns() {
    local me pid=$$ ppid
    me=$(readlink /proc/self/ns/net) || return 0
    while [ "$pid" -gt 1 ]; do
        ppid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 0
        [ -n "$ppid" ] && [ "$ppid" -gt 1 ] || return 0
        if [ "$(readlink "/proc/$ppid/ns/net" 2>/dev/null)" != "$me" ]; then
            echo "/proc/$ppid/ns/net"
            return 0
        fi
        pid=$ppid
    done
}

# Sendmail is unpacked in the cache (fetched now if needed); m4 and python3
# are there.
mta_install() {
    local log=$H_TMP/sendmail-fetch.log outer
    h_need m4 openssl /usr/bin/python3 unshare nsenter flock dpkg-deb apt-get
    [ -n "${MTA_AUTH_USER:-}" ] && h_need saslpasswd2
    if ! "$SM_LIB/fetch.sh" "$SM_CACHE" 2>"$log"; then
        # The test's private network namespace has only loopback: download
        # from the namespace the test was started from, once; later runs
        # reuse the cache.
        outer=$(sm_outer_netns)
        if [ -z "$outer" ] || ! nsenter --net="$outer" -- "$SM_LIB/fetch.sh" "$SM_CACHE" 2>"$log"; then
            h_die "cannot fetch Sendmail into $SM_CACHE (run tests/lib/sendmail/fetch.sh with network access)" \
                "$(cat "$log")"
        fi
    fi
    if [ ! -x "$SM_BIN" ] || [ ! -f "$SM_CF_DIR/m4/cf.m4" ]; then
        h_die "Sendmail in $SM_CACHE is incomplete (remove the directory and retry)"
    fi
}

# Path of the instance's log (its syslog lines).
mta_log() {
    echo "$SM_DIR/maillog"
}

# Path of the private queue directory.
mta_queue_dir() {
    echo "$SM_QUEUE"
}

# Run the cached sendmail with ARGS on the private configuration, in the
# mount namespace whose /dev/log reaches the instance's syslog listener.
mta_sendmail() {
    env LD_LIBRARY_PATH="$SM_LIBDIR" SM_RUN_BINDS="$SM_RUN_BINDS" \
        "$SM_LIB/devlog-ns.sh" "$SM_DIR/syslog.sock" "$SM_DIR/dev" \
        "$SM_BIN" -C "$SM_DIR/sendmail.cf" "$@"
}

# The milter address as Sendmail must be told it. A unix socket is reached
# through /run/stagemilter-test/milter (see devlog-ns.sh): Sendmail refuses
# socket paths below a world-writable directory such as /tmp. Sets
# SM_MILTER_ADDR and adds the socket's directory to SM_RUN_BINDS.
sm_milter_address() {
    SM_RUN_BINDS="tls:$SM_TLS"
    [ -n "${MTA_AUTH_USER:-}${MTA_AUTH_EXTERNAL:-}" ] &&
        SM_RUN_BINDS="$SM_RUN_BINDS /usr/lib/sasl2:$SM_SASL"
    SM_MILTER_ADDR=$1
    case $1 in
    unix:* | local:*)
        local path=${1#*:}
        SM_RUN_BINDS="$SM_RUN_BINDS milter:$(dirname "$path")"
        SM_MILTER_ADDR=unix:/run/stagemilter-test/milter/$(basename "$path")
        ;;
    esac
}

# Write sendmail.cf and its files for MILTER (libmilter syntax) and SINK_PORT.
sm_write_config() {
    local milter=$1 sink=$2 mc=
    mkdir -p "$SM_DIR/etc" "$SM_QUEUE" "$SM_DIR/dev" || return 1
    chmod 700 "$SM_QUEUE"
    # No aliases; names resolve from this file only (no DNS in the namespace).
    : >"$SM_DIR/etc/aliases"
    printf 'hosts\t\tfiles\naliases\t\tfiles\npasswd\t\tfiles\n' >"$SM_DIR/etc/service.switch"
    printf '127.0.0.1\tlocalhost host.test.example\n' >"$SM_DIR/etc/hosts"
    cp "$SM_ROOT/etc/mail/helpfile" "$SM_DIR/etc/helpfile" 2>/dev/null
    if [ -n "$milter" ]; then
        mc=$SM_DIR/stagemilter.mc
        sed "s|S=[^,]*,|S=$milter,|" "$H_TOP/contrib/sendmail/stagemilter.mc" >"$mc"
        grep -qF "S=$milter," "$mc" ||
            h_die "contrib/sendmail/stagemilter.mc has no S= to point at the test's milter"
        # MTA_MILTERS_BEFORE: milters (libmilter inet syntax), in order, before ours.
        local m n=0 before=
        for m in ${MTA_MILTERS_BEFORE:-}; do
            n=$((n + 1))
            before="${before}INPUT_MAIL_FILTER(\`before$n', \`S=$m, F=T, T=C:30s;S:1m;R:1m;E:2m')dnl
"
        done
        if [ -n "$before" ]; then
            { printf '%s' "$before"; cat "$mc"; } >"$mc.new" && mv "$mc.new" "$mc"
        fi
    fi
    # STARTTLS with a throw-away self-signed certificate, so the TLS macros
    # ({tls_version} {cipher} ...) reach the milter when a client uses it.
    # Sendmail reads them as /run/stagemilter-test/tls/*.pem (devlog-ns.sh).
    # MTA_TLS_CERT/KEY/CA replace it with those of a test CA.
    h_tls_cert "$SM_TLS" || return 1
    if [ -n "${MTA_TLS_CERT:-}" ]; then
        cp "$MTA_TLS_CERT" "$SM_TLS/cert.pem" && cp "$MTA_TLS_KEY" "$SM_TLS/key.pem" &&
            chmod 644 "$SM_TLS/cert.pem" && chmod 600 "$SM_TLS/key.pem" || return 1
    fi
    if [ -n "${MTA_TLS_CA:-}" ]; then
        cp "$MTA_TLS_CA" "$SM_TLS/cacert.pem" && chmod 644 "$SM_TLS/cacert.pem" || return 1
    elif [ -n "${MTA_AUTH_EXTERNAL:-}" ]; then
        h_die "MTA_AUTH_EXTERNAL needs MTA_TLS_CA (the CA of the client certificates)"
    fi
    if [ -n "${MTA_AUTH_USER:-}${MTA_AUTH_EXTERNAL:-}" ]; then
        sm_write_sasl || return 1
    fi
    if ! m4 -D_CF_DIR_="$SM_CF_DIR/" -DMAIL_SETTINGS_DIR="$SM_DIR/etc/" -DSM_DIR="$SM_DIR" \
        -DSM_TLS_DIR=/run/stagemilter-test/tls ${MTA_AUTH_USER:+-DSM_AUTH=1} \
        ${MTA_TLS_CA:+-DSM_TLS_CA=1} ${MTA_AUTH_EXTERNAL:+-DSM_AUTH_EXTERNAL=1} \
        -DSM_PORT="$MTA_PORT" -DSM_SINK_PORT="$sink" ${mc:+-DSM_MILTER_MC="$mc"} \
        "$SM_CF_DIR/m4/cf.m4" "$SM_LIB/test.mc" >"$SM_DIR/sendmail.cf" 2>"$SM_DIR/m4.log"; then
        h_diag "m4 failed to build sendmail.cf:" "$(cat "$SM_DIR/m4.log")"
        return 1
    fi
}

# Cyrus SASL for MTA_AUTH_USER and MTA_AUTH_EXTERNAL: Sendmail.conf and a
# sasldb with that one user, in $SM_SASL (seen by Sendmail as
# /usr/lib/sasl2). EXTERNAL needs no password database.
sm_write_sasl() {
    local mechs=
    mkdir -p "$SM_SASL" && chmod 755 "$SM_SASL" || return 1
    [ -n "${MTA_AUTH_EXTERNAL:-}" ] && mechs=EXTERNAL
    [ -n "${MTA_AUTH_USER:-}" ] && mechs="${mechs:+$mechs }PLAIN LOGIN"
    cat >"$SM_SASL/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: /usr/lib/sasl2/sasldb2
mech_list: $mechs
EOF
    rm -f "$SM_SASL/sasldb2"
    [ -n "${MTA_AUTH_USER:-}" ] || return 0
    if ! printf '%s' "${MTA_AUTH_PASS:-}" | saslpasswd2 -f "$SM_SASL/sasldb2" -c -p \
        -u host.test.example "$MTA_AUTH_USER" >"$SM_DIR/saslpasswd2.log" 2>&1; then
        h_diag "saslpasswd2 failed:" "$(cat "$SM_DIR/saslpasswd2.log")"
        return 1
    fi
    chmod 600 "$SM_SASL/sasldb2"
}

# Start the instance; return once it accepts connections.
mta_start() {
    local milter=$1 sink=$2 i
    [ -n "$sink" ] || h_die "mta_start: no sink port"
    sm_milter_address "$milter"
    sm_write_config "$SM_MILTER_ADDR" "$sink" || return 1
    : >>"$SM_DIR/maillog"
    h_daemon sendmail-syslog /usr/bin/python3 "$SM_LIB/syslogd.py" "$SM_DIR/syslog.sock" "$SM_DIR/maillog"
    for ((i = 0; i < 50; i++)); do
        [ -S "$SM_DIR/syslog.sock" ] && break
        sleep 0.1
    done
    if [ ! -S "$SM_DIR/syslog.sock" ]; then
        h_diag "the syslog listener does not start:" "$(cat "$H_TMP/sendmail-syslog.log")"
        return 1
    fi
    # -bD: daemon in the foreground (h_daemon's process group holds it and
    # every child it forks); -X: the SMTP traffic, for diagnosis. SM_DEBUG
    # (e.g. 64.10: every milter command and macro) writes Sendmail's debug
    # output to sendmail/debug.log (never to stdout: in an SMTP session that
    # is the client's socket).
    h_daemon sendmail env LD_LIBRARY_PATH="$SM_LIBDIR" SM_RUN_BINDS="$SM_RUN_BINDS" "$SM_LIB/devlog-ns.sh" \
        "$SM_DIR/syslog.sock" "$SM_DIR/dev" \
        "$SM_BIN" -C "$SM_DIR/sendmail.cf" -bD -X "$SM_DIR/traffic.log" ${SM_DEBUG:+-D "$SM_DIR/debug.log" -d"$SM_DEBUG"}
    if ! h_wait_port "$MTA_PORT" 15; then
        h_diag "Sendmail does not listen on 127.0.0.1:$MTA_PORT" \
            "$(cat "$H_TMP/sendmail.log" 2>/dev/null)" "$(tail -n 20 "$SM_DIR/maillog")"
        return 1
    fi
}

# Pids of processes of this test's network namespace that run the cached
# sendmail binary (delivery children call setsid(), leaving the daemon's
# process group).
sm_pids() {
    local me d
    [ "${H_IN_NS:-}" = "$$" ] || return 0 # only inside a test's namespace
    me=$(readlink /proc/self/ns/net) || return 0
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/exe" 2>/dev/null)" = "$SM_BIN" ] || continue
        [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$me" ] && echo "${d#/proc/}"
    done
}

# Stop the instance, its queue runs and deliveries, and its syslog listener.
mta_stop() {
    local pids i
    h_stop sendmail 10
    for ((i = 0; i < 30; i++)); do
        pids=$(sm_pids)
        [ -z "$pids" ] && break
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null
        sleep 0.1
    done
    pids=$(sm_pids)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    # Let the last log lines of the dying daemon arrive before the listener goes.
    sleep 0.2
    h_stop sendmail-syslog 3
    return 0
}

# Queue files of type PREFIX (qf: queued, hf: quarantined) in the queue.
sm_count() {
    local n
    n=$(find "$SM_QUEUE" -maxdepth 1 -type f -name "$1*" 2>/dev/null | wc -l)
    echo "$n"
}

# Messages quarantined by a milter (smfi_quarantine): Sendmail renames their
# qf file to hf; they stay in the queue directory and are never delivered.
mta_held_count() {
    sm_count hf
}

# Messages still queued (not counting quarantined ones).
mta_queue_count() {
    sm_count qf
}

# Release message QID from quarantine: -Q without a reason unquarantines
# the items that -qQ (quarantined) and -qI (this id) select; its hf file
# becomes a qf file again, delivered by the next queue run or mta_flush.
mta_release() {
    mta_sendmail -Q -qQ -qI"$1" >>"$SM_DIR/release.log" 2>&1
}

# Try delivery of queued mail now: one queue run in the foreground (-qf;
# plain -q forks and returns at once). Quarantined items are not tried.
mta_flush() {
    mta_sendmail -qf >>"$SM_DIR/flush.log" 2>&1
}

# MTA-specific expectations, as extended regexes (see harness.sh).
mta_expect() {
    case $1 in
    milter_down) echo '^451 4\.3\.2 ' ;;
    connect_reject) echo '^554 ' ;;
    # Is macro i (the queue id) there at MAIL FROM? Yes: Sendmail assigns
    # it when it accepts MAIL.
    queue_id_at_mail) echo yes ;;
    *) h_die "mta_expect: unknown key $1" ;;
    esac
}

# The queue id in Sendmail's reply to the final dot
# ("250 2.0.0 ID Message accepted for delivery").
mta_queue_id() {
    echo "$1" | sed -n 's/^250 [0-9.]* \([0-9A-Za-z]*\) Message accepted.*/\1/p'
}

# What the maillog says of the SMTP session that received message QID (KEY:
# client_name, auth, tls; see harness.sh). Each session is a child process
# of its own: its facts are those logged under its pid.
mta_logged() {
    awk -v qid="$1" -v key="$2" '
        match($0, /sendmail\[[0-9]+\]: /) {
            pid = substr($0, RSTART, RLENGTH)
            rest = substr($0, RSTART + RLENGTH)
            if (rest ~ /^STARTTLS=server, .*version=/) {
                v = rest; sub(/.*version=/, "", v); sub(/,.*/, "", v); tls[pid] = v
            } else if (rest ~ /^AUTH=server, /) {
                v = rest; sub(/.*authid=/, "", v); sub(/,.*/, "", v); auth[pid] = v
            } else if (index(rest, qid ": from=") == 1) {
                name = rest; sub(/.*relay=/, "", name); sub(/ .*/, "", name)
                if (key == "client_name") print name
                else if (key == "auth") print auth[pid]
                else if (key == "tls") print tls[pid]
                exit
            }
        }' "$SM_DIR/maillog"
}

# Print the path of an executable that submits mail to this instance like
# sendmail(1): the cached sendmail on the private configuration, in the
# logging namespace (see mta_sendmail).
mta_sendmail_path() {
    local w=$SM_DIR/sendmail-cmd
    if [ ! -x "$w" ]; then
        {
            echo '#!/bin/sh'
            printf 'LD_LIBRARY_PATH=%q SM_RUN_BINDS=%q exec %q %q %q %q -C %q "$@"\n' \
                "$SM_LIBDIR" "$SM_RUN_BINDS" "$SM_LIB/devlog-ns.sh" "$SM_DIR/syslog.sock" \
                "$SM_DIR/dev" "$SM_BIN" "$SM_DIR/sendmail.cf"
        } >"$w"
        chmod 755 "$w"
    fi
    echo "$w"
}
