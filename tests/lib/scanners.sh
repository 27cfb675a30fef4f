# tests/lib/scanners.sh - real content scanners for the delegation tests
# (bash), on top of tests/lib/harness.sh (source that first, then call
# h_setup). Used by tests/delegation/ (through dg.sh), tests/e2e/2*-*.t and
# the bench.
#
#   sc_clamd_start              clamd with a one-line database that knows only
#                               the EICAR test string (nothing can be
#                               downloaded here); its socket in $SC_CLAMD_SOCK.
#                               A second call does nothing while it runs.
#   sc_clamsmtpd_start ACTION [LISTEN_PORT [OUT_PORT]]
#                               clamsmtpd on 127.0.0.1:LISTEN_PORT (default
#                               $SC_CLAMSMTP_PORT) in front of clamd, passing
#                               clean mail to 127.0.0.1:OUT_PORT (default
#                               $SC_RECEIVER_PORT) with Action: ACTION (pass,
#                               drop, bounce)
#                               (SC_CLAMSMTPD_TMP: its TempDirectory;
#                               SC_CLAMSMTPD_DEBUG: its -d level, default 3)
#   sc_clamsmtpd_stop [LISTEN_PORT]   stop it, wait until the port is free
#   sc_spampd_start [LISTEN_PORT [RELAY_PORT]]
#                               spampd (SpamAssassin, local tests only,
#                               --tagall, shipped defaults incl. report_safe)
#                               on LISTEN_PORT (default $SC_SPAMPD_PORT)
#                               relaying to RELAY_PORT (default
#                               $SC_RECEIVER_PORT); its syslog lines go to
#                               $H_TMP/spampd-syslog.txt
#   sc_spamd_start [PORT]       spamd (package spamd, SpamAssassin's shipped
#                               rules, local tests only, no Bayes) on
#                               127.0.0.1:PORT (default $SC_SPAMD_PORT);
#                               returns once it answers PING
#   sc_rspamd_start             rspamd 3.4 as a private instance: /etc/rspamd
#                               copied to $H_TMP/rspamd/conf with overrides
#                               (normal worker on 127.0.0.1:$SC_RSPAMD_PORT,
#                               controller on the next port, no proxy or
#                               fuzzy worker (with SC_RSPAMD_MILTER_PORT set:
#                               the proxy worker in milter mode on that port,
#                               asking the normal worker), DNS that fails at once, a log
#                               file, actions add_header 3 and reject 15,
#                               milter headers X-Spamd-Bar and X-Spam-Status
#                               for local clients too, and a rule
#                               TEST_TAG_ME: Subject "tag me" scores 5, so
#                               such a message gets add header); returns once it
#                               listens (about 20 s)
#   sc_silent_peer PORT         a TCP peer that accepts and never says a word
#   sc_greeting_peer PORT TEXT  a TCP peer that sends TEXT (a Python string
#                               literal: "554 no\r\n") on every connection
#   sc_test_ca                  a test CA and a server certificate for
#                               tls-proxy.test.example and 127.0.0.1 in
#                               $H_TMP/tls (ca.pem, server.pem, server.key)
#   sc_tls_proxy PORT [notls]   tests/lib/tls-proxy.py on PORT: an SMTP
#                               scanner stand-in with STARTTLS (unless
#                               notls) relaying to $SC_RECEIVER_PORT with an
#                               X-TLS-Proxy header (the TLS version or none)
#   sc_eicar / sc_gtube         print the test strings
#   sc_contrib_policy NAME      contrib/policies/NAME.yaml copied with its
#                               workdir moved to $H_TMP/work; prints the path
#   sc_quarantined QUEUE        messages stored in $H_TMP/work/QUEUE/new
#   sc_now / sc_ms T0 T1        a time stamp / milliseconds between two
#
# Variables: SC_RECEIVER_PORT (10025, stagemilter's receiver.listen in the
# test policies), SC_CLAMSMTP_PORT (10026), SC_SPAMPD_PORT (10030),
# SC_CLAMD_SOCK.

