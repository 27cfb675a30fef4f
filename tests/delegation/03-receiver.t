#!/bin/bash
# tests/delegation/03-receiver.t - the receiver is not an open relay: a
# message sent straight to it with swaks gets 550 unless it carries the token
# of a pending delegation; tokens are single-use; the token is found in the
# body too (an attached original, as SpamAssassin's report_safe makes);
# oversized messages get 552; nothing refused is kept.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 15
h_need swaks

P=$H_TMP/policy.yaml
dg_policy "$P" '  any:
    targets: ["tcp://127.0.0.1:10099"]'
printf 'milter:\n  max_message_size: 20k\n' >>"$P"

# swaks straight at the receiver; transcript in $H_TMP/swaks-NAME.txt.
rswaks() {
    local name=$1
    shift
    S=$H_TMP/swaks-$name.txt
    swaks --server "127.0.0.1:$DG_RECEIVER_PORT" --helo scanner.test --timeout 20 \
        --from scanner@sender.test --to bob@rcpt.test "$@" >"$S" 2>&1
}

# A receiver with one pending ticket.
start_receiver() {
    rm -f "$H_TMP/token"
    h_daemon "receiver-$1" ${DG_WRAPPER:-} "$DG_PROBE" -c "$P" -S 60 -t "$H_TMP/token"
    h_wait_port "$DG_RECEIVER_PORT" 10 && h_wait 5 test -s "$H_TMP/token" ||
        h_die "the receiver did not start" "$(cat "$H_TMP/receiver-$1.log")"
    TOKEN=$(cat "$H_TMP/token")
}

start_receiver one
rswaks none --h-Subject "no ticket" --body "hello"
h_like "$(h_reply "$S" "RCPT TO:<bob@rcpt.test>")" '^250 ' "RCPT is accepted (the ticket comes with the data)"
h_like "$(h_reply "$S" .)" '^550 5\.7\.1 ' "a message without a ticket: 550 at the end of data"

rswaks guessed --h-Subject "guessed" --header "X-Stagemilter-Ticket: $(openssl rand -hex 16)" \
    --body "hello"
h_like "$(h_reply "$S" .)" '^550 ' "a made-up ticket: 550"

rswaks good --h-Subject "good" --header "X-Stagemilter-Ticket: $TOKEN" --body "hello"
h_like "$(h_reply "$S" .)" '^250 2\.0\.0 ' "the pending delegation's ticket: 250"

rswaks replay --h-Subject "replay" --header "X-Stagemilter-Ticket: $TOKEN" --body "hello"
h_like "$(h_reply "$S" .)" '^550 ' "the same ticket again: 550 (single use)"

big=$(head -c 100000 /dev/zero | tr '\0' 'x' | fold -w 70)
rswaks big --h-Subject "big" --header "X-Stagemilter-Ticket: $TOKEN" --body "$big"
h_like "$(h_reply "$S" .)" '^552 5\.3\.4 ' "larger than milter.max_message_size and the margin: 552"

rswaks long --h-Subject "x$(head -c 3000 /dev/zero | tr '\0' 'y')" --quit-after MAIL \
    --from "a$(head -c 3000 /dev/zero | tr '\0' 'b')@sender.test"
h_like "$(h_reply "$S" "MAIL FROM")" '^500 5\.5\.2 ' "a command line over 2048 bytes: 500"

h_stop receiver-one 5
L=$H_TMP/receiver-one.log
h_file_like "$L" '^connections=6 delivered=1 refused=3 too_big=1 busy=0$' \
    "counted: one delivered, three refused, one too big"
h_file_like "$L" '^ticket=delivered size=[0-9]+$' "the pending delegation holds the good message"
h_file_like "$L" 'refused: no pending delegation matches' "refusals are logged"
h_is "$(find "$H_TMP" -newer "$P" -type f ! -name '*.log' ! -name 'swaks-*' ! -name token | wc -l)" 0 \
    "nothing refused was written anywhere"

# The ticket only inside the body, in an attached original (report_safe).
start_receiver two
cat >"$H_TMP/report.txt" <<EOF
This is a multi-part message in MIME format.

------------=_5F3A
Content-Type: text/plain; charset=iso-8859-1

Spam detection software has identified this incoming email as possible spam.

------------=_5F3A
Content-Type: message/rfc822; x-spam-type=original
Content-Description: original message before SpamAssassin
Content-Disposition: inline

x-stagemilter-ticket:
 $TOKEN
Subject: the original

GTUBE
------------=_5F3A--
EOF
rswaks body --h-Subject "report" --add-header "Content-Type: multipart/mixed; boundary=\"----------=_5F3A\"" \
    --body "$H_TMP/report.txt"
h_like "$(h_reply "$S" .)" '^250 ' "a ticket in an attached original (folded, any case) is found"
h_stop receiver-two 5
h_file_like "$H_TMP/receiver-two.log" '^ticket=delivered ' "and the message handed over"

# Shut down in the middle of a dialogue: the client hears 421, stop is quick.
start_receiver three
(
    exec 3<>/dev/tcp/127.0.0.1/$DG_RECEIVER_PORT
    read -r greeting <&3
    printf 'EHLO x\r\n' >&3
    sleep 30 <&3
) &
sleep 0.5
t0=$(date +%s%N)
h_stop receiver-three 5
t1=$(date +%s%N)
h_like "$(((t1 - t0) / 1000000))" '^[0-9]{1,3}$' "stop is prompt with a client connected (< 1 s)"
h_file_like "$H_TMP/receiver-three.log" '^connections=1 ' "that client had been served"
kill %1 2>/dev/null
wait 2>/dev/null
