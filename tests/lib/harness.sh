# tests/lib/harness.sh - shared shell library of the end-to-end tests (bash).
#
# A test (tests/e2e/*.t, tests/bench/...) starts with
#
#     . "$(dirname "$0")/../lib/harness.sh"
#     h_setup "$@"          # re-exec in private namespaces, temp dir, MTA file
#     h_plan 4
#     ...
#
# and runs as root. Everything happens inside `unshare -n -u -m`: only a
# loopback interface exists (ports never clash, nothing leaves the machine,
# DNS fails at once), the host name is host.test.example, and mounts are
# private. Each test has its own directory $H_TMP (removed on success, kept
# and named on failure or with H_KEEP=1). Daemons are started with setsid and
# stopped by process group; at exit every process left in the test's network
# namespace is killed. A missing component (postfix, swaks, smtp-sink,
# stagemilter, ...) FAILS the test; nothing here ever skips.
#
# MTA interface. The MTA is chosen by $MTA (default postfix); its file
# tests/lib/mta_$MTA.sh defines, with the same meaning for every MTA:
#
#   mta_install             ensure the MTA is there (fail loudly, never skip)
#   mta_start MILTER SINK_PORT
#                           MILTER: "inet:PORT@127.0.0.1" | "unix:/path" | ""
#                           (none, libmilter syntax). Listen on
#                           127.0.0.1:$MTA_PORT, relay everything to
#                           [127.0.0.1]:SINK_PORT; milter unreachable =>
#                           tempfail; send the macros stagemilter uses
#                           ({client_addr} {client_port} {client_name}
#                           {daemon_addr} {daemon_port} {auth_authen} i j ...);
#                           generous milter timeouts. Returns once it accepts
#                           connections; non-zero (with a diagnostic) if not.
#                           Optional switches from the environment:
#                             MTA_TLS=1  offer STARTTLS (throw-away
#                                        certificate for host.test.example)
#                             MTA_AUTH_USER=U MTA_AUTH_PASS=P  offer SMTP
#                                        AUTH PLAIN and LOGIN for user U
#                                        (implies MTA_TLS)
#   mta_stop                stop it and everything it started
#   mta_log                 print the path of the MTA's log
#   mta_held_count          messages in the hold/quarantine queue
#   mta_queue_count         messages still queued (not counting held ones)
#   mta_flush               try delivery of queued mail now
#   mta_release QID         release message QID from the hold/quarantine
#                           queue (it is then queued for delivery)
#   mta_sendmail_path       path of an executable that submits mail to this
#                           instance like sendmail(1) (not through its milters)
#   mta_queue_id REPLY      the queue id in the MTA's reply to the final dot
#   mta_logged QID KEY      what the MTA logged of the SMTP session in which
#                           message QID was received (empty if nothing):
#                             client_name  the client's name as the MTA has it
#                             auth         the SASL user it authenticated
#                             tls          the TLS protocol version (TLSv1.3)
#   mta_expect KEY          print an extended regex for an MTA-specific fact:
#                             milter_down  reply to MAIL FROM when the milter
#                                          is unreachable (e.g. "^451 4\.7\.1")
#                             connect_reject  the client's banner/first reply
#                                          when the milter rejects at connect
#                             queue_id_at_mail  "yes" if macro i (the queue
#                                          id) is sent at MAIL FROM, "no" if
#                                          only once a recipient is accepted
#
# MTA files use $H_TMP for their state and may use every h_* function below.
#
# Library functions (all prefixed h_):
#   h_setup "$@"            namespaces, $H_TMP, cleanup trap, source MTA file
#   h_plan N                print the TAP plan
#   h_ok DESC CMD...        ok if CMD succeeds
#   h_is GOT WANT DESC      ok if equal
#   h_like GOT ERE DESC     ok if GOT matches the extended regex
#   h_unlike GOT ERE DESC
#   h_file_like FILE ERE DESC   ok if some line of FILE matches (grep -E)
#   h_file_unlike FILE ERE DESC
#   h_pass DESC / h_fail DESC [DIAG...] / h_diag TEXT...
#   h_die TEXT              report a broken test bed as a failure and exit
#   h_need CMD...           die unless every command exists
#   h_daemon NAME CMD...    start CMD with setsid, output in $H_TMP/NAME.log
#   h_stop NAME [SECONDS]   TERM its process group, then KILL after SECONDS
#   h_kill NAME             KILL its process group at once
#   h_alive NAME            is it running?
#   h_running PID           is that process running (zombies do not count)?
#   h_wait SECONDS CMD...   poll CMD every 0.1 s until it succeeds
#   h_wait_port PORT [SECONDS]  until something listens on 127.0.0.1:PORT
#   h_tls_cert DIR          throw-away self-signed certificate for
#                           host.test.example: DIR/cert.pem, DIR/key.pem
#   h_sink_start [PORT]     smtp-sink writing one file per message to $H_SINK
#   h_sink_count / h_sink_files   messages at the sink / their paths
#   h_wait_delivered N [SECONDS]  until the MTA queue is empty and N are at the sink
#   h_swaks NAME ARGS...    run swaks against the MTA; transcript in
#                           $H_TMP/swaks-NAME.txt (path also in $H_SWAKS_OUT)
#   h_reply FILE CMD        the final reply line to CMD in a swaks transcript
#                           (CMD: "banner", "EHLO", "MAIL FROM", "RCPT TO:<x@y>",
#                           "DATA", "." for the end of message)
#   h_sent_data FILE        the message (header and body) of a swaks transcript
#   h_intact TRANSCRIPT SINKFILE  the sink holds that message unchanged
#                           (whatever the MTA put above it aside)
#   h_policy NAME           copy tests/e2e/policies/NAME.yaml to $H_TMP with
#                           @WORKDIR@ replaced; print the copy's path
#   h_stagemilter_start POLICY SOCKET   start ./stagemilter -f on SOCKET
#                           (libmilter syntax), wait until it listens
#   h_stagemilter_log       path of its log (stderr)
#
# Variables: H_TOP (source tree), H_TMP, MTA, MTA_PORT (2525), SINK_PORT
# (2626), MILTER_PORT (8891), H_SINK (sink directory), STAGEMILTER (binary).
# From the environment: H_KEEP=1 keeps $H_TMP; H_WRAPPER runs stagemilter
# under a command, e.g. H_WRAPPER="valgrind --error-exitcode=1"; H_DEBUG=1
# names what the final sweep had to kill.