SC_RECEIVER_PORT=${SC_RECEIVER_PORT:-10025}
SC_CLAMSMTP_PORT=${SC_CLAMSMTP_PORT:-10026}
SC_SPAMPD_PORT=${SC_SPAMPD_PORT:-10030}
SC_SPAMD_PORT=${SC_SPAMD_PORT:-7830}
SC_RSPAMD_PORT=${SC_RSPAMD_PORT:-11333}
SC_CLAMD_SOCK=

# The EICAR anti-virus test string.
sc_eicar() {
    printf '%s\n' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
}

# The GTUBE anti-spam test string.
sc_gtube() {
    printf '%s\n' 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
}

# clamd with a one-line EICAR database (a body signature).
sc_clamd_start() {
    h_need clamd
    local d=$H_TMP/clam
    SC_CLAMD_SOCK=$d/clamd.sock
    [ -S "$SC_CLAMD_SOCK" ] && h_alive clamd && return 0
    mkdir -p "$d/db" "$d/tmp"
    # A body signature: the hex of the EICAR test string's middle part.
    printf 'Eicar-Test-Signature:0:*:%s\n' \
        "$(printf 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' | od -An -tx1 | tr -d ' \n')" \
        >"$d/db/eicar.ndb"
    cat >"$d/clamd.conf" <<EOF
LocalSocket $SC_CLAMD_SOCK
DatabaseDirectory $d/db
Foreground yes
LogFile $d/clamd.log
User root
MaxThreads 20
EOF
    h_daemon clamd clamd -c "$d/clamd.conf"
    h_wait 20 test -S "$SC_CLAMD_SOCK" || h_die "clamd did not start" "$(cat "$H_TMP/clamd.log")"
}

# clamsmtpd in front of clamd.
sc_clamsmtpd_start() {
    local action=$1 port=${2:-$SC_CLAMSMTP_PORT} out=${3:-$SC_RECEIVER_PORT}
    h_need clamsmtpd
    sc_clamd_start
    local d=$H_TMP/clam
    cat >"$d/clamsmtpd-$port.conf" <<EOF
OutAddress: 127.0.0.1:$out
Listen: 127.0.0.1:$port
ClamAddress: $SC_CLAMD_SOCK
TempDirectory: ${SC_CLAMSMTPD_TMP:-$d/tmp}
Action: $action
MaxConnections: 128
EOF
    # -d: stay in the foreground, log to stderr (level 3 logs every command;
    # the bench asks for less with SC_CLAMSMTPD_DEBUG=1).
    h_daemon "clamsmtpd-$port" clamsmtpd -d "${SC_CLAMSMTPD_DEBUG:-3}" -f "$d/clamsmtpd-$port.conf" -p "$d/clamsmtpd-$port.pid"
    h_wait_port "$port" 10 || h_die "clamsmtpd does not listen on $port" \
        "$(cat "$H_TMP/clamsmtpd-$port.log")"
}

# Stop clamsmtpd (to restart it with another Action).
sc_clamsmtpd_stop() {
    local port=${1:-$SC_CLAMSMTP_PORT}
    h_stop "clamsmtpd-$port" 3
    h_wait 10 bash -c "! ss -Hltn 'sport = :$port' | grep -q ."
}

# spamd, SpamAssassin with its shipped defaults, local tests only.
sc_spamd_start() {
    local port=${1:-$SC_SPAMD_PORT} d=$H_TMP/spamd-${1:-$SC_SPAMD_PORT}
    h_need spamd /usr/bin/python3
    mkdir -p "$d"
    chmod 777 "$d"
    h_daemon "spamd-$port" spamd --listen="127.0.0.1:$port" --allowed-ips=127.0.0.1 --local \
        --nouser-config --username=debian-spamd --groupname=debian-spamd \
        --helper-home-dir="$d" --pidfile="$d/spamd.pid" --syslog=stderr --max-children=2 \
        --cf='use_bayes 0'
    h_wait 60 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"PING SPAMC/1.5\r\n\r\n")
