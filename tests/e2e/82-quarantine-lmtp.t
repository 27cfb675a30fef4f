#!/bin/bash
# tests/e2e/82-quarantine-lmtp.t - milter.quarantine: lmtp. A quarantined
# message is delivered over LMTP into a Dovecot mailbox (the folder named
# by ${queue}) and fetched back over IMAP with its X-Stagemilter-Quarantine
# header and the changes effects asked for; the client gets 250 and the
# sink nothing. With Dovecot stopped the client gets a 4xx, and the message
# reaches neither the sink nor the mailbox (the client keeps it). Then,
# reloaded with lmtp+hold: the copy goes into the mailbox and the MTA keeps
# the message in its hold queue.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/dovecot_mail.sh"
h_plan 17

mta_install
dovecot_mail_start "$H_TMP/dovecot" quarantine secret 2424 1143 || h_die "Dovecot does not start"
sock=unix:$H_TMP/milter.sock
policy=$(h_policy quarantine-lmtp)
h_stagemilter_start "$policy" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

# The messages of IMAP folder $1 of user quarantine, each "=== N" then the
# message as fetched.
imap_fetch() {
    python3 - "$1" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", 1143)
m.login("quarantine", "secret")
typ, _ = m.select(sys.argv[1], readonly=True)
if typ != "OK":
    print("no folder")
    sys.exit(0)
typ, data = m.search(None, "ALL")
for n in data[0].split():
    typ, msg = m.fetch(n, "(RFC822)")
    print("=== %s" % n.decode())
    sys.stdout.write(msg[0][1].decode("utf-8", "replace").replace("\r\n", "\n"))
m.logout()
PY
}

h_swaks q --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test \
    --h-Subject "Your invoice 4711" --body "pay now, lmtp marker"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the client gets 250"
sleep 1
h_is "$(h_sink_count)" 0 "nothing reaches the sink"
got=$(imap_fetch suspect)
h_is "$(grep -c '^=== ' <<<"$got")" 1 "one message in the mailbox's folder suspect (fetched over IMAP)"
h_like "$got" $'\nX-Stagemilter-Quarantine: rule="unsolicited invoices" queue=suspect stage=preq' \
    "with its X-Stagemilter-Quarantine header"
h_like "$got" $'\nSubject: \\[Q\\] Your invoice 4711\n' "with the changes (the tagged subject)"
h_like "$got" $'\nX-Original-To: <bob@rcpt\\.test>\nX-Original-To: <carol@rcpt\\.test>\n' \
    "and the recipients it had"
h_like "$got" $'\npay now, lmtp marker' "and the body"
h_file_like "$(h_stagemilter_log)" \
    'quarantine=suspect delivered lmtp rcpt=<quarantine\+suspect@example\.org> target=tcp://127\.0\.0\.1:2424' \
    "stagemilter logs the delivery"
h_file_like "$(mta_log)" '[Mm]ilter.*discard' "the $MTA discards its copy"

# The mailbox server is down: the client keeps the message.
dovecot_mail_stop
h_swaks down --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "Another invoice 4712" --body "second lmtp marker"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^4[0-9][0-9] ' "Dovecot stopped: the client gets a 4xx"
sleep 1
h_is "$(h_sink_count)" 0 "nothing reaches the sink"
h_is "$(mta_queue_count)" 0 "nor stays in the $MTA queue (the client has it)"
dovecot_mail_start "$H_TMP/dovecot" quarantine secret 2424 1143 || h_die "Dovecot does not restart"
h_is "$(imap_fetch suspect | grep -c 'second lmtp marker')" 0 "nor the mailbox"

# lmtp+hold: into the mailbox and into the MTA's hold queue.
sed -i 's/^  quarantine: lmtp$/  quarantine: lmtp+hold/' "$policy"
kill -HUP "${H_PIDS[stagemilter]}"
h_wait 10 grep -q 'reload: .* is in use for new connections' "$(h_stagemilter_log)" ||
    h_die "the lmtp+hold policy was not loaded" "$(tail -n 5 "$(h_stagemilter_log)")"
h_swaks held --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "Held invoice 4713" --body "third lmtp marker"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "lmtp+hold: the client gets 250"
h_ok "lmtp+hold: the message waits in the $MTA's hold queue" h_wait 10 test "$(mta_held_count)" = 1
h_is "$(imap_fetch suspect | grep -c 'third lmtp marker')" 1 "lmtp+hold: and its copy is in the mailbox"
h_is "$(h_sink_count)" 0 "lmtp+hold: nothing reaches the sink"
