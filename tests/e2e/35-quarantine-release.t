#!/bin/bash
# tests/e2e/35-quarantine-release.t - stagemilter --quarantine: list shows
# the stored messages with their envelope and rule; release gives one back
# to the MTA through its sendmail(1) with the recorded envelope (the sink
# sees MAIL FROM and both RCPT TO) and without the store's lines, then
# removes it; delete removes one; a failed release keeps the file; names
# that would reach outside the workdir (a path, "..", a symbolic link) are
# refused. A message whose envelope has quoted local parts (with spaces)
# comes back to exactly that envelope (it was once released to
# ?john doe?@... and lost). UTF-8 and 1,000-byte addresses are checked by
# tests/unit/test_quarantine (the test MTAs run without SMTPUTF8).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ops.sh"
h_setup "$@"
h_plan 28

mta_install
run=$(ops_rundir)
policy=$(h_policy quarantine-store)
ops_start "$policy" "unix:$run/milter.sock" -u nobody
h_sink_start
mta_start "unix:$run/milter.sock" "$SINK_PORT" || h_die "$MTA does not start"
q() { "$STAGEMILTER" --quarantine "$@" -c "$policy"; }

h_swaks a --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test \
    --h-Subject "Your invoice 4711" --body "release me, marker 4711"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "message A is quarantined (250)"
sent_a=$H_SWAKS_OUT
h_swaks b --from '<>' --to dave@rcpt.test --h-Subject "Invoice 4712" --body "delete me"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "message B (null sender) is quarantined (250)"
h_is "$(h_sink_count)" 0 "nothing reached the sink"

list=$(q list)
h_is "$(echo "$list" | grep -vc '^#')" 2 "list shows two messages"
id_a=$(echo "$list" | awk -F'\t' '$4 == "<alice@sender.test>" {print $1}')
id_b=$(echo "$list" | awk -F'\t' '$4 == "<>" {print $1}')
h_like "$(echo "$list" | grep -F "$id_a")" \
    $'^[^\t/]+\t[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\tsuspect\t<alice@sender\\.test>\t<bob@rcpt\\.test>,<carol@rcpt\\.test>\tsuspicious subject$' \
    "A: id, date, queue, sender, both recipients, rule"
h_ok "B is listed with the null sender" test -n "$id_b"
h_is "$(q list suspect | grep -vc '^#')" 2 "list QUEUE shows the same two"
q list nosuch >/dev/null 2>&1
h_is "$?" 1 "list of a queue that does not exist fails"

# Names that must never reach outside the workdir.
echo "not mail" >"$H_TMP/outside"
ln -s /etc/passwd "$H_TMP/work/suspect/new/evil"
for bad in ../outside "suspect/new/$id_a" .. .hidden evil nosuch-id; do
    out=$(q release "$bad" 2>&1)
    rc=$?
    [ "$rc" = 1 ] || { h_fail "release '$bad' is refused" "exit $rc: $out"; continue; }
    h_pass "release '$bad' is refused ($(echo "$out" | head -n 1 | cut -c1-60))"
done
h_ok "the outside file and /etc/passwd are untouched" test -f "$H_TMP/outside" -a -s /etc/passwd

# A release whose sendmail fails keeps the message.
q release "$id_a" --sendmail /bin/false >/dev/null 2>&1
h_ok "a failed release keeps the message" test -f "$H_TMP/work/suspect/new/$id_a"

# The real release, through the private MTA's sendmail(1) (mta_sendmail_path
# of the MTA file; Postfix's own with MAIL_CONFIG when a file lacks it).
if declare -F mta_sendmail_path >/dev/null; then
    sendmail=$(mta_sendmail_path)
else
    sendmail=$H_TMP/sendmail-cmd
    printf '#!/bin/sh\nMAIL_CONFIG=%s exec /usr/sbin/sendmail "$@"\n' "$PF_ETC" >"$sendmail"
    chmod 755 "$sendmail"
fi
out=$(q release "$id_a" --sendmail "$sendmail" 2>&1)
h_like "$out" "^$id_a: released from <alice@sender\\.test> to 2 recipients" "release A"
h_wait_delivered 1 30
f=$(h_sink_files | head -n 1)
# smtp-sink -d writes the envelope first: X-Mail-Args, one X-Rcpt-Args each.
h_file_like "$f" '^X-Mail-Args: <alice@sender\.test>' "the sink got it with MAIL FROM:<alice@sender.test>"
h_is "$(grep -Ec '^X-Rcpt-Args: <(bob|carol)@rcpt\.test>' "$f")" 2 "and RCPT TO: both recipients"
h_file_unlike "$f" '^(X-Stagemilter-Quarantine|X-Original-To):' "without the lines the store added"
# Sendmail reformats an address list on submission (", "): compare what
# no MTA rewrites, the Message-Id, the Subject and the body.
mid=$(h_sent_data "$sent_a" | grep -i '^Message-Id:')
h_ok "holding the message as sent (Message-Id, Subject, body)" \
    eval '[ -n "$mid" ] && grep -qiF -- "$mid" "$f" && grep -q "^Subject: Your invoice 4711$" "$f" && grep -q "^release me, marker 4711$" "$f"'
h_ok "the released file is gone" test ! -e "$H_TMP/work/suspect/new/$id_a"

h_like "$(q delete "$id_b")" "^$id_b: deleted$" "delete B"
h_is "$(q list | grep -vc '^#')" 0 "the quarantine is empty"

# Quoted local parts with spaces, and UTF-8 (SMTPUTF8), released byte for byte.
qs='"alice smith"@sender.test'
qr='"john doe"@rcpt.test'
h_swaks c --from "$qs" --to "$qr" --h-Subject "Invoice 4713" --body "quoted, marker 4713"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "message C (quoted addresses) is quarantined (250)"
id_c=$(q list | awk -F'\t' -v s="<$qs>" '$4 == s {print $1}')
h_like "$(q list | grep -F "$id_c")" "$(printf '\t<"john doe"@rcpt\\.test>\t')" \
    "list shows C's sender and recipient as they were"
rm -f $(h_sink_files)
out=$(q release "$id_c" --sendmail "$sendmail" 2>&1)
h_like "$out" "^$id_c: released from <\"alice smith\"@sender\\.test> to 1 recipient" "release C"
h_ok "the sink got C with MAIL FROM and RCPT TO exactly as sent" eval \
    'h_wait_delivered 1 30 && grep -qF "X-Mail-Args: <$qs>" $(h_sink_files) &&
     grep -qF "X-Rcpt-Args: <$qr>" $(h_sink_files)'

