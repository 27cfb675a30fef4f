#!/bin/bash
# tests/e2e/60-greylist-lmdb.t - greylisting in the default LMDB store: an
# unknown triplet gets 451 4.7.1 at RCPT, a retry before the delay 451
# again, a retry after it is delivered; the daemon restarts and the triplet
# is still known (delivered at once) while another recipient is greylisted;
# --state list shows the entries and --state delete forgets one.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 17

mta_install
sock=inet:$MILTER_PORT@127.0.0.1
policy=$(h_policy greylist-lmdb)
h_stagemilter_start "$policy" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
GREY_RE='^451 4\.7\.1 (<[^>]*>\.\.\. )?Greylisted, please try again later$'

h_swaks first --from alice@sender.test --to bob@rcpt.test --body "first try"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" "$GREY_RE" "an unknown triplet is greylisted (451 4.7.1)"
h_file_like "$(h_stagemilter_log)" 'stage=rcpt rule="greylist unknown triplets" verdict=greylist code=451' \
    "the log names the rule and the verdict"

h_swaks early --from alice@sender.test --to bob@rcpt.test --body "too early"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" "$GREY_RE" "a retry before the delay is greylisted again"
sleep 1
h_is "$(h_sink_count)" 0 "nothing is delivered while greylisted"

sleep 3
h_swaks later --from alice@sender.test --to bob@rcpt.test --body "after the delay"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" '^250 ' "a retry after the delay passes"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "and the message is accepted"
h_ok "it is delivered" h_wait_delivered 1

h_ok "the store is a file in the workdir" test -s "$H_TMP/work/state.mdb"
h_is "$(stat -c %a "$H_TMP/work/state.mdb")" 600 "readable by the daemon's user only"

# A restart: the triplet is remembered in the file.
h_stop stagemilter 10
h_stagemilter_start "$policy" "$sock"
h_swaks again --from alice@sender.test --to bob@rcpt.test --body "after a restart"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" '^250 ' "after a restart the triplet is still known"
h_ok "and delivered at once" h_wait_delivered 2
h_swaks other --from alice@sender.test --to carol@rcpt.test --body "another recipient"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" "$GREY_RE" "another recipient is greylisted"

# The administrator's view, while the daemon runs.
list=$("$STAGEMILTER" --state list -c "$policy" 2>&1)
h_like "$list" 'grey:127\.0\.0\.0/24/alice@sender\.test/bob@rcpt\.test passed first=' \
    "--state list shows the passed triplet"
h_like "$list" 'grey:127\.0\.0\.0/24/alice@sender\.test/carol@rcpt\.test pending first=' \
    "and the pending one"
h_like "$("$STAGEMILTER" --state delete 'grey:*/bob@rcpt.test' -c "$policy" 2>&1)" \
    'deleted grey:127\.0\.0\.0/24/alice@sender\.test/bob@rcpt\.test' "--state delete removes one"
h_swaks forgotten --from alice@sender.test --to bob@rcpt.test --body "forgotten"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:')" "$GREY_RE" "a deleted triplet is greylisted again"
h_is "$(h_sink_count)" 2 "exactly two messages were delivered"
