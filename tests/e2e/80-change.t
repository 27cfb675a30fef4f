#!/bin/bash
# tests/e2e/80-change.t - the effects that change the message, each seen
# at the sink: the subject tagged once though three rules ask (one at
# mail, before the header exists), an archive recipient added (it reaches
# the sink), a recipient removed, the sender rewritten (MAIL FROM at the
# sink), a header changed and one deleted; an encoded subject decodes to
# the tag and the old subject; a quarantined message's stored copy shows
# the changes, envelope included.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 23

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy change)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

# The sink files holding MARKER in their body.
sink_with() {
    local f
    for f in $(h_sink_files); do grep -q "$1" "$f" && echo "$f"; done
}
# Every sink file holding MARKER, concatenated.
sink_all() {
    local f
    for f in $(sink_with "$1"); do cat "$f"; done
}
settled() {
    [ "$(mta_queue_count)" = 0 ] && [ -n "$(sink_with "$1")" ]
}

h_swaks changed --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test \
    --h-Subject "hello world" --add-header "X-Change-Me: old value" \
    --add-header "X-Remove-Me: one" --add-header "X-Keep: yes" --add-header "X-Remove-Me: two" \
    --body "marker-changed"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the changed message is accepted"
h_ok "it reaches the sink" h_wait 30 settled marker-changed
got=$(sink_all marker-changed | tr -d '\r')
h_like "$got" $'(^|\n)Subject: \\[TAG\\] hello world(\n|$)' "the subject is tagged"
h_is "$(grep -c '\[TAG\]' <<<"$got")" "$(sink_with marker-changed | wc -l)" \
    "once (three rules asked), in every copy"
h_like "$got" $'(^|\n)X-Rcpt-Args: <archive@archive\\.test>' "the archive recipient reaches the sink"
h_like "$got" $'(^|\n)X-Rcpt-Args: <bob@rcpt\\.test>' "bob still gets it"
h_unlike "$got" 'X-Rcpt-Args: <carol@rcpt\.test>' "carol was removed"
h_like "$got" $'(^|\n)X-Mail-Args: <bounces@sender\\.test>' "MAIL FROM at the sink is the new sender"
h_like "$got" $'(^|\n)X-Change-Me: new value from 127\\.0\\.0\\.1(\n|$)' "the header is changed"
h_is "$(grep -c '^X-Change-Me:' <<<"$(sink_all marker-changed | head -n 200)")" \
    "$(sink_with marker-changed | wc -l)" "and there is one of it per copy"
h_unlike "$got" 'X-Remove-Me' "both X-Remove-Me fields are deleted"
h_like "$got" $'(^|\n)X-Keep: yes(\n|$)' "the others stay"
h_file_like "$(h_stagemilter_log)" \
    'edit headers_changed=2 deleted=2 added=0 rcpts_added=1 rcpts_deleted=1 sender=<bounces@sender\.test>' \
    "stagemilter logs what it changed"

# An RFC 2047 subject: the tag goes in front of the encoded word and the
# subject decodes to it and the old text.
h_swaks encoded --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "=?UTF-8?B?w6TDtsO8IGdyw7zDn2U=?=" --body "marker-encoded"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the encoded message is accepted"
h_ok "it reaches the sink" h_wait 30 settled marker-encoded
f=$(sink_with marker-encoded | head -n 1)
decoded=$(python3 -c '
import email, email.header, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
print(str(email.header.make_header(email.header.decode_header(m["Subject"]))))' "$f")
h_is "$decoded" "[TAG] äöü grüße" "the encoded subject decodes to the tag and the old subject"

# A quarantined message: the stored copy shows the changes.
h_swaks quarantined --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test \
    --h-Subject "please quarantine me" --add-header "X-Remove-Me: three" --body "marker-quarantined"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the quarantined message gets 250"
q=$(find "$H_TMP/work/changed/new" -type f 2>/dev/null | head -n 1)
h_ok "it is stored" test -n "$q"
h_file_like "$q" '^Subject: \[TAG\] please quarantine me$' "the stored copy has the tagged subject"
h_file_unlike "$q" 'X-Remove-Me' "without the deleted header"
h_file_like "$q" '^Return-Path: <bounces@sender\.test>$' "with the new sender"
h_is "$(grep '^X-Original-To:' "$q" | sort | tr '\n' ' ')" \
    "X-Original-To: <archive@archive.test> X-Original-To: <bob@rcpt.test> " \
    "and the recipients as changed"
sleep 1
h_is "$(sink_with marker-quarantined | wc -l)" 0 "nothing of it reaches the sink"
