#!/bin/bash
# tests/e2e/62-redis-fleet.t - two stagemilter daemons behind two private
# MTA instances share one redis-server (started here on loopback): a
# triplet greylisted through the first passes through the second after the
# delay; the rate limit counts messages through both; 20 sessions at once,
# half through each, count exactly 20. Redis stopped: the daemon with
# state.on_failure: error answers 451 4.3.0 (milter.on_error), the one with
# continue lets mail through; Redis back: both serve again, not restarted.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 21

mta_install
h_need redis-server redis-cli
REDIS_PORT=6391
A_PORT=$MTA_PORT
B_PORT=$((MTA_PORT + 2))
mkdir -p "$H_TMP/redis"

redis_start() {
    h_daemon redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize no \
        --save "" --appendonly no --dir "$H_TMP/redis" --logfile ""
    h_wait_port "$REDIS_PORT" 10 || h_die "redis-server does not listen" "$(cat "$H_TMP/redis.log")"
}

# stagemilter NAME on inet PORT with POLICY; its log is $H_TMP/NAME.log.
sm_start() {
    local name=$1 port=$2 policy=$3
    # shellcheck disable=SC2086
    h_daemon "$name" ${H_WRAPPER:-} "$STAGEMILTER" -f -c "$policy" -p "inet:$port@127.0.0.1" --run-as-root
    h_wait_port "$port" 15 || h_die "stagemilter $name does not listen" "$(cat "$H_TMP/$name.log")"
}

# Run "$@" on the second MTA instance: its own directory and port. The MTA
# file keeps its state in variables set from $H_TMP when it is sourced.
on_b() {
    local save_tmp=$H_TMP save_port=$MTA_PORT rc
    local -A save_pids
    local k
    for k in "${!H_PIDS[@]}"; do save_pids[$k]=${H_PIDS[$k]}; done
    H_TMP=$save_tmp/b
    MTA_PORT=$B_PORT
    mkdir -p "$H_TMP"
    chmod 755 "$H_TMP"
    # shellcheck disable=SC1090
    . "$H_TOP/tests/lib/mta_$MTA.sh"
    "$@"
    rc=$?
    # Daemons the second instance started keep names of their own.
    for k in "${!H_PIDS[@]}"; do
        if [ "${save_pids[$k]:-}" != "${H_PIDS[$k]}" ]; then
            H_PIDS[b-$k]=${H_PIDS[$k]}
            if [ -n "${save_pids[$k]:-}" ]; then H_PIDS[$k]=${save_pids[$k]}; else unset "H_PIDS[$k]"; fi
        fi
    done
    H_TMP=$save_tmp
    MTA_PORT=$save_port
    # shellcheck disable=SC1090
    . "$H_TOP/tests/lib/mta_$MTA.sh"
    return $rc
}

# The final reply to CMD of a swaks run NAME through instance A or B.
via() {
    local inst=$1 name=$2
    shift 2
    if [ "$inst" = b ]; then MTA_PORT=$B_PORT h_swaks "$name" "$@"; else h_swaks "$name" "$@"; fi
}

redis_start
pa=$H_TMP/policy-a.yaml
pb=$H_TMP/policy-b.yaml
sed "s|@REDIS@|$REDIS_PORT|" "$(h_policy redis-fleet)" >"$pa"
sed 's|on_failure: error|on_failure: continue|' "$pa" >"$pb"
h_ok "--check opens the Redis store" "$STAGEMILTER" --check -c "$pa"
sm_start sm-a "$MILTER_PORT" "$pa"
sm_start sm-b "$((MILTER_PORT + 1))" "$pb"
h_sink_start
mta_start "inet:$MILTER_PORT@127.0.0.1" "$SINK_PORT" || h_die "$MTA A does not start"
on_b mta_start "inet:$((MILTER_PORT + 1))@127.0.0.1" "$SINK_PORT" || h_die "$MTA B does not start"
GREY_RE='^451 4\.7\.1 (<[^>]*>\.\.\. )?Greylisted, please try again later$'

