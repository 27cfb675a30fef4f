#!/bin/bash
# tests/e2e/74-amavis.t - amavisd-new (Debian package amavisd-new) as an
# SMTP delegation target, the classic Postfix content filter: the MTA,
# stagemilter running contrib/policies/amavis.yaml, a private amavisd-new
# on 127.0.0.1:10024 (tests/lib/amavis.sh: its own configuration, user
# amavis, virus checks through the test's clamd, no SpamAssassin, *.exe
# banned) forwarding to stagemilter's receiver.
#   clean mail                 delivered with amavisd's X-Virus-Scanned
#                              applied, without our ticket header
#   .exe, D_REJECT             amavisd answers 554 ... BANNED: `rejected`,
#                              the client gets the policy's 550 5.7.1 with
#                              amavisd's text, nothing delivered
#   .exe, D_DISCARD            amavisd answers 250 and forwards nothing:
#                              `dropped`, the client gets 250, stagemilter's
#                              copy is in the banned quarantine
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
. "$H_TOP/tests/lib/amavis.sh"
h_plan 18

mta_install
P=$(sc_contrib_policy amavis)
grep -q "tcp://127.0.0.1:$SC_AMAVIS_PORT" "$P" || h_die "the policy does not name amavisd's port"
sc_amavisd_start D_REJECT
alog=$H_TMP/amavis/amavis.log
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$P" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)

# An attachment named evil.exe (any bytes: amavisd bans it by its name).
printf 'MZ not really a program\n' >"$H_TMP/evil.bin"
banned() {
    h_swaks "$1" --from alice@sender.test --to bob@rcpt.test --h-Subject "$2" \
        --body "see attachment" --attach-type application/octet-stream \
        --attach-name evil.exe --attach "@$H_TMP/evil.bin"
}

# 1. Clean mail: through amavisd and back.
h_swaks clean --from alice@sender.test --to bob@rcpt.test --h-Subject "clean one" \
    --body "nothing to see here"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "clean: the client gets 250"
h_ok "clean: the message reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^X-Virus-Scanned: amavis at test\.example$' \
    "clean: amavisd's X-Virus-Scanned header is applied to the delivered copy"
h_is "$(grep -ci '^X-Stagemilter-Ticket' "$f")" 0 "clean: our ticket header is not"
h_file_like "$f" '^nothing to see here' "clean: with its body"
h_file_like "$log" "delegate service=amavis target=tcp://127\.0\.0\.1:$SC_AMAVIS_PORT tls=no result=returned code=250" \
    "clean: logged as returned, with amavisd's 250"
h_file_like "$alog" 'Passed CLEAN' "clean: amavisd says it passed it clean"

# 2. A banned attachment, $final_banned_destiny = D_REJECT.
banned reject "banned, reject"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^550 5\.7\.1 (.* )?Reject, id=[-0-9]+ - BANNED: .*evil\.exe$' \
    "reject: the client gets the policy's 550 5.7.1 with amavisd's text"
h_file_like "$log" 'delegate service=amavis .*result=rejected code=554' \
    "reject: the result is rejected, with amavisd's 554"
h_file_like "$log" 'rule="refused by amavisd" verdict=deny code=550' "reject: the policy's deny decided"
h_file_like "$alog" 'Blocked BANNED \(application/octet-stream,evil\.exe\)' \
    "reject: amavisd blocked it as banned"

# 3. The same, $final_banned_destiny = D_DISCARD: 250, nothing comes back.
sc_amavisd_stop
sc_amavisd_start D_DISCARD
banned discard "banned, discard"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "discard: the client gets 250 (quarantined)"
h_file_like "$log" 'delegate service=amavis .*result=dropped code=250' \
    "discard: the result is dropped, after amavisd's 250"
h_file_like "$log" 'rule="discarded by amavisd" verdict=quarantine' "discard: the policy's rule decided"
h_is "$(sc_quarantined banned)" 1 "discard: stagemilter's copy is in the banned quarantine"
h_file_like "$(find "$H_TMP/work/banned/new" -type f | head -n 1)" 'filename="?evil\.exe' \
    "discard: the stored copy is the one with evil.exe"

sleep 1
h_is "$(h_sink_count)" 1 "only the clean message reached the sink"
h_is "$(mta_queue_count)" 0 "nothing is left in the $MTA queue"
