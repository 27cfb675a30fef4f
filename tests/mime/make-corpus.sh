#!/bin/bash
# tests/mime/make-corpus.sh - make tests/mime/corpus/*.eml with real mail
# software from Debian (mutt, mpack, swaks, Python's email package, zip,
# 7z), not by hand: the messages the MIME layer (policy/mime) and its
# --trace goldens (tests/mime/run.t) are tested on.
#
# Usage: tests/mime/make-corpus.sh [OUTDIR]   (default tests/mime/corpus)
# Run it again only to change the corpus (dates and boundaries change),
# then regenerate the goldens: REGEN=1 tests/mime/run.t, review, commit
# both. A missing tool fails the script; nothing is skipped.
#
# The hostile cases are made by Python from the same building blocks
# (a real zip of zeros for the zip bomb, Python's generator for the nested
# parts) where no mail program would make them on purpose.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus}
for tool in mutt mpack swaks python3 zip 7z; do
    command -v "$tool" >/dev/null || { echo "make-corpus: $tool is missing" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export HOME=$work LC_ALL=C.UTF-8 TZ=UTC

# Files to attach.
printf 'Quarterly figures attached.\n' >report.txt
printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/Catalog>>\nendobj\ntrailer\n<</Root 1 0 R>>\n%%%%EOF\n' >invoice.pdf
# A minimal Windows executable (MZ header pointing to a PE header for i386):
# what libmagic calls application/vnd.microsoft.portable-executable.
python3 - <<'PY'
import struct
mz = bytearray(b'MZ' + b'\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00' + b'\xb8' + b'\x00' * 7 + b'\x40' + b'\x00' * 35)
mz = mz.ljust(0x3c, b'\x00') + struct.pack('<I', 0x80)
mz = mz.ljust(0x80, b'\x00')
pe = b'PE\x00\x00' + struct.pack('<HHIIIHH', 0x14c, 1, 0, 0, 0, 0xe0, 0x0102)
opt = struct.pack('<HBB', 0x10b, 14, 0) + b'\x00' * (0xe0 - 4)
open('setup.exe', 'wb').write(bytes(mz) + pe + opt + b'\x00' * 256)
PY
cp setup.exe 'facture.pdf.exe'
zip -q -X plain.zip report.txt invoice.pdf
zip -q -X exe.zip setup.exe report.txt
zip -q -X -P secret encrypted.zip invoice.pdf
7z a -bd -bso0 -bsp0 archive.7z report.txt setup.exe
7z a -bd -bso0 -bsp0 -psecret -mhe=on encrypted.7z invoice.pdf
zip -q -X inner.zip setup.exe
zip -q -X nested.zip inner.zip report.txt
# The zip bomb: 2 GB of zeros in an archive of about 2 MB.
head -c 2G /dev/zero | zip -q -9 bomb.zip -

# mutt, non-interactive: its sendmail is a script that keeps the message.
cat >capture.sh <<'EOF'
#!/bin/sh
cat > "$CAPTURE"
EOF
chmod +x capture.sh
mutt_send() { # OUT SUBJECT BODY ATTACHMENTS...
    local o=$1 subject=$2 body=$3
    shift 3
    CAPTURE=$out/$o timeout 30 mutt -n -F /dev/null \
        -e "set sendmail=$work/capture.sh; set from=alice@example.org; set use_from=yes; set realname='Alice Example'; set charset=utf-8; set send_charset=utf-8; set record=''; set hostname=example.org" \
        -s "$subject" -a "$@" -- bob@example.net <"$body"
}
printf 'Hello Bob,\nthe report and the invoice are attached.\n' >body.txt
mutt_send mutt-attachments.eml "Report and invoice" body.txt report.txt invoice.pdf
mutt_send mutt-exe-in-zip.eml "Rechnung März" body.txt exe.zip
mutt_send mutt-encrypted-zip.eml "Encrypted invoice" body.txt encrypted.zip
mutt_send mutt-7z.eml "Archive" body.txt archive.7z encrypted.7z
mutt_send mutt-nested-zip.eml "Nested" body.txt nested.zip
mutt_send mutt-zip-bomb.eml "Big figures" body.txt bomb.zip

# mpack: base64 attachments the way Usenet tools make them.
mpack -s "Your invoice" -d body.txt -o "$out/mpack-pdf.eml" invoice.pdf
mpack -s "Setup" -o "$out/mpack-exe.eml" facture.pdf.exe

# swaks --attach, talking SMTP to a one-message sink on a pipe.
cat >sink.py <<'EOF'
import sys
out = open(sys.argv[1], 'wb')
w = sys.stdout.buffer
w.write(b'220 sink ESMTP\r\n'); w.flush()
data = False
for line in sys.stdin.buffer:
    if data:
        if line in (b'.\r\n', b'.\n'):
            data = False
            w.write(b'250 ok\r\n'); w.flush()
            continue
        out.write(line[1:] if line.startswith(b'..') else line)
        continue
    cmd = line[:4].upper()
    if cmd == b'DATA':
        data = True
        w.write(b'354 go\r\n')
    elif cmd == b'QUIT':
        w.write(b'221 bye\r\n'); w.flush()
        break
    elif cmd == b'EHLO':
        w.write(b'250-sink\r\n250 8BITMIME\r\n')
    else:
        w.write(b'250 ok\r\n')
    w.flush()
EOF
swaks --silent 2 --helo client.example.org --from alice@example.org --to bob@example.net \
    --header "Subject: Photos" --body "See the attachment." \
    --attach-type application/zip --attach-name photos.zip --attach @plain.zip \
    --pipe "python3 $work/sink.py $out/swaks-attach.eml"
swaks --silent 2 --helo client.example.org --from alice@example.org --to bob@example.net \
    --header "Subject: Update" --body "Run this." \
    --attach-type application/octet-stream --attach-name setup.exe --attach @setup.exe \
    --pipe "python3 $work/sink.py $out/swaks-exe.eml"

# Python's email package with its default policy: encoded subjects and
# names, nested messages, HTML with links; then the hostile cases.
OUT=$out python3 - <<'PY'
import os, email.policy
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
from email.header import Header
out = os.environ['OUT']

def save(name, msg):
    data = msg if isinstance(msg, bytes) else msg.as_bytes(policy=email.policy.SMTP)
    open(os.path.join(out, name), 'wb').write(data)

def base(subject):
    m = EmailMessage()
    m['From'] = 'Alice <alice@example.org>'
    m['To'] = 'bob@example.net'
    m['Subject'] = subject
    m['Message-ID'] = '<%s@example.org>' % subject.encode('ascii', 'replace').decode()[:20].replace(' ', '.')
    return m

# RFC 2047 subjects in three charsets (the email package picks UTF-8; the
# older API writes the charset asked for).
m = base('Facture impayée n° 42 – à régler')
m.set_content('Merci de régler la facture.\n')
save('python-subject-utf8.eml', m)

m = MIMEText('Bitte zahlen Sie die Rechnung.\n', 'plain', 'iso-8859-1')
m['From'] = 'alice@example.org'; m['To'] = 'bob@example.net'
m['Subject'] = Header('Rechnung für März', 'iso-8859-1')
save('python-subject-latin1.eml', m.as_bytes())

m = MIMEText('請求書をお送りします。\n', 'plain', 'iso-2022-jp')
m['From'] = 'alice@example.org'; m['To'] = 'bob@example.net'
m['Subject'] = Header('請求書のご案内', 'iso-2022-jp')
save('python-subject-iso2022jp.eml', m.as_bytes())

# RFC 2231 file names.
m = base('Documents')
m.set_content('Two documents.\n')
m.add_attachment(b'%PDF-1.4\n', maintype='application', subtype='pdf', filename='résumé été.pdf')
m.add_attachment(open('setup.exe', 'rb').read(), maintype='application', subtype='octet-stream',
                 filename='請求書.exe')
save('python-rfc2231-names.eml', m)

# Nested message/rfc822, two levels.
inner = base('Inner message')
inner.set_content('The innermost text.\n')
inner.add_attachment(open('exe.zip', 'rb').read(), maintype='application', subtype='zip', filename='inner.zip')
middle = base('Fwd: Inner message')
middle.set_content('Forwarding.\n')
middle.add_attachment(inner)
outer = base('Fwd: Fwd: Inner message')
outer.set_content('Forwarding again.\n')
outer.add_attachment(middle)
save('python-nested-rfc822.eml', outer)

# HTML with links (text and HTML alternatives).
m = base('Your account')
m.set_content('Log in at https://login.phish.example/verify?u=bob before Friday.\n')
m.add_alternative('<html><head><style>p{color:red}</style></head><body>'
                  '<p>Please <a href="https://login.phish.example/verify?u=bob&amp;t=1">verify</a> '
                  'your <b>acc</b>ount.</p><img src="http://tracker.example.com/p.gif">'
                  '<script>document.write("hidden")</script></body></html>', subtype='html')
save('python-html-links.eml', m)

# Hostile: a nesting bomb (5,000 multiparts inside each other).
n = 5000
s = 'From: alice@example.org\nTo: bob@example.net\nSubject: nesting bomb\nMIME-Version: 1.0\n'
s += 'Content-Type: multipart/mixed; boundary="b0"\n\n'
for i in range(1, n):
    s += '--b%d\nContent-Type: multipart/mixed; boundary="b%d"\n\n' % (i - 1, i)
s += '--b%d\nContent-Type: text/plain\n\ndeep\n' % (n - 1)
for i in range(n - 1, -1, -1):
    s += '--b%d--\n' % i
save('hostile-nesting-bomb.eml', s.encode())

# Hostile: 100,000 parts.
s = 'From: alice@example.org\nTo: bob@example.net\nSubject: many parts\nMIME-Version: 1.0\n'
s += 'Content-Type: multipart/mixed; boundary="p"\n\n'
s += ''.join('--p\nContent-Type: text/plain\n\n%d\n' % i for i in range(100000)) + '--p--\n'
save('hostile-100000-parts.eml', s.encode())

# Hostile: no closing boundary (a truncated message).
m = base('truncated')
m.set_content('First part.\n')
m.add_attachment(b'x' * 100, maintype='application', subtype='octet-stream', filename='data.bin')
b = m.as_bytes(policy=email.policy.SMTP)
save('hostile-missing-boundary.eml', b[:b.rindex(b'--\r\n')].rsplit(b'\r\n--', 1)[0] + b'\r\n')

# Hostile: broken base64 in a text part.
m = base('broken base64')
m.set_content('This text is base64.\n', cte='base64')
b = m.as_bytes(policy=email.policy.SMTP).replace(b'VGhpcyB0ZXh0', b'VGh!!pcy*0ZXh0')
save('hostile-broken-base64.eml', b)

# Hostile: NUL bytes in the body.
m = base('nul bytes')
m.set_content('before\x00after\n')
save('hostile-nul-bytes.eml', m.as_bytes(policy=email.policy.SMTP.clone(cte_type='8bit')))

# Hostile: a header line of one megabyte (no folding possible: one word).
b = ('From: alice@example.org\r\nTo: bob@example.net\r\nSubject: long header\r\nX-Long: '
     + 'A' * (1024 * 1024) + '\r\n\r\nbody\r\n').encode()
save('hostile-1mb-header.eml', b)

# Hostile: a file name in a charset that does not exist.
m = base('unknown charset')
m.set_content('See the file.\n')
m.add_attachment(b'hello', maintype='application', subtype='octet-stream', filename='placeholder')
b = m.as_bytes(policy=email.policy.SMTP).replace(b'filename="placeholder"',
                                                  b"filename*=x-no-such-charset''%E9t%E9.txt")
save('hostile-unknown-charset-name.eml', b)
PY

ls "$out"
