# tests/lib/amavis.sh - a private amavisd-new (Debian package amavisd-new)
# on loopback for the delegation tests (bash), the classic Postfix content
# filter: it takes a message over SMTP and forwards it with
# $forward_method to stagemilter's receiver. Source tests/lib/harness.sh and
# tests/lib/scanners.sh first. None of the system's amavisd configuration
# (/etc/amavis) is read: the test writes the whole file.
#
#   sc_amavisd_start BANNED_DESTINY [PORT]
#                               amavisd-new on 127.0.0.1:PORT (default
#                               $SC_AMAVIS_PORT), running as user amavis,
#                               forwarding to 127.0.0.1:$SC_RECEIVER_PORT;
#                               virus checks through the test's clamd
#                               (sc_clamd_start: one EICAR signature), so it
#                               adds "X-Virus-Scanned: amavis at
#                               test.example"; no SpamAssassin
#                               (@bypass_spam_checks_maps); an attachment
#                               named *.exe (and the other usual
#                               executables) is banned, with
#                               $final_banned_destiny = BANNED_DESTINY
#                               (D_REJECT: 554 5.7.0 ... BANNED; D_DISCARD:
#                               250 and nothing forwarded); no notification
#                               is sent anywhere. Its log:
#                               $H_TMP/amavis/amavis.log. Returns once it
#                               listens.
#   sc_amavisd_stop [PORT]      stop it, wait until the port is free

SC_AMAVIS_PORT=${SC_AMAVIS_PORT:-10024}

sc_amavisd_start() {
    local destiny=$1 port=${2:-$SC_AMAVIS_PORT} d=$H_TMP/amavis
    h_need amavisd
    id amavis >/dev/null 2>&1 || h_die "no user amavis (package amavisd-new)"
    sc_clamd_start
    mkdir -p "$d/tmp" "$d/db" "$d/home"
    chown amavis:amavis "$d/tmp" "$d/db" "$d/home"
    chmod 755 "$d"
    touch "$d/amavis.log"
    chown amavis:amavis "$d/amavis.log"
    cat >"$d/amavisd-$port.conf" <<EOF
use strict;
\$MYHOME = '$d/home';
\$helpers_home = '$d/home';
\$TEMPBASE = '$d/tmp';
\$db_home = '$d/db';
\$pid_file = '$d/home/amavisd-$port.pid';
\$lock_file = '$d/home/amavisd-$port.lock';
\$daemon_user = 'amavis';
\$daemon_group = 'amavis';
\$myhostname = 'amavis.test.example';
\$mydomain = 'test.example';
\$inet_socket_bind = '127.0.0.1';
\$inet_socket_port = $port;
@inet_acl = qw(127.0.0.1);
\$forward_method = 'smtp:[127.0.0.1]:$SC_RECEIVER_PORT';
# Nothing listens there: a notification would only be logged as failed.
\$notify_method = 'smtp:[127.0.0.1]:9';
\$virus_admin = undef;
\$banned_admin = undef;
\$warnbannedsender = 0;
\$warnvirussender = 0;
\$max_servers = 2;
\$enable_db = 0;
\$enable_zmq = 0;
\$enable_dkim_verification = 0;
\$enable_dkim_signing = 0;
\$do_syslog = 0;
\$LOGFILE = '$d/amavis.log';
\$log_level = 2;
@local_domains_maps = (1);
@bypass_spam_checks_maps = (1);
@bypass_virus_checks_maps = (0);
@av_scanners = (['ClamAV-clamd', \\&ask_daemon, ["CONTSCAN {}\\n", '$SC_CLAMD_SOCK'],
                 qr/\\bOK\$/m, qr/\\bFOUND\$/m, qr/^.*?: (?!Infected Archive)(.*) FOUND\$/m]);
@av_scanners_backup = ();
\$QUARANTINEDIR = undef;
\$virus_quarantine_method = undef;
\$banned_files_quarantine_method = undef;
\$final_virus_destiny = D_REJECT;
\$final_banned_destiny = $destiny;
\$banned_filename_re = new_RE(qr'.\\.(exe|vbs|pif|scr|bat|cmd|com|cpl|dll)\$'i);
1;
EOF
    # foreground: no fork, its children in its process group (h_stop).
    h_daemon "amavisd-$port" amavisd -c "$d/amavisd-$port.conf" foreground
    h_wait_port "$port" 60 || h_die "amavisd does not listen on $port" \
        "$(tail -n 30 "$d/amavis.log" "$H_TMP/amavisd-$port.log" 2>/dev/null)"
}

sc_amavisd_stop() {
    local port=${1:-$SC_AMAVIS_PORT}
    h_stop "amavisd-$port" 10
    h_wait 10 bash -c "! ss -Hltn 'sport = :$port' | grep -q ."
}
