#!/bin/bash
# tests/e2e/43-mime-zip-bomb.t - a zip bomb (2 GB of zeros in a 2 MB zip,
# attached by mutt) stops at milter.mime.archive_bytes (50M here): defect
# `limit`, and the rule on it refuses the message with a clear reply,
# promptly, while stagemilter's memory stays far below what expanding it
# would take. A normal archive still passes.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
h_plan 7

mta_install
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$(h_policy mime)" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
corpus=$H_TOP/tests/mime/corpus

start=$(date +%s)
h_swaks bomb --from alice@sender.test --to bob@rcpt.test --data "@$corpus/mutt-zip-bomb.eml"
secs=$(($(date +%s) - start))
h_like "$(h_reply "$H_SWAKS_OUT" .)" \
    '^550 5\.7\.1 message too complex to inspect \(an archive expands past 50M' \
    "the zip bomb is refused with 550 5.7.1 and a clear text"
h_ok "promptly (${secs}s)" test "$secs" -le 15
pid=$(pgrep -o -f "stagemilter -f -c $H_TMP/mime.yaml" || true)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
h_diag "stagemilter VmHWM after the bomb: ${hwm:-?} kB"
h_ok "stagemilter's peak memory stays under 200 MB (${hwm:-?} kB)" test "${hwm:-999999999}" -lt 204800
h_file_like "$(h_stagemilter_log)" 'rule="too complex"' "the log names the rule"
h_is "$(h_sink_count)" 0 "nothing reaches the sink"
h_swaks zip --from alice@sender.test --to bob@rcpt.test --data "@$corpus/swaks-attach.eml"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a normal zip passes"
h_ok "and reaches the sink" h_wait_delivered 1
