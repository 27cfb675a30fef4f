#!/bin/bash
# tests/e2e/50-dnsbl.t - DNS block lists against a real unbound on loopback
# (tests/lib/dns.sh): a listed IPv4 client is refused with the list's TXT
# reason in the reply, an unlisted one is delivered; a list that times out
# and one that answers SERVFAIL count as not listed and are logged, unless
# the rule says on_failure: error (then milter.on_error's 451 4.3.0); an
# answer is cached for its TTL and no longer (the record is removed from
# the server between two messages); IPv6 clients in nibble form through
# --trace, which shows every query with its answer and time.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/dns.sh"
h_plan 17

mta_install
dns_start
policy=$(h_policy dnsbl)
sed -i "s/@DNS_PORT@/$DNS_PORT/" "$policy"
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$policy" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)

h_swaks listed --local-interface 127.0.0.2 --from a@sender.example --to b@rcpt.example
h_like "$(h_reply "$H_SWAKS_OUT" "MAIL FROM")" \
    '^550 5\.7\.1 (<[^>]*>\.\.\. )?Listed by bl\.example \(127\.0\.0\.2\): Listed: see http://bl\.example/\?127\.0\.0\.2$' \
    "a listed IPv4 client is refused with the zone, the address and the TXT reason"

h_swaks clean --local-interface 127.0.0.1 --from a@sender.example --to b@rcpt.example
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "an unlisted IPv4 client is accepted"
h_ok "and its message is delivered" h_wait_delivered 1
h_file_like "$log" 'log="dnsbl slow\.example: 1\.0\.0\.127\.slow\.example timeout' \
    "the list that never answers is logged as a timeout"
h_file_like "$log" 'log="dnsbl fail\.example: 1\.0\.0\.127\.fail\.example servfail: SERVFAIL"' \
    "the list that answers SERVFAIL is logged"
h_file_like "$log" 'log="dnsbl: the failed query counts as not listed"' \
    "and a failed query counts as not listed"

h_swaks strict --local-interface 127.0.0.1 --from a@strict.example --to b@rcpt.example
h_like "$(h_reply "$H_SWAKS_OUT" "MAIL FROM")" '^451 4\.3\.0 ' \
    "on_failure: error on a list that times out: milter.on_error's 451 4.3.0"
h_swaks strictfail --local-interface 127.0.0.1 --from a@strictfail.example --to b@rcpt.example
h_like "$(h_reply "$H_SWAKS_OUT" "MAIL FROM")" '^451 4\.3\.0 ' \
    "on_failure: error on a list that answers SERVFAIL: 451 4.3.0"

# A record with a TTL of 4 s, removed from the server after the first message.
dns_set 3.0.0.127.ttl.example. 4 A 127.0.0.2
h_swaks ttl1 --local-interface 127.0.0.3 --from a@sender.example --to b@rcpt.example
h_like "$(h_reply "$H_SWAKS_OUT" "MAIL FROM")" '^550 5\.7\.1 (<[^>]*>\.\.\. )?Listed by ttl\.example \(127\.0\.0\.2\): $' \
    "a client listed with a short TTL is refused (no TXT: an empty reason)"
dns_unset 3.0.0.127.ttl.example.
before=$(dns_queries)
h_swaks ttl2 --local-interface 127.0.0.3 --from a@sender.example --to b@rcpt.example
h_like "$(h_reply "$H_SWAKS_OUT" "MAIL FROM")" '^550 5\.7\.1 (<[^>]*>\.\.\. )?Listed by ttl\.example' \
    "within the TTL the cached answer still lists it, though the server no longer does"
sleep 5
h_swaks ttl3 --local-interface 127.0.0.3 --from a@sender.example --to b@rcpt.example
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "once the TTL has passed the server is asked again: accepted"
after=$(dns_queries)
h_ok "the server was asked again after the TTL ($before, then $after queries)" test "$after" -gt "$before"

# of: url_domains: the hosts of the links in the message's decoded text
# (here a quoted-printable HTML part) are asked at preq.
dns_set bad-site.test.uribl.example. 300 A 127.0.0.2
html='<p>Click <a href=3D"https://Bad-Site.test/pay">here</a></p>'
h_swaks urlbad --local-interface 127.0.0.1 --from a@sender.example --to b@rcpt.example \
    --add-header "MIME-Version: 1.0" --add-header "Content-Type: text/html; charset=utf-8" \
    --add-header "Content-Transfer-Encoding: quoted-printable" --body "$html"
h_like "$(h_reply "$H_SWAKS_OUT" .)" \
    '^550 5\.7\.1 A link in the message is listed by uribl\.example \(127\.0\.0\.2\)$' \
    "a message linking to a listed domain is refused at the end of DATA"
h_swaks urlgood --local-interface 127.0.0.1 --from a@sender.example --to b@rcpt.example \
    --body "see https://good-site.test/ for details"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a message whose links are not listed is accepted"

# IPv6 clients: the MTAs here listen on IPv4 only; --trace asks the same way.
printf 'Subject: hello\n\nhello\n' >"$H_TMP/m.eml"
"$STAGEMILTER" --trace "$H_TMP/m.eml" -c "$policy" --client-ip ::2 --from a@sender.example \
    --rcpt b@rcpt.example --no-delegate >"$H_TMP/trace6.txt" 2>&1
h_file_like "$H_TMP/trace6.txt" \
    '^ +dns: A 2(\.0){31}\.bl\.example: 127\.0\.0\.2 ttl=300 \[[0-9]+ ms\]$' \
    "--trace shows the IPv6 client's nibble query, its answer, TTL and time"
h_file_like "$H_TMP/trace6.txt" '=> deny 550 5\.7\.1 "Listed by bl\.example \(127\.0\.0\.2\): "' \
    "a listed IPv6 client is refused"
"$STAGEMILTER" --trace "$H_TMP/m.eml" -c "$policy" --client-ip ::1 --from a@sender.example \
    --rcpt b@rcpt.example --no-delegate >"$H_TMP/trace6b.txt" 2>&1
h_file_like "$H_TMP/trace6b.txt" '^ +dns: A 1(\.0){31}\.bl\.example: not found \(NXDOMAIN\)' \
    "an unlisted IPv6 client: NXDOMAIN in the trace, and accepted"