# Greylisting learned through A passes through B.
via a grey-a --from grey@sender.test --to bob@rcpt.test --body "first try, through A"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" "$GREY_RE" "through A an unknown triplet is greylisted"
via b grey-b-early --from grey@sender.test --to bob@rcpt.test --body "too early, through B"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" "$GREY_RE" "through B a retry before the delay is greylisted"
sleep 2.5
via b grey-b --from grey@sender.test --to bob@rcpt.test --body "after the delay, through B"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" '^250 ' "through B the retry after the delay passes"
h_ok "and is delivered" h_wait_delivered 1

# The rate limit counts messages through both.
codes=
for inst in a b a; do
    via "$inst" "burst-$inst" --from burst@sender.test --to bob@rcpt.test --body "burst via $inst"
    codes="$codes$(h_reply "$H_SWAKS_OUT" . | cut -c1-3) "
done
h_is "$codes" "250 250 250 " "three messages, through A, B and A, are accepted"
via b burst-4 --from burst@sender.test --to bob@rcpt.test --body "the fourth"
h_like "$(h_reply "$H_SWAKS_OUT" 'MAIL FROM:')" \
    '^451 4\.7\.1 (<[^>]*>\.\.\. )?Too many messages \(4 in an hour\)$' "the fourth, through B, is refused: 4"
via a burst-5 --from burst@sender.test --to bob@rcpt.test --body "the fifth"
h_like "$(h_reply "$H_SWAKS_OUT" 'MAIL FROM:')" 'Too many messages \(5 in an hour\)' \
    "the fifth, through A, is number 5"
h_ok "four messages are delivered in all" h_wait_delivered 4

# 20 sessions at once, ten through each, on one key.
pids=
for i in $(seq 1 20); do
    port=$A_PORT
    [ $((i % 2)) = 0 ] && port=$B_PORT
    swaks --server "127.0.0.1:$port" --helo client.test.example --timeout 60 \
        --from "par$i@sender.test" --to bob@rcpt.test --body "parallel $i" \
        >"$H_TMP/par-$i.txt" 2>&1 &
    pids="$pids $!"
done
# shellcheck disable=SC2086 # wait for the clients, not for the daemons
wait $pids
h_is "$(grep -l '^<-  250 2\.0\.0\|^<-  250 .*queued' "$H_TMP"/par-*.txt | wc -l)" 20 \
    "the 20 parallel messages are accepted"
h_like "$("$STAGEMILTER" --state list 'rate:parallel' -c "$pa" 2>&1)" \
    '^rate:parallel count=20 per=3600000ms expires=' "the shared count is exactly 20"
h_ok "all 24 are delivered" h_wait_delivered 24

# Redis stops.
h_kill redis
via a down-a --from down@sender.test --to bob@rcpt.test --body "Redis is down, through A"
h_like "$(h_reply "$H_SWAKS_OUT" 'MAIL FROM:')" \
    '^451 4\.3\.0 (<[^>]*>\.\.\. )?Temporary local error, try again later$' \
    "on_failure error: the store failing is milter.on_error's 451 4.3.0"
h_file_like "$H_TMP/sm-a.log" 'rule="count every sender".*rule failed: rate: state store failed: redis 127\.0\.0\.1:'"$REDIS_PORT" \
    "the daemon logs why"
via b down-b --from greyer@sender.test --to bob@rcpt.test --body "Redis is down, through B"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' \
    "on_failure continue: the rate does not hold and greylisting passes"
h_ok "that message is delivered" h_wait_delivered 25
h_file_like "$H_TMP/sm-b.log" 'rule="count every sender".*state: rate key=every:greyer@sender\.test: store failed: .*\(state\.on_failure: continue\)' \
    "B logs the failure it let by"

# Redis comes back (empty: nothing was saved); nobody was restarted.
redis_start
via a back-a --from back@sender.test --to bob@rcpt.test --body "Redis is back, through A"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "Redis back: A serves again without a restart"
via b back-b --from grey3@sender.test --to bob@rcpt.test --body "greylisted again"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" "$GREY_RE" "and B greylists again"
h_file_like "$H_TMP/sm-a.log" "state: redis 127\.0\.0\.1:$REDIS_PORT is reachable again" \
    "A logs that Redis is back"
h_ok "A is the daemon started first (never restarted)" h_alive sm-a