H_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MTA=${MTA:-postfix}
MTA_PORT=${MTA_PORT:-2525}
SINK_PORT=${SINK_PORT:-2626}
MILTER_PORT=${MILTER_PORT:-8891}
STAGEMILTER=${STAGEMILTER:-$H_TOP/stagemilter}
H_N=0
H_FAILED=0
H_PLAN=
declare -A H_PIDS=()

# ---------------------------------------------------------------- TAP

# Print the plan.
h_plan() {
    H_PLAN=$1
    echo "1..$1"
}

# Print diagnostics, one "# " line per input line.
h_diag() {
    printf '%s\n' "$@" | sed 's/^/# /' >&2
}

# One passing test point.
h_pass() {
    H_N=$((H_N + 1))
    echo "ok $H_N - $1"
}

# One failing test point, with optional diagnostics.
h_fail() {
    H_N=$((H_N + 1))
    H_FAILED=$((H_FAILED + 1))
    echo "not ok $H_N - $1"
    shift
    [ $# -gt 0 ] && h_diag "$@"
    return 0
}

# ok if the command succeeds.
h_ok() {
    local desc=$1
    shift
    local out
    if out=$("$@" 2>&1); then
        h_pass "$desc"
    else
        h_fail "$desc" "command failed: $*" "$out"
    fi
}

# ok if GOT equals WANT.
h_is() {
    if [ "$1" = "$2" ]; then
        h_pass "$3"
    else
        h_fail "$3" "got:      '$1'" "expected: '$2'"
    fi
}

# ok if GOT matches the extended regex.
h_like() {
    if [[ $1 =~ $2 ]]; then
        h_pass "$3"
    else
        h_fail "$3" "got:      '$1'" "expected: /$2/"
    fi
}

# ok if GOT does not match the extended regex.
h_unlike() {
    if [[ $1 =~ $2 ]]; then
        h_fail "$3" "got:      '$1'" "expected no match of /$2/"
    else
        h_pass "$3"
    fi
}

# ok if a line of FILE matches the extended regex.
h_file_like() {
    if [ -f "$1" ] && grep -E -q -- "$2" "$1"; then
        h_pass "$3"
    else
        h_fail "$3" "file $1 has no line matching /$2/" "--- last lines of $1:" \
            "$(tail -n 15 "$1" 2>&1)"
    fi
}

# ok if no line of FILE matches the extended regex (FILE must exist).
h_file_unlike() {
    if [ ! -f "$1" ]; then
        h_fail "$3" "file $1 does not exist"
    elif grep -E -q -- "$2" "$1"; then
        h_fail "$3" "file $1 has lines matching /$2/:" "$(grep -E -- "$2" "$1" | head -n 5)"
    else
        h_pass "$3"
    fi
}

# The test bed is broken (missing component, daemon that will not start):
# report a failure that prove shows, and stop the test.
h_die() {
    [ -z "$H_PLAN" ] && h_plan 1
    h_fail "test bed: $1" "${@:2}"
    exit 1
}

# Die unless every named command exists.
h_need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] ||
            h_die "$c is not installed (run contrib/install-deps.sh)"
    done
}

