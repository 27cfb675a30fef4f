#!/bin/bash
# tests/e2e/51-auth-results.t - auth_results behind a real OpenDKIM and
# OpenDMARC chained as milters before stagemilter (MTA_MILTERS_BEFORE),
# with the DKIM key (from opendkim-genkey) and the DMARC policy (p=reject)
# of example.org served by the test's unbound on 127.0.0.1:53. A message
# signed by example.org gives dkim=pass (and dmarc=pass), the same message
# altered after signing dkim=fail, an unsigned one from the p=reject domain
# dmarc=fail, and an Authentication-Results header forged by the sender
# with another authserv-id is ignored. Each rule of the policy adds a
# header, and the sink shows which held. doc/mta-differences.md says what
# each MTA shows a later milter.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
DNS_PORT=53
. "$H_TOP/tests/lib/dns.sh"
h_plan 10

h_need opendkim opendmarc opendkim-genkey opendkim-testmsg
mta_install
mkdir -p "$H_TMP/dkim" "$H_TMP/dmarc"
opendkim-genkey -b 1024 -d example.org -s mail -D "$H_TMP/dkim" ||
    h_die "opendkim-genkey failed"
# The p= value of mail.txt, its quoted pieces joined.
pubkey=$(tr -d '\n' <"$H_TMP/dkim/mail.txt" | sed 's/[^"]*"\([^"]*\)"/\1/g; s/).*//' |
    sed 's/.*p=//')
[ -n "$pubkey" ] || h_die "no public key in mail.txt" "$(cat "$H_TMP/dkim/mail.txt")"
DNS_EXTRA="    local-zone: \"example.org.\" static
    local-data: 'mail._domainkey.example.org. 300 IN TXT \"v=DKIM1; k=rsa; p=$pubkey\"'
    local-data: '_dmarc.example.org. 300 IN TXT \"v=DMARC1; p=reject\"'
    local-data: 'example.org. 300 IN TXT \"v=spf1 -all\"'"
dns_start
dns_resolv_conf

# Neither filter may treat loopback clients as its own (they would sign,
# or skip): the internal/ignored hosts are a documentation address.
echo 192.0.2.99 >"$H_TMP/dkim/internal"
cat >"$H_TMP/dkim/opendkim.conf" <<EOC
Mode v
Socket inet:8893@127.0.0.1
PidFile $H_TMP/dkim/opendkim.pid
Syslog no
InternalHosts $H_TMP/dkim/internal
Nameservers 127.0.0.1
AuthservID host.test.example
AlwaysAddARHeader yes
EOC
echo 192.0.2.99 >"$H_TMP/dmarc/ignore"
cat >"$H_TMP/dmarc/opendmarc.conf" <<EOC
Socket inet:8894@127.0.0.1
PidFile $H_TMP/dmarc/opendmarc.pid
Syslog false
AuthservID host.test.example
TrustedAuthservIDs host.test.example
IgnoreHosts $H_TMP/dmarc/ignore
RejectFailures false
SPFSelfValidate true
HistoryFile $H_TMP/dmarc/history
EOC
h_daemon opendkim opendkim -f -x "$H_TMP/dkim/opendkim.conf"
h_daemon opendmarc opendmarc -f -c "$H_TMP/dmarc/opendmarc.conf"
h_wait 10 h_listening 8893 || h_die "opendkim does not listen" "$(cat "$H_TMP/opendkim.log")"
h_wait 10 h_listening 8894 || h_die "opendmarc does not listen" "$(cat "$H_TMP/opendmarc.log")"

sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy auth-results)" "$sock"
h_sink_start
export MTA_MILTERS_BEFORE="inet:8893@127.0.0.1 inet:8894@127.0.0.1"
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

# Messages From: example.org, all sent with an envelope sender of
# other.example: SPF (which libspf2 passes for a loopback client anyway) is
# then never aligned, so DMARC rests on the DKIM signature alone.
msg() {
    printf 'From: Alice <alice@example.org>\nTo: bob@rcpt.example\nSubject: %s\nDate: %s\nMessage-ID: <%s@example.org>\n\nHello Bob,\n\nthis is message %s.\n' \
        "$1" "$(date -R)" "$1.$$" "$1"
}
msg signed | opendkim-testmsg -d example.org -k "$H_TMP/dkim/mail.private" -s mail \
    >"$H_TMP/signed.eml" || h_die "opendkim-testmsg could not sign"
sed 's/this is message signed/this is message ALTERED/' "$H_TMP/signed.eml" >"$H_TMP/altered.eml"
msg unsigned >"$H_TMP/unsigned.eml"
{ printf 'Authentication-Results: evil.example; dkim=pass header.d=example.org; dmarc=pass header.from=example.org\n'
  msg forged; } >"$H_TMP/forged.eml"

# Send NAME.eml, the Nth message; print the sink file whose body says
# "this is message WORD" (WORD: NAME unless given).
send() {
    h_swaks "$1" --local-interface 127.0.0.2 --from alice@other.example --to bob@rcpt.example \
        --data "$H_TMP/$1.eml"
    local n=$2
    h_wait_delivered "$n" 30 >/dev/null 2>&1
    grep -l "this is message ${3:-$1}\." $(h_sink_files) 2>/dev/null | head -n 1
}

f=$(send signed 1)
h_file_like "$f" '^X-Test-Saw-AR: yes' "stagemilter sees the Authentication-Results header the earlier milters added"
h_file_like "$f" '^X-Test-DKIM: pass' "signed by example.org: dkim=pass for example.org holds"
h_file_like "$f" '^X-Test-DMARC: pass' "and dmarc=pass (aligned DKIM)"
f=$(send altered 2 ALTERED)
h_file_like "$f" '^X-Test-DKIM: fail' "altered after signing: dkim=fail holds"
h_file_unlike "$f" '^X-Test-DKIM: pass|^X-Test-DMARC: pass' "and neither dkim=pass nor dmarc=pass does"
f=$(send unsigned 3)
h_file_like "$f" '^X-Test-DMARC: fail' "unsigned from the p=reject domain, SPF not aligned: dmarc=fail"
h_file_like "$f" '^Authentication-Results: host\.test\.example; dmarc=fail \(p=reject' \
    "OpenDMARC said so in its header"
f=$(send forged 4)
h_file_like "$f" '^Authentication-Results: evil\.example; dkim=pass' "the forged header reached the sink"
h_file_unlike "$f" '^X-Test-DKIM: pass' "a forged dkim=pass of another authserv-id is ignored"
h_file_like "$f" '^X-Test-DMARC: fail' "and so is its dmarc=pass: the trusted one says fail"
