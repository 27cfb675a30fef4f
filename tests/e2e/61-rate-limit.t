#!/bin/bash
# tests/e2e/61-rate-limit.t - rate: in the default LMDB store: three
# messages an hour are accepted, the fourth and fifth get the policy's 451
# with ${rate}; at rcpt one count per recipient refuses the third
# recipient of a message; 20 sessions in parallel on one key count exactly
# 20 (--state list).
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 9

mta_install
sock=inet:$MILTER_PORT@127.0.0.1
policy=$(h_policy rate-limit)
h_stagemilter_start "$policy" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

for i in 1 2 3; do
    h_swaks "ok$i" --from burst@sender.test --to bob@rcpt.test --body "message $i"
    codes="${codes:-}$(h_reply "$H_SWAKS_OUT" . | cut -c1-3) "
done
h_is "$codes" "250 250 250 " "the first three messages are accepted"
h_swaks over4 --from burst@sender.test --to bob@rcpt.test --body "message 4"
h_like "$(h_reply "$H_SWAKS_OUT" 'MAIL FROM:')" \
    '^451 4\.7\.1 (<[^>]*>\.\.\. )?Too many messages from 127\.0\.0\.1 \(4 in an hour\)$' \
    "the fourth gets the policy's 451 with the count"
h_swaks over5 --from burst@sender.test --to bob@rcpt.test --body "message 5"
h_like "$(h_reply "$H_SWAKS_OUT" 'MAIL FROM:')" 'Too many messages from 127\.0\.0\.1 \(5 in an hour\)' \
    "refused messages count too: the fifth is number 5"
h_ok "exactly three are delivered" h_wait_delivered 3
h_file_like "$(h_stagemilter_log)" 'stage=mail rule="three messages an hour" verdict=defer code=451' \
    "the log names the rule"

# At rcpt, one count per recipient.
h_swaks fan --from fan@sender.test --to a@rcpt.test,b@rcpt.test,c@rcpt.test --body "fan out"
h_is "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:<a@rcpt.test>' | cut -c1-3) $(h_reply "$H_SWAKS_OUT" 'RCPT TO:<b@rcpt.test>' | cut -c1-3)" \
    "250 250" "the first two recipients are accepted"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:<c@rcpt.test>')" \
    '^452 4\.5\.3 (<[^>]*>\.\.\. )?Too many recipients \(3\)$' "the third is refused with the count"

# 20 sessions at once on one key: MAIL FROM reaches the milter in parallel.
pids=
for i in $(seq 1 20); do
    swaks --server "127.0.0.1:$MTA_PORT" --helo client.test.example --timeout 60 \
        --from "par$i@sender.test" --to bob@rcpt.test --body "parallel $i" \
        >"$H_TMP/par-$i.txt" 2>&1 &
    pids="$pids $!"
done
# shellcheck disable=SC2086 # the daemons run in the background too: wait for the clients only
wait $pids
accepted=$(grep -l '^<-  250 .*queued\|^<-  250 2\.0\.0' "$H_TMP"/par-*.txt | wc -l)
h_is "$accepted" 20 "the 20 parallel messages are accepted"
h_like "$("$STAGEMILTER" --state list 'rate:parallel' -c "$policy" 2>&1)" \
    '^rate:parallel count=20 per=3600000ms expires=' "the count of the shared key is exactly 20"
