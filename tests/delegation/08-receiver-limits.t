#!/bin/bash
# tests/delegation/08-receiver-limits.t - the receiver does not trust its
# network position: a client outside receiver.allow gets 554 at connect
# (one inside it the greeting); many clients holding unfinished DATA do not
# make the process grow beyond the memory budget, and a pending delegation's
# message still gets through meanwhile; a client trickling bytes is cut at
# receiver.data_timeout and one sending NOOPs at receiver.session_timeout,
# neither renewed by each byte; garbage sent without waiting for replies
# ends the connection at the first refusal. The real receiver, run by delegate-probe.
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/delegation/dg.sh"
h_plan 15
h_need swaks /usr/bin/python3

P=$H_TMP/policy.yaml
SVC='  any:
    targets: ["tcp://127.0.0.1:10099"]'

# A receiver with one pending ticket on policy $P.
start_receiver() {
    rm -f "$H_TMP/token"
    h_daemon "receiver-$1" ${DG_WRAPPER:-} "$DG_PROBE" -c "$P" -S 120 -t "$H_TMP/token"
    h_wait_port "$DG_RECEIVER_PORT" 10 && h_wait 5 test -s "$H_TMP/token" ||
        h_die "the receiver did not start" "$(cat "$H_TMP/receiver-$1.log")"
    TOKEN=$(cat "$H_TMP/token")
}

# The first line the receiver says to a client bound to SOURCE ("closed"
# when it closes without a word).
first_line() {
    /usr/bin/python3 - "$1" "$DG_RECEIVER_PORT" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(10)
s.bind((sys.argv[1], 0))
s.connect(("127.0.0.1", int(sys.argv[2])))
data = b""
try:
    while b"\n" not in data:
        b = s.recv(512)
        if not b:
            break
        data += b
except OSError:
    pass
print(data.split(b"\r\n")[0].decode() or "closed")
EOF
}

# ---- receiver.allow: only 127.0.0.2 may connect.
dg_policy "$P" "$SVC"
sed -i 's/^  listen: .*/&\n  allow: ["127.0.0.2\/32"]/' "$P"
start_receiver allow
h_like "$(first_line 127.0.0.1)" '^(554 5\.7\.1 |closed$)' \
    "a client outside receiver.allow is refused at connect"
h_like "$(first_line 127.0.0.2)" '^220 ' "a client inside receiver.allow gets the greeting"
h_stop receiver-allow 5
h_file_like "$H_TMP/receiver-allow.log" 'peer=127\.0\.0\.1:[0-9]+ refused: not in receiver\.allow' \
    "the refusal is logged"
h_file_like "$H_TMP/receiver-allow.log" '^denied=1 ' "and counted"

# ---- memory: 30 clients each hold 1.9 MB of unfinished DATA (57 MB in
# all) with max_message_size 2M; the budget is about 20.5 MB.
dg_policy "$P" "$SVC"
printf 'milter:\n  max_message_size: 2M\n' >>"$P"
start_receiver memory
PID=$(pgrep -s "${H_PIDS[receiver-memory]}" -f delegate-probe | head -n 1)
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
base=$(rss VmRSS)
/usr/bin/python3 - "$DG_RECEIVER_PORT" "$H_TMP/held" <<'EOF' &
import socket, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
line = b"x" * 998 + b"\r\n"
socks = []
def cmd(s, text):
    s.sendall(text)
    data = b""
    while not data.endswith(b"\r\n"):
        data += s.recv(4096)
    return data
for i in range(30):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.recv(512)
    cmd(s, b"EHLO slow.test\r\n")
    cmd(s, b"MAIL FROM:<a@sender.test>\r\n")
    cmd(s, b"RCPT TO:<b@rcpt.test>\r\n")
    cmd(s, b"DATA\r\n")
    s.sendall(line * 1900)  # 1.9 MB, no final dot
    socks.append(s)
open(flag, "w").write("held\n")
time.sleep(30)
EOF
holder=$!
h_wait 60 test -s "$H_TMP/held" || h_diag "the slow clients did not get their data in"
sleep 1
hwm=$(rss VmHWM)
h_diag "VmRSS before: $base kB; VmHWM with 30 x 1.9 MB held: $hwm kB"
h_ok "30 clients holding 57 MB of DATA: the receiver grew by less than 40 MB (budget 20.5 MB)" \
    test $((hwm - base)) -lt 40960
