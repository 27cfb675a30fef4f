# tests/delegation/dg.sh - helpers of the delegation tests (bash), on top of
# tests/lib/harness.sh (source that first, then call h_setup).
#
#   dg_policy FILE SERVICES_YAML   write a policy with receiver.listen
#                                  127.0.0.1:$DG_RECEIVER_PORT and the given
#                                  services: block (indented YAML text)
#   dg_probe NAME ARGS...          run delegate-probe ARGS; stdout in
#                                  $H_TMP/probe-NAME.out, stderr in
#                                  $H_TMP/probe-NAME.err (paths in
#                                  $DG_OUT/$DG_ERR), exit status in $DG_RC
#   dg_get FILE KEY                first value of KEY=... in FILE
#   dg_eml FILE SUBJECT BODY       write a small message file
#   dg_silent_peer PORT            a TCP peer that accepts and never answers
#   dg_greeting_peer PORT TEXT     a TCP peer that sends TEXT (printf format
#                                  expanded by python: \r\n etc.) on connect
#   dg_clam_start ACTION           clamd (EICAR-only database) and clamsmtpd
#                                  on 127.0.0.1:$DG_CLAMSMTP_PORT relaying to
#                                  the receiver, with Action: ACTION
#   dg_clam_stop                   stop clamsmtpd (clamd keeps running)
#   dg_test_pki DIR                a throw-away PKI in DIR: ca.pem/ca.key
#                                  ("Test CA"), server.pem/.key for
#                                  scanner.test.example and 127.0.0.1, and
#                                  client.pem/.key for probe.test.example
#
# Variables: DG_PROBE (the probe binary), DG_RECEIVER_PORT (10025),
# DG_CLAMSMTP_PORT (10026).

DG_PROBE=${DG_PROBE:-${top_builddir:-$H_TOP}/tests/delegation/delegate-probe}
DG_RECEIVER_PORT=10025
DG_CLAMSMTP_PORT=10026
[ -x "$DG_PROBE" ] || DG_PROBE=$H_TOP/tests/delegation/delegate-probe

# Write a policy: the receiver plus SERVICES (a YAML block under services:).
dg_policy() {
    {
        printf 'receiver:\n  listen: "127.0.0.1:%s"\nservices:\n' "$DG_RECEIVER_PORT"
        printf '%s\n' "$2"
        printf 'stages:\n  preq:\n    - rule: probe\n      delegate: %s\n      rules: []\n' \
            "$(printf '%s\n' "$2" | sed -n 's/^  \([a-z_0-9]*\):$/\1/p' | head -n 1)"
    } >"$1"
}

# Run the probe; remember where its output went.
dg_probe() {
    local name=$1
    shift
    [ -x "$DG_PROBE" ] || h_die "no probe at $DG_PROBE (run make check or make tests/delegation/delegate-probe)"
    DG_OUT=$H_TMP/probe-$name.out
    DG_ERR=$H_TMP/probe-$name.err
    ${DG_WRAPPER:-} "$DG_PROBE" "$@" >"$DG_OUT" 2>"$DG_ERR"
    DG_RC=$?
    return 0
}

# First value of KEY= in FILE.
dg_get() {
    sed -n "s/^$2=//p" "$1" | head -n 1
}

# A small message.
dg_eml() {
    printf 'From: Alice <alice@sender.test>\nTo: bob@rcpt.test\nSubject: %s\nMessage-ID: <%s@sender.test>\n\n%s\n' \
        "$2" "$RANDOM$RANDOM" "$3" >"$1"
}

# The peers and scanners live in tests/lib/scanners.sh, shared with the
# end-to-end tests and the bench.
SC_RECEIVER_PORT=$DG_RECEIVER_PORT
SC_CLAMSMTP_PORT=$DG_CLAMSMTP_PORT
# shellcheck source=tests/lib/scanners.sh
. "$H_TOP/tests/lib/scanners.sh"

# A peer that accepts connections and never says a word.
dg_silent_peer() {
    sc_silent_peer "$@"
}

# A peer that greets every connection with a fixed (hostile) text.
dg_greeting_peer() {
    sc_greeting_peer "$@"
}

# clamd with a one-line EICAR database, and clamsmtpd in front of it.
dg_clam_start() {
    sc_clamsmtpd_start "$1" "$DG_CLAMSMTP_PORT" "$DG_RECEIVER_PORT"
}

# Stop clamsmtpd (to restart it with another Action).
dg_clam_stop() {
    sc_clamsmtpd_stop "$DG_CLAMSMTP_PORT"
}

# A throw-away PKI in DIR (see the top of this file); dies on any failure.
dg_test_pki() {
    local dir=$1
    mkdir -p "$dir"
    (
        cd "$dir" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Test CA" \
            -keyout ca.key -out ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=scanner.test.example" \
            -keyout server.key -out server.csr
        printf 'subjectAltName=DNS:scanner.test.example,IP:127.0.0.1\n' >ext.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext.cnf -out server.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=probe.test.example" \
            -keyout client.key -out client.csr
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -out client.pem
    ) >"$dir/openssl.log" 2>&1 || h_die "openssl could not make the test certificates" \
        "$(cat "$dir/openssl.log")"
    chmod 644 "$dir"/*.pem "$dir"/*.key
}
