#!/bin/bash
# tests/e2e/31-reload-load.t - 20 SIGHUPs during a run of 500 messages lose
# or fail none of them: every client gets 250 and the sink holds 500, some
# decided by each of the two policies the reloads alternate.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ops.sh"
h_setup "$@"
h_plan 7

mta_install
h_need /usr/bin/python3
run=$(ops_rundir)
policy=$H_TMP/policy.yaml
cp "$(h_policy reload-a)" "$policy"
ops_start "$policy" "unix:$run/milter.sock" -u nobody
h_sink_start
mta_start "unix:$run/milter.sock" "$SINK_PORT" || h_die "$MTA does not start"
pid=$(ops_pid)

pa=$(h_policy reload-a)
pb=$(h_policy reload-b)
progress_ge() { [ "$(cat "$H_TMP/progress" 2>/dev/null || echo 0)" -ge "$1" ]; }
# The client sends messages 400 to 499 only once $H_TMP/go exists, so the
# last SIGHUP certainly comes while the load is running, however fast or
# slow the machine is.
ops_client load --count 500 --concurrency 5 --progress "$H_TMP/progress" \
    --hold-from 400 --go "$H_TMP/go" --timeout 120 >"$H_TMP/load.txt" 2>&1 &
load=$!
# A SIGHUP after every 20 answered messages, alternating the policies: the
# 20th comes at 400, while 100 are still to be sent.
for i in $(seq 1 20); do
    h_wait 30 progress_ge $((i * 20)) || break
    if [ $((i % 2)) = 1 ]; then cp "$pb" "$policy"; else cp "$pa" "$policy"; fi
    kill -HUP "$pid"
done
# The reloads must hit traffic: the load is still running after the last one.
h_running "$load" && during=yes || during=no
touch "$H_TMP/go"
wait "$load"
h_like "$(cat "$H_TMP/load.txt")" '^sent=500 ok=500 temp=0 perm=0 error=0$' \
    "every one of the 500 clients got 250"
h_ok "the daemon survived 20 SIGHUPs" h_running "$pid"
ops_wait_count 'reload: .* is in use for new connections' 20
h_is "$(ops_log_count 'reload: .* is in use for new connections')" 20 "20 reloads were taken"
h_is "$during" yes "all 20 SIGHUPs came while the 500 messages were being sent"
h_wait_delivered 500 60
h_is "$(h_sink_count)" 500 "the sink holds all 500 messages"
a=$(grep -l '^X-Ops-Policy: a' $(h_sink_files) 2>/dev/null | wc -l)
b=$(grep -l '^X-Ops-Policy: b' $(h_sink_files) 2>/dev/null | wc -l)
h_is "$((a + b))" 500 "each carries the header of one policy"
h_ok "both policies decided some of them ($a by a, $b by b)" test "$a" -gt 0 -a "$b" -gt 0
