#!/bin/bash
# tests/e2e/44-spool.t - milter.spool end to end: with spool {directory:
# $H_TMP/spool, memory: 64K} every message below is kept in an unlinked
# spool file while it is judged, and read from there by the MIME parser,
# the quarantine store and the real clamd.
#   a  a 5 MB message (mutt) whose zip holds an .exe: quarantined by the
#      attachment rule; 250; the quarantined copy is the message as sent
#      (headers and body), our header and the MTA's added; the log says so
#   b  a 3 MB base64 text part (swaks --attach) with a word only at its
#      end: past the text kept of a spooled message (256 KiB),
#      so as stagemilter.yaml(5) says the body rule does not see it and
#      the defect limit does; a 200 KB one (spooled, within the text kept)
#      is refused by the body rule on its last word
#   c  EICAR at the end of a 3 MB message: found by the real clamd
#   d  a clean 5 MB message reaches the sink byte for byte
#   memory: a 9 MB message after those does not raise the daemon's peak
#      memory (VmHWM) by 2 MB (without the spool it rises by about 12 MB)
#   e  the spool directory is empty afterwards, and mode 0700
#   f  the spool directory removed while running: a large message is
#      tempfailed (4xx) and the log says why; a small one still passes
. "$(dirname "$0")/../lib/harness.sh"
h_setup "$@"
. "$H_TOP/tests/lib/scanners.sh"
h_plan 26

h_need mutt swaks zip python3
mta_install
sc_clamd_start
spool=$H_TMP/spool
P=$H_TMP/spool.yaml
mkdir -p "$H_TMP/work"
cat >"$P" <<EOF
milter:
  workdir: "$H_TMP/work"
  quarantine: store
  on_error: tempfail
  max_message_size: 20M
  spool: {directory: "$spool", memory: 64K}
services:
  clamav:
    protocol: clamd
    targets: ["unix:$SC_CLAMD_SOCK"]
    timeout: 60s
    on_failure: tempfail
stages:
  preq:
    - rule: executable attachment
      if: {attachment: {detected_type: "application/vnd.microsoft.portable-executable", in_archive: true}}
      then: {quarantine: banned}
    - rule: last word
      if: {body: "/ZEBRAFINALWORD/"}
      then: {reject: "the last word was seen"}
    - rule: scan
      delegate: clamav
      rules:
        - rule: infected
          if: {virus: "*"}
          then: {quarantine: virus}
    - rule: text cut
      if: {mime_defect: limit}
      then: {reject: "text too long to read whole"}
EOF
"$STAGEMILTER" --check -c "$P" >"$H_TMP/check.txt" 2>&1 || h_die "the policy does not check" "$(cat "$H_TMP/check.txt")"
sock=unix:$H_TMP/milter.sock
h_stagemilter_start "$P" "$sock"
h_sink_start
mta_start "$sock" "$SINK_PORT" || h_die "$MTA does not start"
log=$(h_stagemilter_log)

# Files made by real software in a private HOME.
w=$H_TMP/make
mkdir -p "$w"
export HOME=$w LC_ALL=C.UTF-8
python3 - "$w" <<'PY' || h_die "cannot make the files to attach"
import os, struct, sys
w = sys.argv[1]
mz = bytearray(b'MZ' + b'\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00' + b'\xb8' + b'\x00' * 7 + b'\x40' + b'\x00' * 35)
mz = mz.ljust(0x3c, b'\x00') + struct.pack('<I', 0x80)
mz = mz.ljust(0x80, b'\x00')
pe = b'PE\x00\x00' + struct.pack('<HHIIIHH', 0x14c, 1, 0, 0, 0, 0xe0, 0x0102)
opt = struct.pack('<HBB', 0x10b, 14, 0) + b'\x00' * (0xe0 - 4)
open(os.path.join(w, 'setup.exe'), 'wb').write(bytes(mz) + pe + opt + b'\x00' * 256)
rnd = open('/dev/urandom', 'rb')
open(os.path.join(w, 'figures.bin'), 'wb').write(rnd.read(3700 * 1024))
open(os.path.join(w, 'photo.jpg'), 'wb').write(b'\xff\xd8\xff\xe0' + rnd.read(3700 * 1024))
open(os.path.join(w, 'big.jpg'), 'wb').write(b'\xff\xd8\xff\xe0' + rnd.read(6700 * 1024))
def words(path, size, last):
    out, n = [], 0
    i = 0
    while n < size - len(last):
        s = 'word%d%s' % (i, '\n' if i % 12 == 11 else ' ')
        out.append(s); n += len(s); i += 1
    text = ''.join(out)[:size - len(last)] + last
    open(os.path.join(w, path), 'w').write(text)
