# tests/lib/dns.sh - a real DNS server for the tests that ask the network
# (bash), on top of tests/lib/harness.sh (source that first, then h_setup).
#
#   dns_start                   unbound (Debian) on 127.0.0.1:$DNS_PORT and
#                               [::1]:$DNS_PORT serving the test zones below,
#                               with a control socket for dns_set/dns_unset;
#                               and two stand-ins it forwards zones to: a UDP
#                               socket on $DNS_SILENT_PORT that reads and never
#                               answers (zone $DNS_SLOW), and one on
#                               $DNS_FAIL_PORT that answers SERVFAIL to
#                               everything (zone $DNS_FAIL).
#   dns_set NAME TTL TYPE DATA  add a record now (unbound-control local_data)
#   dns_unset NAME              remove a name's records now
#   dns_queries                 how many queries unbound answered so far
#
# Zones (all under .example: unbound answers *.test NXDOMAIN by default):
#   bl.example    2.0.0.127 (A 127.0.0.2, TXT "Listed: see http://bl.example/?127.0.0.2"),
#                 the IPv6 ::2 in nibble form (A 127.0.0.2), helo.bad.example
#                 (A 127.0.0.4); nothing else is listed
#   other.example 2.0.0.127 answers 127.0.0.10 only (for returns:)
#   $DNS_SLOW     forwarded to the silent socket: every query times out
#   $DNS_FAIL     forwarded to the SERVFAIL stand-in
#
# Variables: DNS_PORT (5353), DNS_SILENT_PORT (5399), DNS_FAIL_PORT (5398),
# DNS_CONF (unbound's configuration), DNS_SLOW, DNS_FAIL; DNS_EXTRA: more
# lines for unbound's server: section (more zones), set before dns_start.
#
#   dns_resolv_conf             make this namespace's /etc/resolv.conf (a
#                               private bind mount) name 127.0.0.1, for
#                               programs that read it (DNS_PORT must be 53)

DNS_PORT=${DNS_PORT:-5353}
DNS_SILENT_PORT=${DNS_SILENT_PORT:-5399}
DNS_FAIL_PORT=${DNS_FAIL_PORT:-5398}
DNS_SLOW=slow.example
DNS_FAIL=fail.example
DNS_CONF=

# The stand-ins: a UDP socket that never answers, and one answering SERVFAIL.
dns_standins() {
    cat >"$H_TMP/dns-standin.py" <<'PY'
import socket, sys
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
while True:
    data, peer = s.recvfrom(4096)
    if mode == "silent" or len(data) < 12:
        continue
    # Same id and question, QR set, RD copied, RA set, rcode 2 (SERVFAIL).
    flags = 0x8000 | (data[2] & 0x01) << 8 | 0x0080 | 2
    s.sendto(data[:2] + flags.to_bytes(2, "big") + data[4:6] + b"\0\0\0\0\0\0" + data[12:], peer)
PY
    h_daemon dns-silent /usr/bin/python3 "$H_TMP/dns-standin.py" silent "$DNS_SILENT_PORT"
    h_daemon dns-servfail /usr/bin/python3 "$H_TMP/dns-standin.py" servfail "$DNS_FAIL_PORT"
}

dns_start() {
    h_need unbound unbound-control /usr/bin/python3
    mkdir -p "$H_TMP/dns"
    DNS_CONF=$H_TMP/dns/unbound.conf
    local v6
    v6=$(printf '2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0')
    cat >"$DNS_CONF" <<EOF2
server:
    interface: 127.0.0.1@$DNS_PORT
    interface: ::1@$DNS_PORT
    access-control: 127.0.0.0/8 allow
    access-control: ::1/128 allow
    username: ""
    chroot: ""
    directory: "$H_TMP/dns"
    pidfile: ""
    use-syslog: no
    logfile: "$H_TMP/dns/unbound.log"
    verbosity: 1
    module-config: "iterator"
    do-not-query-localhost: no
    auto-trust-anchor-file: ""
    local-zone: "bl.example." static
    local-data: "2.0.0.127.bl.example. 300 IN A 127.0.0.2"
    local-data: '2.0.0.127.bl.example. 300 IN TXT "Listed: see http://bl.example/?127.0.0.2"'
    local-data: "$v6.bl.example. 300 IN A 127.0.0.2"
    local-data: "helo.bad.example.bl.example. 300 IN A 127.0.0.4"
    local-zone: "other.example." static
    local-data: "2.0.0.127.other.example. 300 IN A 127.0.0.10"
    local-zone: "ttl.example." static
    domain-insecure: "$DNS_SLOW"
    domain-insecure: "$DNS_FAIL"
${DNS_EXTRA:-}
remote-control:
    control-enable: yes
    control-interface: "$H_TMP/dns/control.sock"
    control-use-cert: no
forward-zone:
    name: "$DNS_SLOW"
    forward-addr: 127.0.0.1@$DNS_SILENT_PORT
forward-zone:
    name: "$DNS_FAIL"
    forward-addr: 127.0.0.1@$DNS_FAIL_PORT
EOF2
    dns_standins
    h_daemon unbound unbound -d -c "$DNS_CONF"
    h_wait 10 unbound-control -c "$DNS_CONF" status >/dev/null 2>&1 ||
        h_die "unbound does not start" "$(cat "$H_TMP/unbound.log" "$H_TMP/dns/unbound.log" 2>&1 | tail -n 20)"
}

dns_set() {
    unbound-control -c "$DNS_CONF" local_data "$1 $2 IN $3 $4" >/dev/null
}

dns_unset() {
    unbound-control -c "$DNS_CONF" local_data_remove "$1" >/dev/null
}

dns_queries() {
    unbound-control -c "$DNS_CONF" stats_noreset | sed -n 's/^total\.num\.queries=//p'
}

dns_resolv_conf() {
    [ "$DNS_PORT" = 53 ] || h_die "dns_resolv_conf needs DNS_PORT=53"
    printf 'nameserver 127.0.0.1\n' >"$H_TMP/dns/resolv.conf"
    mount --bind "$H_TMP/dns/resolv.conf" /etc/resolv.conf ||
        h_die "cannot bind-mount a private /etc/resolv.conf"
}