# ---------------------------------------------------------------- set-up

# Re-execute the calling script inside private namespaces (once), then make
# the test's directory, the exit trap, and load the MTA file.
h_setup() {
    if [ "${H_IN_NS:-}" != "$$" ]; then
        [ "$(id -u)" = 0 ] || h_die "end-to-end tests run as root"
        h_need unshare ip
        export H_IN_NS=$$
        # exec keeps our pid, so H_IN_NS identifies the re-executed shell.
        exec unshare -n -u -m -- /bin/bash "$0" "$@"
    fi
    ip link set lo up || h_die "cannot bring up lo in the private network namespace"
    hostname host.test.example || h_die "cannot set the host name in the private UTS namespace"
    H_TMP=$(mktemp -d "${TMPDIR:-/tmp}/stagemilter-test.XXXXXX") || h_die "mktemp failed"
    # Postfix's unprivileged daemons must reach sockets and files under it.
    chmod 755 "$H_TMP"
    H_SINK=$H_TMP/sink
    trap h_cleanup EXIT
    trap 'exit 130' INT TERM
    local f=$H_TOP/tests/lib/mta_$MTA.sh
    [ -f "$f" ] || h_die "no MTA file $f for MTA=$MTA"
    # shellcheck disable=SC1090
    . "$f"
}

# At exit: stop the MTA and our daemons, sweep the namespace, report, and
# remove the test's directory unless something failed.
h_cleanup() {
    local rc=$?
    trap - EXIT
    declare -F mta_stop >/dev/null && mta_stop >/dev/null 2>&1
    local name
    for name in "${!H_PIDS[@]}"; do
        h_stop "$name" 3 >/dev/null 2>&1
    done
    h_sweep
    if [ -n "$H_PLAN" ] && [ "$H_N" != "$H_PLAN" ]; then
        h_diag "planned $H_PLAN tests but ran $H_N"
        rc=1
    fi
    [ "$H_FAILED" -gt 0 ] && rc=1
    if [ "$rc" != 0 ] || [ -n "${H_KEEP:-}" ]; then
        [ "$rc" != 0 ] && h_dump_logs
        h_diag "test directory kept: $H_TMP"
    else
        rm -rf "$H_TMP"
    fi
    exit "$rc"
}

