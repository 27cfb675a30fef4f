#!/bin/bash
# tests/e2e/24-starttls.t - delegation over STARTTLS end to end: the MTA,
# stagemilter, and a scanner stand-in (tests/lib/tls-proxy.py) with a
# certificate from a test CA. With require_tls and verify the message goes
# over TLS (the stand-in's X-TLS-Proxy header, naming the TLS version, is
# applied to the delivered copy); a target without STARTTLS is refused and
# the client gets on_failure's tempfail, nothing delivered.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 10

mta_install
sc_tls_proxy 10040
sc_tls_proxy 10041 notls
chmod 755 "$H_TMP/tls" && chmod 644 "$H_TMP/tls/ca.pem"
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy delegate-tls)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)

h_swaks tls --from alice@sender.test --to bob@rcpt.test --h-Subject "tls please" \
    --body "secret body"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "STARTTLS target: the client gets 250"
h_ok "STARTTLS target: delivered" h_wait_delivered 1
f=$(h_sink_files | head -n 1)
h_file_like "$f" '^X-TLS-Proxy: TLSv1\.[23]$' \
    "the scanner got it over TLS (its header, applied to the delivered copy)"
h_file_like "$f" '^secret body' "and the body is intact"
h_file_like "$log" 'delegate service=tls target=tcp://127\.0\.0\.1:10040 tls=yes result=returned' \
    "stagemilter logs tls=yes"
h_file_like "$H_TMP/tls-proxy-10040.log" 'tls=TLSv1\.[23] final=250' "the stand-in saw TLS"

h_swaks clear --from alice@sender.test --to bob@rcpt.test --h-Subject "clear text" \
    --body "must not travel in clear"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^451 4\.3\.0 (.* )?Content scanner notls unavailable' \
    "target without STARTTLS: the client gets on_failure's tempfail"
h_file_like "$log" 'TLS is required and STARTTLS is not offered' "the reason is logged"
h_file_unlike "$H_TMP/tls-proxy-10041.log" 'message from' "the message never went to it"
sleep 1
h_is "$(h_sink_count)" 1 "only the TLS message reached the sink"