sys.exit(0 if b"PONG" in s.recv(100) else 1)' "$port" 2>/dev/null ||
        h_die "spamd does not answer PING on $port" "$(tail -n 20 "$H_TMP/spamd-$port.log")"
}

# rspamd as a private instance with its own configuration directory.
sc_rspamd_start() {
    local d=$H_TMP/rspamd
    h_need rspamd
    rm -rf "$d"
    mkdir -p "$d/db" "$d/run" "$d/log"
    cp -a /etc/rspamd "$d/conf"
    chown -R _rspamd:_rspamd "$d/db" "$d/run" "$d/log"
    printf 'bind_socket = "127.0.0.1:%s";\n' "$SC_RSPAMD_PORT" >"$d/conf/override.d/worker-normal.inc"
    printf 'bind_socket = "127.0.0.1:%s";\n' "$((SC_RSPAMD_PORT + 1))" \
        >"$d/conf/override.d/worker-controller.inc"
    if [ -n "${SC_RSPAMD_MILTER_PORT:-}" ]; then
        # rspamd's own milter mode: the proxy worker speaks milter and asks
        # the normal worker above (tests/bench/run's rspamd-milter case).
        printf 'bind_socket = "127.0.0.1:%s";\nmilter = yes;\ntimeout = 120s;\ncount = 1;\nupstream "local" {\n  default = yes;\n  hosts = "127.0.0.1:%s";\n}\n' \
            "$SC_RSPAMD_MILTER_PORT" "$SC_RSPAMD_PORT" >"$d/conf/override.d/worker-proxy.inc"
    else
        echo 'enabled = false;' >"$d/conf/override.d/worker-proxy.inc"
    fi
    echo 'enabled = false;' >"$d/conf/override.d/worker-fuzzy.inc"
    printf 'type = "file";\nfilename = "%s";\nlevel = "info";\n' "$d/log/rspamd.log" \
        >"$d/conf/override.d/logging.inc"
    # Nothing answers on port 53 here: fail at once instead of waiting.
    echo 'dns { nameserver = ["127.0.0.1:53"]; timeout = 0.1s; retransmits = 1; }' \
        >"$d/conf/local.d/options.inc"
    printf 'add_header = 3;\nreject = 15;\ngreylist = null;\nrewrite_subject = null;\n' \
        >"$d/conf/local.d/actions.conf"
    # A rule of the test's own: Subject "tag me" scores 5 (add header).
    printf '/tag me/i\n' >"$d/conf/local.d/tagme.map"
    printf 'TEST_TAG_ME {\n  type = "header";\n  header = "Subject";\n  regexp = true;\n  map = "%s";\n  score = 5.0;\n}\n' \
        "$d/conf/local.d/tagme.map" >"$d/conf/local.d/multimap.conf"
    printf 'use = ["x-spamd-bar", "x-spam-status"];\nskip_local = false;\nskip_authenticated = false;\n' \
        >"$d/conf/local.d/milter_headers.conf"
    h_daemon rspamd rspamd -f -u _rspamd -g _rspamd -c "$d/conf/rspamd.conf" \
        --var=CONFDIR="$d/conf" --var=LOCAL_CONFDIR="$d/conf" --var=DBDIR="$d/db" \
        --var=RUNDIR="$d/run" --var=LOGDIR="$d/log"
    h_wait_port "$SC_RSPAMD_PORT" 90 || h_die "rspamd does not listen on $SC_RSPAMD_PORT" \
        "$(tail -n 30 "$d/log/rspamd.log" "$H_TMP/rspamd.log" 2>/dev/null)"
    [ -z "${SC_RSPAMD_MILTER_PORT:-}" ] || h_wait_port "$SC_RSPAMD_MILTER_PORT" 30 ||
        h_die "rspamd's milter does not listen on $SC_RSPAMD_MILTER_PORT" \
            "$(tail -n 30 "$d/log/rspamd.log" 2>/dev/null)"
}

