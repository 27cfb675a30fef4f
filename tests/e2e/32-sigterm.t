#!/bin/bash
# tests/e2e/32-sigterm.t - SIGTERM during traffic leaves no message without
# a reply: a message in its DATA phase when the signal comes is still
# judged by the stopping daemon (250, delivered); of a run of 200 messages
# every client gets 250 or a 4xx (never an error, a hang or a 5xx), and the
# sink holds exactly the 250s; the daemon exits 0 and removes its unix
# socket and pid file.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ops.sh"
h_setup "$@"
h_plan 11

mta_install
h_need /usr/bin/python3
run=$(ops_rundir)
ops_start "$(h_policy ops-accept)" "unix:$run/milter.sock" -u nobody -P "$run/stagemilter.pid"
h_sink_start
mta_start "unix:$run/milter.sock" "$SINK_PORT" || h_die "$MTA does not start"
pid=$(ops_pid)
h_is "$(cat "$run/stagemilter.pid" 2>/dev/null)" "$pid" "the pid file names the daemon"

# One message held in its DATA phase across the signal.
ops_client hold --to held@rcpt.test --go "$H_TMP/go" --ready "$H_TMP/ready" >"$H_TMP/hold.out" 2>&1 &
hold=$!
h_wait 20 test -f "$H_TMP/ready" || h_die "the holding client never reached DATA" "$(cat "$H_TMP/hold.out")"

progress_ge() { [ "$(cat "$H_TMP/progress" 2>/dev/null || echo 0)" -ge "$1" ]; }
ops_client load --count 200 --concurrency 5 --timeout 60 --progress "$H_TMP/progress" \
    --out "$H_TMP/load.out" >"$H_TMP/load.txt" 2>&1 &
load=$!
h_wait 30 progress_ge 30 || h_die "the load did not start" "$(cat "$H_TMP/load.txt")"
t0=$(date +%s)
kill -TERM "$pid"
ops_wait_log "stopping on SIGTERM" 10
# The daemon must still be there for the held message: release it now.
sleep 1
touch "$H_TMP/go"
wait "$hold"
h_like "$(cat "$H_TMP/hold.out")" '^250 ' "the message in its DATA phase at SIGTERM gets 250"
wait "$pid"
rc=$?
t1=$(date +%s)
h_is "$rc" 0 "the daemon exits with status 0"
h_ok "and stops within 20 s ($((t1 - t0)) s)" test $((t1 - t0)) -le 20
h_file_like "$(h_stagemilter_log)" "no message in flight; closing the milter socket" \
    "it closed the milter socket only once no message was in flight"
wait "$load"
summary=$(cat "$H_TMP/load.txt")
h_like "$summary" '^sent=200 ok=[0-9]+ temp=[0-9]+ perm=0 error=0$' \
    "every client got 250 or a 4xx ($summary)"
ok=$(echo "$summary" | sed 's/.* ok=\([0-9]*\).*/\1/')
temp=$(echo "$summary" | sed 's/.* temp=\([0-9]*\).*/\1/')
h_wait_delivered $((ok + 1)) 30
h_is "$(h_sink_count)" $((ok + 1)) "the sink holds every message that got 250 (and the held one)"
h_is "$((ok + temp))" 200 "none is lost: 250s + 4xx = 200 sent"
no_internal_error() { ! grep -q 'internal error' "$(h_stagemilter_log)"; }
h_ok "the drain's tempfails are not logged as internal errors" no_internal_error
h_ok "the unix socket is removed" test ! -e "$run/milter.sock"
h_ok "the pid file is removed" test ! -e "$run/stagemilter.pid"