# On failure, show the end of each log the test produced.
h_dump_logs() {
    local f
    for f in "$H_TMP"/*.log "$(declare -F mta_log >/dev/null && mta_log)"; do
        [ -f "$f" ] || continue
        h_diag "--- last lines of $f:" "$(tail -n 25 "$f")"
    done
}

# Kill every process left in this test's network namespace except ourselves.
# Only ever runs inside the private namespace made by h_setup.
h_sweep() {
    [ "${H_IN_NS:-}" = "$$" ] || return 0
    local d pid left sig
    [ /proc/$$/ns/net -ef /proc/1/ns/net ] && return 0 # never outside our namespace
    for sig in TERM KILL; do
        left=0
        for d in /proc/[0-9]*; do
            pid=${d#/proc/}
            [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
            # -ef compares the namespace inodes, without a fork per process
            [ "$d/ns/net" -ef /proc/$$/ns/net ] || continue
            kill -"$sig" "$pid" 2>/dev/null && left=1 &&
                [ -n "${H_DEBUG:-}" ] && h_diag "sweep: $sig $pid $(tr "\0" " " <"$d/cmdline" 2>/dev/null)"
        done
        [ "$left" = 0 ] && break
        sleep 0.5
    done
}

# ---------------------------------------------------------------- processes

# Is process PID running (a zombie that nobody reaped yet does not count)?
h_running() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Is PID a plausible daemon pid (a number above 1)? Guards every kill of a
# process group: "kill -- -0" would signal our own group.
h_pid_ok() {
    [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 1 ] && [ "$1" != "$$" ]
}

# Start a daemon in its own session; stdout+stderr to $H_TMP/NAME.log.
h_daemon() {
    local name=$1
    shift
    setsid "$@" >>"$H_TMP/$name.log" 2>&1 </dev/null &
    H_PIDS[$name]=$!
    # Until the child has called setsid(), there is no process group to
    # signal: wait for it (or for its death), so h_alive/h_stop are exact.
    local i pgrp
    for ((i = 0; i < 50; i++)); do
        pgrp=$(sed 's/.*) //' "/proc/$!/stat" 2>/dev/null | awk '{print $3}')
        [ -z "$pgrp" ] || [ "$pgrp" = "$!" ] && break
        sleep 0.02
    done
}

# Is the daemon's process group still there?
h_alive() {
    local pid=${H_PIDS[$1]:-}
    h_pid_ok "$pid" && { h_running "$pid" || kill -0 -- "-$pid" 2>/dev/null; }
}

# TERM the daemon's process group; KILL it after SECONDS (default 10).
h_stop() {
    local name=$1 secs=${2:-10} pid=${H_PIDS[$1]:-} i
    h_pid_ok "$pid" || return 0
    kill -TERM -- "-$pid" 2>/dev/null
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "H_PIDS[$name]"
    return 0
}

# KILL the daemon's process group at once (a crash, as far as others can tell).
h_kill() {
    local pid=${H_PIDS[$1]:-}
    h_pid_ok "$pid" || return 0
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "H_PIDS[$1]"
    return 0
}

# Poll CMD every 0.1 s for at most SECONDS; status of the last try.
h_wait() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# Does something listen on 127.0.0.1:PORT (TCP)?
h_listening() {
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# Wait until something listens on 127.0.0.1:PORT.
h_wait_port() {
    h_wait "${2:-15}" h_listening "$1"
}

# ---------------------------------------------------------------- sink

# Start smtp-sink on 127.0.0.1:PORT; each message becomes a file in $H_SINK.
h_sink_start() {
    local port=${1:-$SINK_PORT}
    h_need /usr/sbin/smtp-sink ss
    mkdir -p "$H_SINK"
    chown nobody "$H_SINK"
    # -d: one file per transaction, named by the template plus a random
    # hexadecimal suffix, so two messages in one second never collide.
    h_daemon sink /usr/sbin/smtp-sink -u nobody -d "$H_SINK/%H%M%S." "127.0.0.1:$port" 100
    h_wait_port "$port" 10 || h_die "smtp-sink does not listen on 127.0.0.1:$port" \
        "$(cat "$H_TMP/sink.log")"
}

# Paths of the messages at the sink, one a line, oldest first.
h_sink_files() {
    find "$H_SINK" -type f 2>/dev/null | sort
}

# Number of messages at the sink.
h_sink_count() {
    h_sink_files | grep -c .
}

# True once the MTA queue is empty and exactly N messages are at the sink.
h_delivered() {
    [ "$(mta_queue_count)" = 0 ] && [ "$(h_sink_count)" = "$1" ]
}

# Wait until the MTA queue is empty and N messages are at the sink; then give
# a late extra message a moment to show up, so "exactly N" means something.
h_wait_delivered() {
    h_wait "${2:-20}" h_delivered "$1" || return 1
    sleep 0.3
    h_delivered "$1"
}

# ---------------------------------------------------------------- TLS

# Make a throw-away self-signed certificate for host.test.example in DIR:
# DIR/cert.pem and DIR/key.pem (mode 600). Non-zero, with a diagnostic, if
# openssl fails.
h_tls_cert() {
    local dir=$1
    h_need openssl
    mkdir -p "$dir" && chmod 700 "$dir" || return 1
    if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj /CN=host.test.example -days 2 -keyout "$dir/key.pem" \
        -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1; then
        h_diag "openssl cannot make a certificate:" "$(cat "$dir/openssl.log")"
        return 1
    fi
    chmod 600 "$dir/key.pem"
}

# ---------------------------------------------------------------- client

# Run swaks against the MTA. The transcript goes to $H_TMP/swaks-NAME.txt,
# its path to $H_SWAKS_OUT, swaks's exit status to $H_SWAKS_RC.
h_swaks() {
    local name=$1
    shift
    h_need swaks
    H_SWAKS_OUT=$H_TMP/swaks-$name.txt
    swaks --server "127.0.0.1:$MTA_PORT" --helo client.test.example \
        --timeout 120 "$@" >"$H_SWAKS_OUT" 2>&1
    H_SWAKS_RC=$?
    return 0
}

# The final line of the server's reply to CMD in swaks transcript FILE
# ("banner" for the greeting, "." for the end of the message).
h_reply() {
    awk -v cmd="$2" '
        function server(l) { return l ~ /^<(-|~|\*\*) / }
        { sub(/\r$/, "") }
        cmd == "banner" && !started && server($0) { found = 1 }
        !server($0) && !/^===/ { started = 1 }
        found && server($0) {
            line = $0; sub(/^<[^ ]* +/, "", line)
            if (substr(line, 4, 1) != "-") { print line; exit }
            next
        }
        found && !server($0) { exit }
        {
            l = $0; sub(/^ *[-~*]*> /, "", l)
            if (cmd != "banner" && (l == cmd || (cmd != "." && index(l, cmd) == 1))) found = 1
        }' "$1"
}

# The message swaks sent (the lines between DATA's 354 and "."), as sent.
h_sent_data() {
    awk '
        /^<-  354 / { on = 1; next }
        on && /^ -> \.$/ { exit }
        on { sub(/^ -> /, ""); sub(/\r$/, ""); print }' "$1"
}

# Does the sink file FILE hold the message of swaks transcript TRANSCRIPT
# unchanged (every line, in order, nothing inserted after its first line)?
# Empty lines at the very end do not count (Sendmail drops one).
h_intact() {
    local sent got n
    sent=$(h_sent_data "$1") # $(...) drops the trailing empty lines
    n=$(printf '%s\n' "$sent" | wc -l)
    got=$(awk -v first="$(printf '%s\n' "$sent" | head -n 1)" \
        '$0 == first { on = 1 } on' "$2" | head -n "$n")
    [ -n "$sent" ] && [ "$sent" = "$got" ]
}

# ---------------------------------------------------------------- stagemilter

# Copy policy NAME (tests/e2e/policies/NAME.yaml) into $H_TMP, with @WORKDIR@
# replaced by $H_TMP/work; print the path of the copy.
h_policy() {
    local src=$H_TOP/tests/e2e/policies/$1.yaml dst=$H_TMP/$1.yaml
    [ -f "$src" ] || h_die "no policy $src"
    mkdir -p "$H_TMP/work"
    sed "s|@WORKDIR@|$H_TMP/work|g" "$src" >"$dst"
    echo "$dst"
}

# Path of stagemilter's log (its stderr in the foreground).
h_stagemilter_log() {
    echo "$H_TMP/stagemilter.log"
}

# Start stagemilter in the foreground on SOCKET (libmilter syntax) with
# POLICY; wait until it listens. Dies if it does not come up.
h_stagemilter_start() {
    local policy=$1 sock=$2 old i
    [ -x "$STAGEMILTER" ] || h_die "no stagemilter binary at $STAGEMILTER (run make)"
    old=$(umask)
    # The MTA's unprivileged smtpd must be able to write to a unix socket.
    umask 000
    # A stagemilter that refuses root without -u or --run-as-root gets the
    # latter: tests run it as root (it must read and write $H_TMP freely).
    local asroot=
    "$STAGEMILTER" --help 2>&1 | grep -q -e '--run-as-root' && asroot=--run-as-root
    # shellcheck disable=SC2086 # H_WRAPPER is a command line: split it
    h_daemon stagemilter ${H_WRAPPER:-} "$STAGEMILTER" -f -c "$policy" -p "$sock" $asroot
    umask "$old"
    for ((i = 0; i < 150; i++)); do
        h_alive stagemilter || break
        case $sock in
        unix:* | local:*) [ -S "${sock#*:}" ] && return 0 ;;
        inet:*) h_listening "$(echo "$sock" | sed 's/^inet:\([0-9]*\).*/\1/')" && return 0 ;;
        esac
        sleep 0.1
    done
    h_die "stagemilter did not come up on $sock" "$(cat "$(h_stagemilter_log)")"
}
