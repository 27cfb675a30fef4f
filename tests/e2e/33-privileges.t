#!/bin/bash
# tests/e2e/33-privileges.t - root is dropped: without -u the daemon refuses
# to run as root; with -u nobody:nogroup it runs as that user and group
# (after binding its socket as root), makes the workdir private and its
# own, and stores quarantined mail in private folders and files. A
# configuration file with a password that everyone can read is warned
# about by --check and at start-up.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ops.sh"
h_setup "$@"
h_plan 14

mta_install
h_need /usr/bin/python3 ps
run=$(ops_rundir)
policy=$(h_policy ops-secret)

# Root without -u: refused, with a reason.
out=$("$STAGEMILTER" -f -c "$policy" -p "unix:$run/refused.sock" 2>&1)
h_is "$?" 1 "as root without -u the daemon does not start"
h_like "$out" "refusing to run as root: give -u USER" "and says why"
h_ok "and leaves no socket behind" test ! -e "$run/refused.sock"

# --check warns about the world-readable password, not once it is private.
chmod 644 "$policy"
h_like "$("$STAGEMILTER" --check -c "$policy" 2>&1)" \
    "ops-secret\.yaml: warning: the file holds a password \(service scanner\) and is readable by everyone" \
    "--check warns: a password in a world-readable file"
chmod 640 "$policy"
chgrp nogroup "$policy"
h_unlike "$("$STAGEMILTER" --check -c "$policy" 2>&1)" "holds a password" \
    "no warning once the file is mode 0640"
chmod 644 "$policy"

# The workdir exists, too open and root's: the daemon must fix both.
chmod 755 "$H_TMP/work"
ops_start "$policy" "unix:$run/milter.sock" -u nobody:nogroup
pid=$(ops_pid)
h_sink_start
mta_start "unix:$run/milter.sock" "$SINK_PORT" || h_die "$MTA does not start"

h_is "$(ps -o user= -p "$pid" | tr -d ' ')" nobody "ps shows the daemon running as nobody"
h_is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")" \
    "$(id -u nobody) $(id -u nobody) $(id -u nobody) $(id -u nobody)" \
    "real, effective, saved and file-system uid are all nobody's"
h_is "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")" \
    "$(getent group nogroup | cut -d: -f3) $(getent group nogroup | cut -d: -f3) $(getent group nogroup | cut -d: -f3) $(getent group nogroup | cut -d: -f3)" \
    "and every gid is nogroup's"
h_file_like "$(h_stagemilter_log)" "warning: the file holds a password \(service scanner\) and is readable by everyone" \
    "start-up warns about the world-readable password too"
h_is "$(stat -c '%a %U' "$H_TMP/work")" "700 nobody" "the workdir is now mode 0700 and nobody's"

ops_client load --count 1 --subject "Your invoice" >"$H_TMP/q.txt"
h_like "$(cat "$H_TMP/q.txt")" "ok=1 " "a quarantined message gets 250"
f=$(find "$H_TMP/work/suspect/new" -type f | head -n 1)
h_ok "it is stored" test -n "$f"
h_is "$(stat -c '%a %U' "$f" 2>&1)" "600 nobody" "the stored file is mode 0600, nobody's"
h_is "$(stat -c '%a' "$H_TMP/work/suspect" "$H_TMP/work/suspect/tmp" \
    "$H_TMP/work/suspect/new" "$H_TMP/work/suspect/cur" 2>&1 | tr '\n' ' ')" "700 700 700 700 " \
    "the queue's folders are mode 0700"
