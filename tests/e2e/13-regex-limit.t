#!/bin/bash
# tests/e2e/13-regex-limit.t - a body regex that backtracks catastrophically
# on an attacker's body reaches its match limit: the client gets
# milter.on_error's temporary failure (451 4.3.0) and the log says why,
# where it once counted as "no match" and the message was delivered. A body
# the regex matches cheaply is still refused, a harmless one delivered.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 6

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy regex-limit)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"

evil="$(printf 'a%.0s' $(seq 1 40))b"
h_swaks evil --from alice@sender.test --to bob@rcpt.test --h-Subject "evil" --body "$evil"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^451 4\.3\.0 ' \
    "a body that makes the regex reach its match limit gets on_error's 451 4.3.0"
h_file_like "$(h_stagemilter_log)" 'rule failed: regex /\(\?m\)\(a\+\)\+.*: match limit exceeded' \
    "the log names the regex and the limit"
h_swaks plain --from alice@sender.test --to bob@rcpt.test --h-Subject "plain" --body "aaaa"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^550 5\.7\.1 ' "a body it matches cheaply is refused"
h_swaks ham --from alice@sender.test --to bob@rcpt.test --h-Subject "ham" --body "hello there."
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a harmless body is accepted"
h_ok "only the harmless one reaches the sink" h_wait_delivered 1
h_file_like "$(h_sink_files | head -n 1)" '^Subject: ham' "and it is the harmless one"
