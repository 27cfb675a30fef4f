# tests/lib/ops.sh - helpers of the operations tests (tests/e2e/3*.t:
# reload, stop, privileges, statistics, quarantine release), sourced after
# tests/lib/harness.sh and h_setup.
#
#   ops_rundir              $H_TMP/run, owned by nobody: socket, pid file
#                           and statistics file of a daemon run with -u nobody
#   ops_start POLICY SOCKET ARGS...
#                           like h_stagemilter_start, with more options
#                           (-u nobody, -P, -s, --run-as-root ...)
#   ops_pid                 the daemon's pid
#   ops_client ARGS...      tests/lib/smtp_client.py against the MTA
#   ops_wait_log ERE [SECONDS]  until stagemilter's log has a matching line
#   ops_log_count ERE       how many lines of the log match
#   ops_wait_count ERE N [SECONDS]  until exactly N lines of the log match

# The directory a daemon running as nobody may write.
ops_rundir() {
    mkdir -p "$H_TMP/run"
    chown nobody "$H_TMP/run"
    chmod 755 "$H_TMP/run"
    echo "$H_TMP/run"
}

# Start stagemilter -f -c POLICY -p SOCKET ARGS...; wait until it listens.
ops_start() {
    local policy=$1 sock=$2 i
    shift 2
    [ -x "$STAGEMILTER" ] || h_die "no stagemilter binary at $STAGEMILTER (run make)"
    # shellcheck disable=SC2086 # H_WRAPPER is a command line: split it
    h_daemon stagemilter ${H_WRAPPER:-} "$STAGEMILTER" -f -c "$policy" -p "$sock" "$@"
    for ((i = 0; i < 150; i++)); do
        h_alive stagemilter || break
        case $sock in
        unix:*) [ -S "${sock#unix:}" ] && return 0 ;;
        inet:*) h_listening "$(echo "$sock" | sed 's/^inet:\([0-9]*\).*/\1/')" && return 0 ;;
        esac
        sleep 0.1
    done
    h_die "stagemilter did not come up on $sock" "$(cat "$(h_stagemilter_log)")"
}

# The daemon's pid.
ops_pid() {
    echo "${H_PIDS[stagemilter]}"
}

# The SMTP test client against the MTA.
ops_client() {
    local mode=$1
    shift
    /usr/bin/python3 "$H_TOP/tests/lib/smtp_client.py" "$mode" --port "$MTA_PORT" "$@"
}

# Wait until a line of stagemilter's log matches ERE.
ops_wait_log() {
    h_wait "${2:-10}" grep -Eq -- "$1" "$(h_stagemilter_log)"
}

# Lines of stagemilter's log matching ERE.
ops_log_count() {
    grep -Ec -- "$1" "$(h_stagemilter_log)"
}

# Wait until exactly N lines of stagemilter's log match ERE.
ops_log_count_is() {
    [ "$(ops_log_count "$1")" = "$2" ]
}
ops_wait_count() {
    h_wait "${3:-10}" ops_log_count_is "$1" "$2"
}
