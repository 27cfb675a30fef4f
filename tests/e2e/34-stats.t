#!/bin/bash
# tests/e2e/34-stats.t - the counters match the messages sent: 7 accepted,
# 3 refused at rcpt by a rule, 2 quarantined, as the SIGUSR1 log line and
# the Prometheus file (-s) say; the file is valid text format and is
# rewritten every --stats-interval seconds.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ops.sh"
h_setup "$@"
h_plan 16

mta_install
h_need /usr/bin/python3
run=$(ops_rundir)
prom=$run/stagemilter.prom
ops_start "$(h_policy ops-stats)" "unix:$run/milter.sock" -u nobody -s "$prom" --stats-interval 1
pid=$(ops_pid)
h_sink_start
mta_start "unix:$run/milter.sock" "$SINK_PORT" || h_die "$MTA does not start"

h_wait 5 test -f "$prom"
h_file_like "$prom" '^stagemilter_messages_in_flight 0$' "the statistics file is there from the start"

h_like "$(ops_client load --count 7 --concurrency 3)" "ok=7 " "7 messages accepted"
h_like "$(ops_client load --count 3 --to lucifer@satan.test)" "perm=3 " "3 refused at rcpt"
h_like "$(ops_client load --count 2 --subject "Your invoice")" "ok=2 " "2 quarantined (250)"
h_wait_delivered 7 20

kill -USR1 "$pid"
ops_wait_log "stats uptime=" 5
line=$(grep -E "stats uptime=" "$(h_stagemilter_log)" | tail -n 1)
h_like "$line" " in_flight=0 messages=9 messages\.accept=7 messages\.quarantine=2 " \
    "SIGUSR1 logs the messages by verdict"
h_like "$line" " rcpt\.deny=3 preq\.quarantine=2 " "and the decisions by stage and verb"
h_like "$line" ' rule\.rcpt\."no satan"\.deny=3 rule\.preq\."suspicious subject"\.quarantine=2 ' \
    "and by rule"

# SIGUSR1 also rewrote the file; wait for a periodic write to be sure it is current.
sleep 1.5
h_file_like "$prom" '^stagemilter_messages_total\{verdict="accept"\} 7$' "the file: 7 accepted"
h_file_like "$prom" '^stagemilter_messages_total\{verdict="quarantine"\} 2$' "2 quarantined"
h_file_like "$prom" '^stagemilter_decisions_total\{stage="rcpt",verdict="deny"\} 3$' "3 denied at rcpt"
h_file_like "$prom" '^stagemilter_rule_decisions_total\{stage="rcpt",rule="no satan",verdict="deny"\} 3$' \
    "per rule: no satan"
h_file_like "$prom" '^stagemilter_rule_decisions_total\{stage="preq",rule="suspicious subject",verdict="quarantine"\} 2$' \
    "per rule: suspicious subject"
h_file_like "$prom" '^stagemilter_messages_in_flight 0$' "nothing in flight"
bad=$(grep -Ev '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$' "$prom")
h_is "$bad" "" "every line of the file is Prometheus text format"
h_is "$(stat -c '%a' "$prom")" 644 "the file is mode 0644"
t=$(stat -c %Y "$prom")
sleep 2.2
h_ok "it is rewritten every --stats-interval (1 s)" test "$(stat -c %Y "$prom")" -gt "$t"
