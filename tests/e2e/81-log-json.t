#!/bin/bash
# tests/e2e/81-log-json.t - milter.log_format: json. Hostile bytes (control
# bytes, 8-bit, invalid UTF-8, quotes, backslashes) in addresses, the HELO
# name and headers reach the log (with -v, header changes are logged with
# their values); every line stagemilter writes is one JSON object that
# python3's json module parses, with the same fields as the text line.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 9

mta_install
sock=unix:$H_TMP/milter.sock
# -v (every stage decision and the values of header changes) after the
# harness's arguments.
printf '#!/bin/sh\nexec "$@" -v\n' >"$H_TMP/verbose"
chmod 755 "$H_TMP/verbose"
H_WRAPPER=$H_TMP/verbose h_stagemilter_start "$(h_policy log-json)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

# Sendmail refuses a HELO name that is not a domain name (501 5.0.0):
# hostile bytes there only with Postfix.
helo=$'h\xc3\xa9lo\xff.example'
[ "$MTA" = sendmail ] && helo=client.test.example
subject=$'ctl\x01\x1b[31m 8bit gr\xc3\xbc\xc3\x9fe bad\xff\xfe\xc0\xaf quote" back\\slash'
h_swaks hostile --from '"q\"uo\\te"@sender.test' --to bob@rcpt.test,devil@rcpt.test \
    --helo "$helo" --h-Subject "$subject" --body "marker-json"
h_like "$(h_reply "$H_SWAKS_OUT" 'RCPT TO:<devil@rcpt.test>')" '^550 ' "the devil is refused"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "the message is accepted for bob"
h_ok "it reaches the sink" h_wait_delivered 1
h_swaks eightbit --from $'j\xc3\xb6rg\xff@sender.test' --to bob@rcpt.test --body "marker-2"
# Postfix passes an 8-bit (not even UTF-8) sender to the milter; Sendmail
# refuses it itself (501 5.1.7 non-printable character).
want_mail='^250 '
[ "$MTA" = sendmail ] && want_mail='^501 '
h_like "$(h_reply "$H_SWAKS_OUT" 'MAIL FROM')" "$want_mail" "the 8-bit sender: $MTA answers $want_mail"
sleep 1

log=$H_TMP/stagemilter.log
check=$(python3 - "$log" <<'PY'
import json, sys
bad, objs = [], []
with open(sys.argv[1], "rb") as f:
    for n, raw in enumerate(f.read().split(b"\n"), 1):
        if not raw:
            continue
        try:
            o = json.loads(raw.decode("utf-8"))  # strict: invalid UTF-8 fails
            assert isinstance(o, dict), "not an object"
            objs.append(o)
        except Exception as e:
            bad.append("line %d: %s: %r" % (n, e, raw[:200]))
print("lines=%d bad=%d" % (len(objs) + len(bad), len(bad)))
for b in bad[:5]:
    print(b)
deny = [o for o in objs if o.get("verdict") == "deny"]
if deny:
    d = deny[0]
    print("deny code=%s enhanced=%s rcpt=%s stage=%s" % (d.get("code"), d.get("enhanced"), d.get("rcpt"), d.get("stage")))
    print("deny text=%s" % d.get("text"))
    print("deny from=%s" % d.get("from"))
logs = [o for o in objs if "log" in o]
print("log lines=%d" % len(logs))
edits = [o for o in objs if o.get("msg", "").startswith("edit change header")]
print("edit lines=%d" % len(edits))
for o in edits:
    if "gr\u00fc\u00dfe" in o["msg"]:
        print("edit subject=%s" % o["msg"].split(": ", 1)[1])
for o in objs:
    if o.get("msg") == "edit" and "headers_changed" in o:
        print("edit summary headers_changed=%s rcpts_deleted=%s" % (o["headers_changed"], o["rcpts_deleted"]))
        break
print("levels=%s" % ",".join(sorted(set(o.get("level", "?") for o in objs))))
PY
)
h_diag "$check"
h_like "$check" 'lines=[1-9][0-9]* bad=0' "every log line is one JSON object (strict UTF-8)"
h_like "$check" $'deny code=550 enhanced=5\\.7\\.1 rcpt=devil@rcpt\\.test stage=rcpt' \
    "the deny line has its fields (code a number, rcpt without brackets)"
# Values are those of the text line: quotes, backslashes and control
# characters of peer text cleaned to '?' (stm_log_clean).
h_like "$check" $'deny from=\\?q\\?\\?uo\\?\\?te\\?@sender\\.test' \
    "the quoted sender, its quotes and backslashes cleaned as in the text line"
h_like "$check" 'log lines=[2-9]' "log effects are objects with their log field"
h_like "$check" $'edit subject="\\[json\\] ctl\\?\\?\\[31m 8bit grüße bad\xef\xbf\xbd' \
    "-v logs the header change with the hostile subject: UTF-8 kept, invalid bytes U+FFFD, the rest cleaned"
