#!/bin/bash
# tests/delegation/07-auth-external.t - AUTH EXTERNAL (SASL EXTERNAL with the
# client certificate) against a real server: the private Sendmail 8.17 with
# Cyrus SASL (Postfix smtpd offers no EXTERNAL), whose STARTTLS verifies
# client certificates against a test CA and then offers EXTERNAL with the
# certificate's subject as the authid (tests/lib/mta_sendmail.sh,
# MTA_AUTH_EXTERNAL). Sendmail relays what it accepts to the receiver, so the
# copy comes back (10 s drop grace). A certificate of another CA does not
# verify: no EXTERNAL is offered and the delegation fails saying so. Without
# a client certificate the policy loader refuses auth: external.
export MTA=sendmail
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 10
h_need openssl

# A CA; the server's certificate (scanner.test.example, 127.0.0.1) and the
# client's (probe.test.example) signed by it; a client certificate of
# another CA.
T=$H_TMP/tls
dg_test_pki "$T"
(
    cd "$T" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Other CA" \
        -keyout other-ca.key -out other-ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=stranger.test.example" \
        -keyout stranger.key -out stranger.csr
    openssl x509 -req -in stranger.csr -CA other-ca.pem -CAkey other-ca.key \
        -CAcreateserial -days 2 -out stranger.pem
) >"$H_TMP/openssl.log" 2>&1 || h_die "openssl could not make the test certificates" \
    "$(cat "$H_TMP/openssl.log")"
chmod 644 "$T"/*.pem "$T"/*.key

mta_install
MTA_TLS_CERT=$T/server.pem MTA_TLS_KEY=$T/server.key MTA_TLS_CA=$T/ca.pem MTA_AUTH_EXTERNAL=1 \
    mta_start "" "$DG_RECEIVER_PORT" || h_die "Sendmail does not start"

P=$H_TMP/policy.yaml
common='    connect_timeout: 5s
    command_timeout: 10s
    submission_timeout: 20s
    timeout: 30s'
dg_policy "$P" "  external:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    auth: external
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true,
                  cert_file: $T/client.pem, key_file: $T/client.key }
$common
  stranger:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    auth: external
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true,
                  cert_file: $T/stranger.pem, key_file: $T/stranger.key }
$common"
dg_eml "$H_TMP/m.eml" "external" "authenticated by certificate"
run() {
    dg_probe "$1" -c "$P" -s "$1" -m "$H_TMP/m.eml" -f alice@sender.test -r bob@rcpt.test \
        -g 10000 -v
}

run external
h_is "$(dg_get "$DG_OUT" result)" returned "AUTH EXTERNAL with a verified client certificate: returned"
h_file_like "$DG_ERR" '^> AUTH EXTERNAL =$' "the client sent AUTH EXTERNAL with an empty authzid"
h_file_like "$DG_ERR" '^< 235 ' "Sendmail accepted it"
h_file_like "$DG_OUT" '^header=Received: from probe\.test\.example .*\(authenticated bits=0\).* with ESMTPSA .*verify=OK' \
    "the copy came back received with ESMTPSA from the verified client"
h_file_like "$(mta_log)" 'STARTTLS=server, relay=.*verify=OK' "Sendmail verified the client certificate"
h_file_like "$(mta_log)" 'AUTH=server, relay=[^,]*, authid=/CN(=|\+3D)probe\.test\.example, mech=EXTERNAL' \
    "Sendmail logged AUTH mech=EXTERNAL with the certificate's subject"

run stranger
h_is "$(dg_get "$DG_OUT" result)" failed "a client certificate of another CA: failed"
h_like "$(dg_get "$DG_OUT" reply)" 'server does not offer AUTH EXTERNAL' \
    "because Sendmail does not offer EXTERNAL"
h_file_like "$(mta_log)" 'STARTTLS=server, relay=.*verify=FAIL' "Sendmail did not verify that certificate"

# Without a client certificate the policy is refused when loaded.
P2=$H_TMP/policy-nocert.yaml
dg_policy "$P2" "  external:
    targets: [\"tcp://127.0.0.1:$MTA_PORT\"]
    require_tls: true
    auth: external
    tls_client: { ca_file: $T/ca.pem, server_name: scanner.test.example, verify: true }
$common"
h_ok "the loader refuses auth: external without a client certificate" \
    bash -c "! '$STAGEMILTER' --check -c '$P2' >'$H_TMP/check.out' 2>&1 &&
             grep -qi 'external' '$H_TMP/check.out'"