words('long.txt', 3 * 1024 * 1024, '\nZEBRAFINALWORD\n')
words('medium.txt', 200 * 1024, '\nZEBRAFINALWORD\n')
words('report.txt', 3 * 1024 * 1024, '\nX5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n')
PY
(cd "$w" && zip -q -X big.zip figures.bin setup.exe) || h_die "zip failed"
printf '#!/bin/sh\ncat > "$CAPTURE"\n' >"$w/capture.sh"
chmod +x "$w/capture.sh"
printf 'Hello Bob,\nthe figures are attached.\n' >"$w/body.txt"
CAPTURE=$w/a.eml timeout 60 mutt -n -F /dev/null \
    -e "set sendmail=$w/capture.sh; set from=alice@sender.test; set use_from=yes; set charset=utf-8; set send_charset=utf-8; set record=''; set hostname=sender.test" \
    -s "Big figures" -a "$w/big.zip" -- bob@rcpt.test <"$w/body.txt" || h_die "mutt failed"
size=$(stat -c %s "$w/a.eml")
h_diag "mutt's message: $size bytes"

# The body of message file $1 equals the body of $2 (after the first empty
# line, line ends made LF; empty lines at the very end do not count: swaks
# adds one, the sink more), and every header line of $1 is in $2's header.
same_message() {
    python3 - "$1" "$2" <<'PY'
import sys
a, b = (open(p, 'rb').read().replace(b'\r\n', b'\n') for p in sys.argv[1:3])
ha, _, ba = a.partition(b'\n\n')
hb, _, bb = b.partition(b'\n\n')
ba, bb = ba.rstrip(b'\n'), bb.rstrip(b'\n')
if ba != bb:
    sys.exit('bodies differ: %d and %d bytes' % (len(ba), len(bb)))
# Header fields of a, unfolded, each in b's header (in order).
def fields(h):
    out = []
    for line in h.split(b'\n'):
        if line[:1] in (b' ', b'\t') and out:
            out[-1] += b'\n' + line
        else:
            out.append(line)
    return out
fb, i = fields(hb), 0
for f in fields(ha):
    if f.startswith(b'From '):
        continue
    while i < len(fb) and fb[i] != f:
        i += 1
    if i == len(fb):
        sys.exit('header field missing: %r' % f[:80])
PY
}

hwm() { awk '/^VmHWM/ {print $2}' "/proc/$(pgrep -o -f "stagemilter -f -c $P")/status" 2>/dev/null; }
# The daemon's peak memory before any large message, a small one with
# attachments judged (libmagic's database loaded).
h_swaks warm --from alice@sender.test --to bob@rcpt.test --data "@$H_TOP/tests/mime/corpus/mutt-attachments.eml"
hwm0=$(hwm)
h_diag "VmHWM after a small message: $hwm0 kB"

# a. The 5 MB message with an .exe in its zip.
h_swaks a --from alice@sender.test --to bob@rcpt.test --data "@$w/a.eml"
h_sent_data "$H_SWAKS_OUT" >"$H_TMP/a-sent.eml"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "a: a $size-byte message with an .exe in its zip: 250 (quarantined)"
q=$H_TMP/work/banned/new
h_is "$(find "$q" -type f 2>/dev/null | wc -l)" 1 "a: one file in the banned quarantine"
f=$(find "$q" -type f 2>/dev/null | head -n 1)
h_file_like "$f" '^X-Stagemilter-Quarantine: rule="executable attachment" queue=banned' \
    "a: stored by the attachment rule"
if out=$(same_message "$H_TMP/a-sent.eml" "$f" 2>&1) && out=$(same_message "$w/a.eml" "$f" 2>&1); then
    h_pass "a: the stored copy is the message as sent (every header, the body byte for byte)"
else
    h_fail "a: the stored copy is the message as sent (every header, the body byte for byte)" "$out"
fi
h_file_like "$log" 'rule="executable attachment" verdict=quarantine' "a: the log names the rule"

