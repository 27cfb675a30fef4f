#!/bin/bash
# tests/e2e/25-message-size.t - one definition of a message's size (header
# and body as the MTA hands them over) on both sides of a delegation, with
# max_message_size: 100k, through the MTA, stagemilter and clamsmtpd:
#   a message just within 100k whose returned copy (our ticket and
#   clamsmtpd's X-Virus-Scanned added) is just over it: delivered, once
#   a message just over 100k: not delegated, the client gets on_error's
#   temporary failure (as stagemilter.yaml(5) says), nothing delivered
# The sizes are measured, not guessed: a first small message tells how
# many bytes the headers of this MTA and clamsmtpd add to a body.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 9

mta_install
P=$(sc_contrib_policy clamsmtpd)
sed -i 's/^  on_error: tempfail$/&\n  max_message_size: 100k/' "$P"
grep -q '^  max_message_size: 100k$' "$P" || h_die "cannot set max_message_size in $P"
sc_clamsmtpd_start pass
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$P" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)
LIMIT=102400

# A body file of exactly BYTES bytes on the wire (CRLF lines of 78 x's).
body() {
    local bytes=$1 k r
    k=$(((bytes - 3) / 80))
    r=$((bytes - k * 80 - 2))
    /usr/bin/python3 -c 'import sys; k, r = int(sys.argv[1]), int(sys.argv[2])
sys.stdout.write(("x" * 78 + "\n") * k + "y" * r + "\n")' "$k" "$r" >"$2"
}
send() {
    h_swaks "$1" --from alice@sender.test --to bob@rcpt.test --h-Subject "size $1" \
        --body "$2"
}

# 1. How much do the headers weigh, as the receiver counts them?
body 800 "$H_TMP/small.txt"
send small "$H_TMP/small.txt"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a small message is delivered"
returned=$(sed -n 's/.*receiver: peer=[^ ]* size=\([0-9]*\) delivered.*/\1/p' "$log" | tail -n 1)
[ -n "$returned" ] || h_die "the receiver logged no size" "$(tail "$log")"
over=$((returned - 800)) # headers, our ticket and X-Virus-Scanned
h_diag "the returned copy of an 800-byte body: $returned bytes (headers $over)"

# 2. Within 100k here, over 100k once returned: ticket (56 bytes) and
# X-Virus-Scanned (40) take it 30 bytes over.
body $((LIMIT + 30 - over)) "$H_TMP/fits.txt"
send fits "$H_TMP/fits.txt"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' \
    "a message within max_message_size whose returned copy is larger: 250"
h_ok "and it reaches the sink" h_wait_delivered 2
returned=$(sed -n 's/.*receiver: peer=[^ ]* size=\([0-9]*\) delivered.*/\1/p' "$log" | tail -n 1)
h_like "$returned" '^[0-9]+$' "the receiver took the returned copy"
h_ok "of more than max_message_size ($returned bytes)" test "$returned" -gt "$LIMIT"
h_file_unlike "$log" 'refused: message larger than' "the receiver refused nothing as too big"

# 3. Over 100k here (headers and body together, the body alone within it).
body $((LIMIT + 200 - over + 96)) "$H_TMP/over.txt"
send over "$H_TMP/over.txt"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^4[0-9][0-9] ' \
    "a message over max_message_size: on_error's temporary failure"
h_file_like "$log" 'cannot delegate to clamsmtpd: message larger than milter\.max_message_size' \
    "logged as not delegated"
sleep 1
h_is "$(h_sink_count)" 2 "only the two fitting messages reached the sink"
