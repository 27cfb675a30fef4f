#!/bin/bash
# tests/e2e/40-mime-attachment.t - an `attachment:` rule sees an executable
# inside a zip attached by mutt (tests/mime/corpus) and quarantines the
# message: the client gets 250 promptly, nothing reaches the sink, the
# quarantine Maildir holds it with the rule's name. The same kind of message
# with harmless attachments (a text file and a PDF) is delivered.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 8

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy mime)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
corpus=$H_TOP/tests/mime/corpus

start=$(date +%s)
h_swaks exe --from alice@sender.test --to bob@rcpt.test --data "@$corpus/mutt-exe-in-zip.eml"
secs=$(($(date +%s) - start))
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a zip holding an .exe: the client gets 250 (quarantined, not retried)"
h_ok "and promptly (${secs}s)" test "$secs" -le 10
q=$H_TMP/work/banned
h_is "$(find "$q/new" -type f 2>/dev/null | wc -l)" 1 "exactly one file in WORKDIR/banned/new"
f=$(find "$q/new" -type f 2>/dev/null | head -n 1)
h_file_like "$f" '^X-Stagemilter-Quarantine: rule="executable attachment" queue=banned' \
    "it says the attachment rule put it there"
h_file_like "$f" 'filename="exe.zip"' "and holds the message with its zip"

h_swaks clean --from alice@sender.test --to bob@rcpt.test --data "@$corpus/mutt-attachments.eml"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "harmless attachments: 250"
h_ok "only the harmless message reaches the sink" h_wait_delivered 1
h_file_like "$(h_sink_files | head -n 1)" '^Subject: Report and invoice' "and it is that one"