# b. A word at the end of a 3 MB base64 text part, and of a 200 KB one.
h_swaks b1 --from alice@sender.test --to bob@rcpt.test --h-Subject "long text" \
    --body "The text is attached." --attach-type text/plain --attach "@$w/long.txt"
h_file_like "$H_SWAKS_OUT" 'Content-Transfer-Encoding: BASE64' "b: swaks sent the text part in base64"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^5[0-9][0-9] (5\.[0-9.]+ )?text too long to read whole' \
    "b: 3 MB of text: the body rule does not see its last word, the defect limit does (man page)"
h_swaks b2 --from alice@sender.test --to bob@rcpt.test --h-Subject "medium text" \
    --body "The text is attached." --attach-type text/plain --attach "@$w/medium.txt"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^5[0-9][0-9] (5\.[0-9.]+ )?the last word was seen' \
    "b: 200 KB of text (spooled, within the text kept): its last word is refused by the body rule"
h_file_like "$log" 'rule="last word" verdict=reject' "b: the log names the body rule"

# c. EICAR at the end of a 3 MB message, to the real clamd.
h_swaks c --from alice@sender.test --to bob@rcpt.test --h-Subject "report" --body "@$w/report.txt"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "c: EICAR at the end of 3 MB: 250 (quarantined)"
h_is "$(sc_quarantined virus)" 1 "c: clamd found it: stored in the virus quarantine"
h_file_like "$log" 'delegate service=clamav .*reply="([0-9]+: )?stream: Eicar-Test-Signature' \
    "c: clamd's answer names the signature"
h_file_like "$H_TMP/clam/clamd.log" 'Eicar-Test-Signature' "c: clamd logged the find"

# d. A clean 5 MB message.
h_swaks d --from alice@sender.test --to bob@rcpt.test --h-Subject "photo" \
    --body "A photo." --attach-type image/jpeg --attach "@$w/photo.jpg"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "d: a clean 5 MB message: 250"
h_ok "d: it reaches the sink" h_wait_delivered 2
h_sent_data "$H_SWAKS_OUT" >"$H_TMP/d-sent.eml"
h_diag "d: swaks sent $(stat -c %s "$H_TMP/d-sent.eml") bytes"
if out=$(same_message "$H_TMP/d-sent.eml" "$(h_sink_files | tail -n 1)" 2>&1); then
    h_pass "d: byte for byte (every header, the body)"
else
    h_fail "d: byte for byte (every header, the body)" "$out"
fi
h_file_like "$log" 'delegate service=clamav .*reply="([0-9]+: )?stream: OK"' "d: clamd read it and found it clean"

hwm1=$(hwm)
h_diag "VmHWM after the 3 and 5 MB messages: $hwm1 kB"
# A 9 MB message (Postfix's default size limit is 10 MB): the peak does
# not grow with the message (held in memory it would by 9 MB and more).
h_swaks big --from alice@sender.test --to bob@rcpt.test --h-Subject "big photo" \
    --body "A big photo." --attach-type image/jpeg --attach "@$w/big.jpg"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "memory: a clean 9 MB message: 250"
hwm2=$(hwm)
h_ok "memory: the daemon's peak grows by less than 2 MB for it ($hwm1 -> $hwm2 kB)" \
    test "$((hwm2 - hwm1))" -lt 2048

# e. Nothing left in the spool; its mode.
h_is "$(find "$spool" -mindepth 1 | wc -l)" 0 "e: the spool directory is empty afterwards"
h_is "$(stat -c %a "$spool")" 700 "e: and mode 0700"

# f. The spool directory removed while running.
rm -rf "$spool"
h_swaks f1 --from alice@sender.test --to bob@rcpt.test --h-Subject "photo again" \
    --body "A photo." --attach-type image/jpeg --attach "@$w/photo.jpg"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^4[0-9][0-9] ' "f: no spool directory: a large message is tempfailed"
h_file_like "$log" "cannot keep the message in milter.spool.directory $spool: No such file or directory" \
    "f: the log says why"
h_swaks f2 --from alice@sender.test --to bob@rcpt.test --h-Subject "small" --body "small body"
h_like "$(h_reply "$H_SWAKS_OUT" .)" '^250 ' "f: a small message (below memory) still passes"
h_ok "f: and reaches the sink" h_wait_delivered 4
h_file_like "$(h_sink_files | tail -n 1)" '^small body' "f: that one"
