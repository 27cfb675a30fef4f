#!/bin/bash
# tests/e2e/36-reload-storm.t - a storm of SIGHUPs, many arriving while a
# slow reload runs, never stops the daemon: libmilter's own signal thread
# also waits for SIGHUP and stops the filter when it gets one, so a HUP
# that reaches it (because ours is busy reloading) would stop mail. Then
# mail still flows, and SIGTERM still stops it.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ops.sh"
h_setup "$@"
h_plan 5

mta_install
h_need /usr/bin/python3
run=$(ops_rundir)
policy=$(h_policy ops-storm)
awk 'BEGIN { for (i = 0; i < 300000; i++) printf "10.%d.%d.%d\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256 }' >"$H_TMP/big.txt"
ops_start "$policy" "unix:$run/milter.sock" -u nobody
h_sink_start
mta_start "unix:$run/milter.sock" "$SINK_PORT" || h_die "$MTA does not start"
pid=$(ops_pid)

sent=0
for i in $(seq 1 400); do
    kill -HUP "$pid" 2>/dev/null || break
    sent=$i
    sleep 0.01
done
h_is "$sent" 400 "400 SIGHUPs, 10 ms apart, were sent to a running daemon"
sleep 1
h_ok "the daemon is still running" h_running "$pid"
h_ok "and took several of them as reloads (signals arriving during one coalesce)" \
    test "$(ops_log_count 'reload: .* is in use for new connections')" -gt 1
h_like "$(ops_client load --count 3)" "ok=3 " "mail still flows"
kill -TERM "$pid"
h_wait 20 eval '! h_running "$pid"'
h_ok "SIGTERM still stops it" eval '! h_running "$pid"'
