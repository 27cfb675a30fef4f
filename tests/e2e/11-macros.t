#!/bin/bash
# tests/e2e/11-macros.t - the variables that come from the MTA's macros
# (${client_ip} ${client_port} ${client_name} ${server_ip} ${server_port}
# ${server_id} ${queue_id}) and the conditions auth and tls, behind the MTA
# of $MTA configured with its contrib/ snippet, compared with what that MTA
# itself reports: the queue id of its reply and log, the client name and the
# TLS and SASL facts of its log, the port swaks connected from.
#
# Four messages from fixed client ports, each to two recipients: in clear
# text (tls: false and auth: false rules match), over STARTTLS (tls: true,
# auth: false), over STARTTLS with MAIL FROM right after it, without a new
# EHLO (tls: true: the TLS macros must come with MAIL FROM too), and over
# STARTTLS with AUTH PLAIN (tls: true, auth: true, auth: macrouser).
# Facts seen at connect, mail and rcpt are carried to the headers by `set`
# variables (tests/e2e/policies/macros.yaml), so the test also shows that
# each is there at the stage where a policy would use it.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 48

AUTH_USER=macrouser
AUTH_PASS=Macro-pw-4711
export MTA_TLS=1 MTA_AUTH_USER=$AUTH_USER MTA_AUTH_PASS=$AUTH_PASS
mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy macros)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

# The sink file of the message whose Subject is $1.
sink_file() {
    h_sink_files | xargs -r grep -l "^Subject: $1\$" | head -n 1
}
# Is the message whose Subject is $1 at the sink?
has_sink_file() {
    [ -n "$(sink_file "$1")" ]
}
# The value of header $1 in file $2 (first occurrence).
header() {
    sed -n "s/^$1: //p" "$2" | head -n 1
}

# check NAME CPORT TLS AUTH: the headers of message NAME (sent from client
# port CPORT) against the MTA's facts; TLS and AUTH are yes or no.
check() {
    local name=$1 cport=$2 tls=$3 auth=$4 reply qid f cname
    reply=$(h_reply "$H_TMP/swaks-$name.txt" .)
    h_like "$reply" '^250 ' "$name: the message is accepted"
    qid=$(mta_queue_id "$reply")
    h_like "$qid" '^[0-9A-Za-z]{6,}$' "$name: the MTA names its queue id ($qid)"
    h_wait 20 has_sink_file "$name"
    f=$(sink_file "$name")
    [ -n "$f" ] || f=$H_TMP/no-such-file
    cname=$(mta_logged "$qid" client_name)
    h_like "$cname" '.' "$name: the MTA logged the client's name ($cname)"
    h_is "$(header X-Macros "$f")" \
        "client=127.0.0.1:$cport name=$cname server=127.0.0.1:$MTA_PORT id=host.test.example queue=$qid" \
        "$name: client_ip client_port client_name server_ip server_port server_id queue_id at preq"
    h_is "$(header X-Macros-Connect "$f")" \
        "client=127.0.0.1:$cport name=$cname server=127.0.0.1:$MTA_PORT id=host.test.example" \
        "$name: the connection facts are there at connect"
    # Two recipients: rcpt adds "[queue id]" for each. Postfix opens its
    # queue file only once a recipient is accepted (the default
    # smtpd_delay_open_until_valid_rcpt = yes): no queue id at mail and at
    # the first rcpt, the id from the second rcpt on. Sendmail has it from
    # mail on.
    if [ "$(mta_expect queue_id_at_mail)" = yes ]; then
        h_is "$(header X-Macros-Queue "$f")" "mail=$qid rcpt=[$qid][$qid] data=$qid" \
            "$name: the queue id is there at mail, at each rcpt and at data"
    else
        h_is "$(header X-Macros-Queue "$f")" "mail= rcpt=[][$qid] data=$qid" \
            "$name: the queue id is there from the second rcpt on and at data"
    fi
    local logged_tls logged_auth
    logged_tls=$(mta_logged "$qid" tls)
    logged_auth=$(mta_logged "$qid" auth)
    if [ "$tls" = yes ]; then
        h_like "$logged_tls" '^TLSv1\.[23]$' "$name: the MTA logged STARTTLS ($logged_tls)"
    else
        h_is "$logged_tls" "" "$name: the MTA logged no STARTTLS"
    fi
    if [ "$auth" = yes ]; then
        h_is "$logged_auth" "$AUTH_USER" "$name: the MTA logged the SASL user"
    else
        h_is "$logged_auth" "" "$name: the MTA logged no SASL user"
    fi
    h_is "$(header X-TLS "$f")" "$tls" "$name: the tls: $([ "$tls" = yes ] && echo true || echo false) rule matched"
    h_is "$(header X-Auth "$f")" "$auth" "$name: the auth: $([ "$auth" = yes ] && echo true || echo false) rule matched"
    h_is "$(header X-Macros-Mail "$f")" \
        "auth=$([ "$auth" = yes ] && echo yes) tls=$([ "$tls" = yes ] && echo yes)" \
        "$name: auth and tls are known at mail"
}

h_swaks clear --local-interface 127.0.0.1 --local-port 40011 \
    --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test --h-Subject clear --body "in clear text"
check clear 40011 no no
h_file_unlike "$(sink_file clear)" '^X-Auth-User:' "clear: no user rule matched"

h_swaks tls --local-interface 127.0.0.1 --local-port 40012 -tls \
    --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test --h-Subject tls --body "over STARTTLS"
check tls 40012 yes no

# STARTTLS, then MAIL FROM at once without a new EHLO (RFC 3207 lets the
# client skip it; swaks cannot): the TLS macros must come with MAIL FROM.
# Python's smtplib, from a fixed port; its transcript is where h_reply
# looks for the reply to the final dot.
/usr/bin/python3 - "$MTA_PORT" 40014 >"$H_TMP/swaks-noehlo.txt" 2>&1 <<'EOF'
import smtplib, ssl, sys
port, cport = int(sys.argv[1]), int(sys.argv[2])
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test.example",
                 source_address=("127.0.0.1", cport), timeout=60)
s.ehlo()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s.starttls(context=ctx)
for cmd, arg in (("mail", "alice@sender.test"), ("rcpt", "bob@rcpt.test"), ("rcpt", "carol@rcpt.test")):
    code, text = getattr(s, cmd)(arg)
    print("<-  %d %s" % (code, text.decode()))
code, text = s.data(b"Subject: noehlo\r\n\r\nSTARTTLS, no second EHLO\r\n")
print(" -> .")
print("<-  %d %s" % (code, text.decode()))
s.quit()
EOF
check noehlo 40014 yes no

h_swaks auth --local-interface 127.0.0.1 --local-port 40013 -tls \
    -a PLAIN -au "$AUTH_USER" -ap "$AUTH_PASS" \
    --from alice@sender.test --to bob@rcpt.test,carol@rcpt.test --h-Subject auth --body "authenticated"
h_like "$(h_reply "$H_SWAKS_OUT" AUTH)" '^235 ' "auth: the MTA accepts the user's password"
check auth 40013 yes yes
h_is "$(header X-Auth-User "$(sink_file auth)")" "$AUTH_USER" "auth: the auth: $AUTH_USER rule matched"
h_ok "four messages at the sink, none left queued" h_wait_delivered 4