# spampd, SpamAssassin with its shipped defaults, local tests only.
sc_spampd_start() {
    local port=${1:-$SC_SPAMPD_PORT} relay=${2:-$SC_RECEIVER_PORT}
    h_need spampd /usr/bin/python3
    # spampd logs only to syslog: give it a UDP listener on loopback.
    h_alive sc-syslog || h_daemon sc-syslog /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 514))
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$H_TMP/spampd-syslog.txt"
    # A private SpamAssassin home: --homedir dies under taint mode.
    if [ ! -d "$H_TMP/spampd-home" ]; then
        mkdir -p "$H_TMP/spampd-home"
        chown mail:mail "$H_TMP/spampd-home"
        mount --bind "$H_TMP/spampd-home" /var/cache/spampd ||
            h_die "cannot bind-mount /var/cache/spampd"
    fi
    h_daemon "spampd-$port" spampd --nodetach --host=127.0.0.1:"$port" \
        --relayhost=127.0.0.1:"$relay" --local-only --tagall --logsock=inet --children=2 \
        --pid="$H_TMP/spampd-$port.pid"
    h_wait_port "$port" 30 || h_die "spampd does not listen on $port" \
        "$(cat "$H_TMP/spampd-$port.log")"
}

# A peer that accepts connections and never says a word.
sc_silent_peer() {
    h_daemon "silent-$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
' "$1"
    h_wait_port "$1" 10 || h_die "the silent peer does not listen on $1"
}

# A peer that greets every connection with a fixed (hostile) text.
sc_greeting_peer() {
    h_daemon "greeting-$1" /usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
text = eval(sys.argv[2]).encode()
held = []
while True:
    c, _ = s.accept()
    c.sendall(text)
    held.append(c)
' "$1" "$2"
    h_wait_port "$1" 10 || h_die "the greeting peer does not listen on $1"
}

# Copy contrib/policies/NAME.yaml into $H_TMP with its workdir moved to
# $H_TMP/work (what is documented is what is tested); print the copy's path.
sc_contrib_policy() {
    local src=$H_TOP/contrib/policies/$1.yaml dst=$H_TMP/$1.yaml
    [ -f "$src" ] || h_die "no policy $src"
    mkdir -p "$H_TMP/work"
    sed "s|/var/lib/stagemilter|$H_TMP/work|" "$src" >"$dst"
    grep -q "workdir: $H_TMP/work" "$dst" || h_die "$src has no workdir to move"
    echo "$dst"
}

# Number of messages quarantined in $H_TMP/work/QUEUE.
sc_quarantined() {
    find "$H_TMP/work/$1/new" -type f 2>/dev/null | wc -l
}

# Seconds since the epoch, with nanoseconds.
sc_now() {
    date +%s.%N
}

# Whole milliseconds from $1 to $2 (sc_now values).
sc_ms() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
}

# A test CA and a server certificate signed by it.
sc_test_ca() {
    h_need openssl
    local t=$H_TMP/tls
    [ -f "$t/server.pem" ] && return 0
    mkdir -p "$t"
    (
        cd "$t" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Test CA" \
            -keyout ca.key -out ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=tls-proxy.test.example" \
            -keyout server.key -out server.csr
        printf 'subjectAltName=DNS:tls-proxy.test.example,IP:127.0.0.1\n' >ext.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext.cnf -out server.pem
    ) >"$H_TMP/openssl.log" 2>&1 || h_die "openssl could not make the test certificates" \
        "$(cat "$H_TMP/openssl.log")"
}

# The STARTTLS scanner stand-in on PORT.
sc_tls_proxy() {
    h_need /usr/bin/python3
    sc_test_ca
    h_daemon "tls-proxy-$1" /usr/bin/python3 "$H_TOP/tests/lib/tls-proxy.py" "$1" \
        "$SC_RECEIVER_PORT" "$H_TMP/tls/server.pem" "$H_TMP/tls/server.key" ${2:-}
    h_wait_port "$1" 10 || h_die "tls-proxy.py does not listen on $1" \
        "$(cat "$H_TMP/tls-proxy-$1.log")"
}
