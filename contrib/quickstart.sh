#!/bin/bash
# contrib/quickstart.sh - see stagemilter work, on a fresh Debian 12, as root:
#
#     contrib/quickstart.sh
#
# Installs the packages (contrib/install-deps.sh), builds, then, inside
# private namespaces (only a loopback interface, nothing reaches the network,
# the machine's own Postfix is never touched), starts a throw-away Postfix
# with stagemilter attached running contrib/policies/example.yaml, sends
# three messages with swaks and shows what happened to each: the SMTP
# replies, stagemilter's log lines, the quarantined file, the delivered
# message. Then it stops everything. QUICKSTART_KEEP=1 keeps the directory
# with all the files.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

if [ "${H_IN_NS:-}" != "$$" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "quickstart: run me as root" >&2
        exit 1
    fi
    # (a subshell, so that the re-execution below still finds "$0")
    (
    set -e
    cd "$top"
    echo "==> Installing the packages stagemilter needs (if missing)"
    contrib/install-deps.sh
    echo "==> Building"
    if [ ! -f Makefile ]; then
        { [ -x configure ] || ./autogen.sh; } && ./configure
    fi
    make -j2 >/dev/null
    make -j2 stagemilter >/dev/null
    echo "==> Checking the example policy"
    ./stagemilter --check -c contrib/policies/example.yaml
    ) || exit 1
fi

. "$top/tests/lib/harness.sh"
export H_KEEP=${QUICKSTART_KEEP:-}
h_setup "$@"

# The harness speaks TAP to its caller on failures; here a person reads.
say() { printf '\n==> %s\n' "$*"; }
show() { sed 's/^/    /'; }

mta_install
policy=$H_TMP/example.yaml
sed "s|^\(  workdir:\).*|\1 $H_TMP/quarantine|" "$top/contrib/policies/example.yaml" >"$policy"
sock=unix:$H_TMP/milter.sock

say "Starting, on loopback only: smtp-sink (stands for the next hop) on 127.0.0.1:$SINK_PORT,"
echo "    stagemilter -f --run-as-root -c example.yaml -p $sock  (in production: -u USER instead of --run-as-root),"
echo "    Postfix on 127.0.0.1:$MTA_PORT with contrib/postfix/main.cf (smtpd_milters = $(pf_milter_address "$sock"))"
h_stagemilter_start "$policy" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "Postfix does not start; see $(mta_log)"

# Send one message; print the command and the client's view of the dialogue.
send() {
    local name=$1
    shift
    echo "    \$ swaks --server 127.0.0.1:$MTA_PORT$(printf ' %q' "$@")"
    h_swaks "$name" "$@"
    # The envelope commands, the end of data, and the server's final replies.
    awk '{ sub(/\r$/, "") }
        /^ -> (MAIL|RCPT|DATA)/ || /^ -> \.$/ { print; want = 1; next }
        want && /^<(-|\*\*) +[0-9][0-9][0-9] / { print; want = 0 }' "$H_SWAKS_OUT" | show
}

say "Message 1: to a domain the policy refuses (rule \"no mail for bad domains\")"
send refused --from alice@example.net --to devil@satan.org --h-Subject "Hello" --body "Hi devil."

say "Message 2: an unsolicited invoice (rule \"unsolicited invoices\": quarantine)"
send quarantined --from billing@example.net --to bob@example.org \
    --h-Subject "Your invoice 4711" --body "Please open the attached invoice."

say "Message 3: an ordinary message (no rule decides; an action adds a header)"
send delivered --from alice@example.net --to bob@example.org \
    --h-Subject "Lunch?" --body "Lunch at noon?"

h_wait_delivered 1 20 || true

say "stagemilter's log ($(h_stagemilter_log))"
show <"$(h_stagemilter_log)"

say "Postfix's log, the milter lines ($(mta_log))"
grep -E 'milter|status=' "$(mta_log)" | show

say "The quarantine Maildir: $H_TMP/quarantine/suspect/new/"
for f in "$H_TMP"/quarantine/suspect/new/*; do
    [ -f "$f" ] || {
        echo "    (empty: the quarantine did not happen)"
        continue
    }
    echo "    --- $(basename "$f")"
    show <"$f"
done

say "At the sink (what the next hop received): $(h_sink_count) message(s)"
for f in $(h_sink_files); do
    echo "    --- $(basename "$f")"
    show <"$f"
done

say "Summary"
r1=$(h_reply "$H_TMP/swaks-refused.txt" 'RCPT TO:')
r2=$(h_reply "$H_TMP/swaks-quarantined.txt" .)
r3=$(h_reply "$H_TMP/swaks-delivered.txt" .)
echo "    1. devil@satan.org: $r1  -> refused, the sender's MTA bounces it"
echo "    2. the invoice:     $r2  -> accepted, kept in quarantine/suspect, not delivered"
echo "    3. lunch:           $r3  -> delivered with an X-Stagemilter header"

ok=1
[[ $r1 == "550 5.7.1 "* ]] || ok=
[[ $r2 == "250 "* ]] && [ -n "$(ls -A "$H_TMP/quarantine/suspect/new" 2>/dev/null)" ] || ok=
[[ $r3 == "250 "* ]] && [ "$(h_sink_count)" = 1 ] || ok=

say "Stopping Postfix, stagemilter and smtp-sink"
if [ -n "$ok" ]; then
    echo "    Quickstart OK. Next: contrib/postfix/main.cf and contrib/policies/example.yaml."
    exit 0
fi
echo "    Quickstart FAILED: one of the three messages was not handled as described."
H_FAILED=1
exit 1