swaks --server "127.0.0.1:$DG_RECEIVER_PORT" --helo scanner.test --timeout 20 \
    --from scanner@sender.test --to bob@rcpt.test --h-Subject "meanwhile" \
    --header "X-Stagemilter-Ticket: $TOKEN" --body "hello" >"$H_TMP/swaks-meanwhile.txt" 2>&1
h_like "$(h_reply "$H_TMP/swaks-meanwhile.txt" .)" '^250 2\.0\.0 ' \
    "meanwhile the pending delegation's message is taken (250)"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
h_stop receiver-memory 5
L=$H_TMP/receiver-memory.log
h_file_like "$L" '^ticket=delivered size=[0-9]+$' "the pending delegation holds it"
h_file_like "$L" "refused after [0-9]+ bytes: the receiver's memory budget" "clients over the budget were refused"

# ---- deadlines: data 2s, session 4s; the idle timeout (30 s) never fires.
dg_policy "$P" "$SVC"
sed -i 's/^  listen: .*/&\n  data_timeout: 2s\n  session_timeout: 4s/' "$P"
start_receiver deadlines
# Seconds until the receiver hangs up on a client that sends a byte every
# 0.3 s after DATA (MODE data) or a NOOP every 0.3 s (MODE session), and
# the last line it said; at most 15 s.
trickle() {
    /usr/bin/python3 - "$DG_RECEIVER_PORT" "$1" <<'EOF'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
t0 = time.monotonic()
def cmd(text):
    s.sendall(text)
    data = b""
    while not data.endswith(b"\r\n"):
        data += s.recv(4096)
    return data
s.recv(512)
if mode == "data":
    cmd(b"EHLO slow.test\r\n"); cmd(b"MAIL FROM:<a@sender.test>\r\n")
    cmd(b"RCPT TO:<b@rcpt.test>\r\n"); cmd(b"DATA\r\n")
    t0 = time.monotonic()
s.setblocking(False)
last = buf = b""
while time.monotonic() - t0 < 15:
    try:
        s.send(b"x" if mode == "data" else b"NOOP\r\n")
    except OSError:
        break
    time.sleep(0.3)
    try:
        got = s.recv(4096)
        if got == b"":
            break
        buf += got
        lines = buf.split(b"\r\n")
        last = lines[-2] if len(lines) > 1 else last
        if last.startswith(b"421"):
            break
    except BlockingIOError:
        pass
    except OSError:
        break
print("%.1f %s" % (time.monotonic() - t0, last.decode(errors="replace")))
EOF
}
out=$(trickle data)
h_diag "data: $out"
h_like "$out" '^[23]\.[0-9] 421 4\.4\.2 ' "a client trickling DATA is cut at data_timeout (2 s) with 421"
out=$(trickle session)
h_diag "session: $out"
h_like "$out" '^[45]\.[0-9] 421 4\.4\.2 ' \
    "a client sending NOOPs is cut at session_timeout (4 s) with 421"
# Garbage sent in one go: the first refusal, then 421 and the end.
out=$(/usr/bin/python3 - "$DG_RECEIVER_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.recv(512)
s.sendall(b"GARBAGE\r\nJUNK 1\r\nJUNK 2\r\nJUNK 3\r\n")
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            data += b"<closed>"
            break
        data += b
except OSError:
    pass
print(data.decode(errors="replace").replace("\r\n", "|"))
EOF
)
h_like "$out" '^502 [^|]*\|421 4\.5\.0 [^|]*\|<closed>$' \
    "pipelined garbage: one 502, then 421 and the connection closes"
h_stop receiver-deadlines 5
L=$H_TMP/receiver-deadlines.log
h_file_like "$L" 'closed: pipelined input after a refused command' "that is logged"
h_file_like "$L" 'closed in DATA after [0-9]+ bytes: receiver\.data_timeout passed' \
    "the data deadline is logged"
h_file_like "$L" 'closed: receiver\.session_timeout passed' "the session deadline is logged"
h_file_like "$L" '^denied=0 no_memory=0 timed_out=2$' "both counted"
