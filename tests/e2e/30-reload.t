#!/bin/bash
# tests/e2e/30-reload.t - SIGHUP reloads the policy: the next message gets
# the new policy's verdict while a message already in its DATA phase (its
# connection opened before the reload) gets the old one; a broken policy is
# refused with FILE:LINE:COLUMN in the log and the one in use stays.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ops.sh"
h_setup "$@"
h_plan 11

mta_install
h_need /usr/bin/python3
run=$(ops_rundir)
policy=$H_TMP/policy.yaml
cp "$(h_policy reload-old)" "$policy"
ops_start "$policy" "unix:$run/milter.sock" -u nobody
h_sink_start
mta_start "unix:$run/milter.sock" "$SINK_PORT" || h_die "$MTA does not start"
pid=$(ops_pid)

h_like "$(ops_client load --count 1)" 'perm=1 ' "before the reload the old policy refuses"

# A message stopped in its DATA phase, its connection opened before SIGHUP.
ops_client hold --go "$H_TMP/go" --ready "$H_TMP/ready" >"$H_TMP/hold.out" 2>&1 &
hold=$!
h_wait 20 test -f "$H_TMP/ready" || h_die "the holding client never reached DATA" "$(cat "$H_TMP/hold.out")"

cp "$(h_policy reload-new)" "$policy"
kill -HUP "$pid"
ops_wait_log "reload: .*policy\.yaml is in use for new connections" 10
h_file_like "$(h_stagemilter_log)" "reload: .*policy\.yaml is in use for new connections" \
    "SIGHUP: the new policy is in use"
h_ok "SIGHUP does not stop the daemon" h_running "$pid"

ops_client load --count 1 --out "$H_TMP/after.txt" >/dev/null
h_file_like "$H_TMP/after.txt" '^0 451 451 4\.7\.1 new policy defers' \
    "the next message gets the new policy's verdict"

touch "$H_TMP/go"
wait "$hold"
h_like "$(cat "$H_TMP/hold.out")" '^550 5\.7\.1 old policy refuses' \
    "the message in its DATA phase during the reload gets the old policy's verdict"

# A broken policy: refused, named, and the one in use stays.
cp "$(h_policy reload-broken)" "$policy"
kill -HUP "$pid"
ops_wait_log "keeping the policy in use" 10
h_file_like "$(h_stagemilter_log)" "reload: [^ ]*policy\.yaml:6:29: deny needs a 5xx code" \
    "the broken policy's problem is logged as FILE:LINE:COLUMN"
h_file_like "$(h_stagemilter_log)" "reload: [^ ]*policy\.yaml is invalid \(1 error\); keeping the policy in use" \
    "and the daemon says it keeps the policy in use"
h_ok "a broken policy does not stop the daemon" h_running "$pid"
ops_client load --count 1 --out "$H_TMP/broken.txt" >/dev/null
h_file_like "$H_TMP/broken.txt" '^0 451 .*new policy defers' \
    "after the refused reload the last good policy still decides"

# Back to a good one: reloads still work after a refusal.
cp "$(h_policy reload-old)" "$policy"
kill -HUP "$pid"
ops_wait_count 'is in use for new connections' 2
ops_client load --count 1 --out "$H_TMP/again.txt" >/dev/null
h_file_like "$H_TMP/again.txt" '^0 550 .*old policy refuses' "a later good reload is taken"
h_is "$(h_sink_count)" 0 "no message reached the sink (every one was refused)"
