#!/bin/bash
# tests/e2e/sendmail-sanity.t - stagemilter behind a real Sendmail 8.17,
# whatever $MTA says: the first end-to-end check through Sendmail, with
# contrib/sendmail/stagemilter.mc as the milter configuration.
#
# One message to two recipients: the policy refuses one at rcpt with its own
# 550 5.7.1 text, the other gets the message with a header whose value is
# built from the macros the snippet asks Sendmail to send ({client_addr},
# {daemon_addr}, {daemon_port}, i); a message sent over STARTTLS gets a
# second header from a `tls: true` rule ({tls_version}, {cipher}). A
# quarantined message (smfi_quarantine) becomes a held (hf) item of
# Sendmail's queue, listed by `mailq -qQ` with its reason, not delivered by a
# queue run until `sendmail -Q -qQ -qI<id>` releases it. With stagemilter
# stopped, F=T: 451 4.3.2 at MAIL FROM.
export MTA=sendmail
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 23

mta_install
mkdir -p "$H_TMP/work"
policy=$H_TMP/sanity.yaml
cat >"$policy" <<EOF
milter:
  workdir: "$H_TMP/work"
  quarantine: hold
stages:
  rcpt:
    - rule: no mail for satan.org
      if: { rcpt_domain: satan.org }
      then: { deny: { code: 550, enhanced: "5.7.1", text: "satan.org is not welcome here." } }
  preq:
    - rule: suspicious subject
      if: { header: { Subject: "/invoice/i" } }
      then: { quarantine: suspect }
    - action: tag
      do: [ { add_header: { name: X-Sanity, value: "client=\${client_ip} server=\${server_ip}:\${server_port} queue=\${queue_id}" } } ]
    - action: tag tls
      if: { tls: true }
      do: [ { add_header: { name: X-Sanity-TLS, value: "yes" } } ]
EOF
sock=inet:$MILTER_PORT@127.0.0.1
h_stagemilter_start "$policy" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "Sendmail does not start"
h_file_like "$H_TMP/sendmail/sendmail.cf" "^Xstagemilter, S=$sock, F=T, " \
    "sendmail.cf has the snippet's filter, pointed at the test's milter"

# --- a recipient refused, the other one delivered with the added header
h_swaks two --from alice@sender.test --to bob@rcpt.test,devil@satan.org \
    --h-Subject "two recipients" --body "one of you will not get this"
out=$H_SWAKS_OUT
h_like "$(h_reply "$out" banner)" '^220 host\.test\.example ESMTP Sendmail 8\.17' "Sendmail greets"
h_like "$(h_reply "$out" 'RCPT TO:<bob@rcpt.test>')" '^250 ' "the first recipient is accepted"
# Sendmail puts "<address>... " before a milter's text at RCPT.
h_is "$(h_reply "$out" 'RCPT TO:<devil@satan.org>')" "550 5.7.1 <devil@satan.org>... satan.org is not welcome here." \
    "the second gets the policy's code, enhanced code and text"
h_like "$(h_reply "$out" .)" '^250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery' \
    "the message is accepted for the first"
qid=$(h_reply "$out" . | awk '{print $3}')
h_ok "exactly one message reaches the sink" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_is "$(grep '^X-Rcpt-Args:' "$f" | sed 's/ ORCPT=.*//')" "X-Rcpt-Args: <bob@rcpt.test>" \
    "it is addressed to the first recipient only"
h_file_like "$f" "^X-Sanity: client=127\.0\.0\.1 server=127\.0\.0\.1:$MTA_PORT queue=$qid\$" \
    "it carries the added header, built from {client_addr} {daemon_addr} {daemon_port} i"
h_file_unlike "$f" '^X-Sanity-TLS:' "it has no TLS header: it came in clear"
h_file_like "$(mta_log)" "^.* $qid: Milter: to=<devil@satan\.org>, reject=550 5\.7\.1 satan\.org is not welcome here\." \
    "the Sendmail log records the refusal"
h_file_like "$(mta_log)" "^.* $qid: to=<bob@rcpt\.test>, .*mailer=relay, .*stat=Sent" \
    "the Sendmail log records the delivery"

# --- STARTTLS: the TLS macros reach stagemilter
h_swaks tls --tls --from alice@sender.test --to carol@rcpt.test --h-Subject "over TLS" --body "secret"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a message over STARTTLS is accepted"
h_ok "it reaches the sink" h_wait_delivered 2
f=$(h_sink_files | xargs grep -l '^Subject: over TLS' | head -n 1)
h_file_like "$f" '^X-Sanity-TLS: yes$' "its tls: true rule matched (TLS macros sent at HELO and MAIL)"

# --- smfi_quarantine: a held queue item (hf*), listed by mailq -qQ
h_swaks q --from alice@sender.test --to bob@rcpt.test \
    --h-Subject "Your invoice 4712" --body "pay now"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a quarantined message gets 250"
qid=$(h_reply "$H_SWAKS_OUT" . | awk '{print $3}')
h_ok "it is a held item of Sendmail's queue" h_wait 10 test "$(mta_held_count)" = 1
h_ok "its queue file is hf$qid" test -f "$(mta_queue_dir)/hf$qid"
mta_flush
sleep 1
h_is "$(h_sink_count)" 2 "a flush does not deliver it"
listing=$(mta_sendmail -bp -qQ 2>&1)
# The reason is stagemilter's smfi_quarantine text; it names the rule.
h_like "$(echo "$listing" | grep -A1 "^$qid ")" 'QUARANTINE: .*suspicious subject' \
    "mailq -qQ lists it with the quarantine reason"
h_file_like "$(mta_log)" "$qid: to=<bob@rcpt\.test>, .*quarantine=[^,]*suspicious subject, stat=quarantined" \
    "the Sendmail log records the quarantine"
# What an administrator does to release it: -Q without a reason
# unquarantines the items that -qQ (quarantined) and -qI (this id) select.
mta_sendmail -Q -qQ -qI"$qid" >"$H_TMP/release.txt" 2>&1
h_is "$(mta_held_count)" 0 "sendmail -Q -qQ -qI$qid releases it"
mta_flush
h_ok "the next queue run delivers it" h_wait_delivered 3

# --- stagemilter gone: F=T makes Sendmail tempfail at MAIL FROM
h_stop stagemilter 10
h_swaks down --from alice@sender.test --to bob@rcpt.test --body "nobody filters this"
h_like "$(h_reply "$H_SWAKS_OUT" "MAIL FROM")" '^451 4\.3\.2 ' "with the milter down, 451 4.3.2 at MAIL FROM"
