#!/usr/bin/python3
"""tests/bench/mime-mix.py DIR - the message mix of tests/bench/mime, made
with Python's email package: five kinds of message of about 200 KB, three
text only (plain UTF-8, text + HTML with links, ISO-8859-1
quoted-printable) and two with attachments (a PDF-like file, a zip of
text files). Deterministic (a fixed random seed)."""
import io
import os
import random
import sys
import zipfile
from email.message import EmailMessage

out = sys.argv[1]
rnd = random.Random(42)
WORDS = ("the report figures quarter meeting agenda budget team review "
         "project customer delivery schedule invoice order summary notes").split()


def text(size):
    lines, n = [], 0
    while n < size:
        line = " ".join(rnd.choice(WORDS) for _ in range(12))
        if rnd.random() < 0.05:
            line += " https://www.example%d.org/page/%d" % (rnd.randrange(50), rnd.randrange(1000))
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines) + "\n"


def base(i, subject):
    m = EmailMessage()
    m["From"] = "sender@bench.example"
    m["To"] = "rcpt@dest.example"
    m["Subject"] = subject
    m["Message-ID"] = "<mix%d@bench.example>" % i
    return m


def save(name, m):
    with open(os.path.join(out, name), "wb") as f:
        f.write(m.as_bytes())


m = base(1, "Quarterly report")
m.set_content(text(200000))
save("1-plain.eml", m)

m = base(2, "Newsletter")
t = text(100000)
m.set_content(t)
html = "".join("<p>%s <a href=\"https://news.example.org/a/%d\">more</a></p>\n" % (l, i)
               for i, l in enumerate(t.splitlines()))
m.add_alternative("<html><body>%s</body></html>" % html, subtype="html")
save("2-html.eml", m)

m = base(3, "Réunion de l'équipe")
m.set_content(text(200000).replace("the", "thé"), charset="iso-8859-1", cte="quoted-printable")
save("3-latin1.eml", m)

m = base(4, "Figures attached")
m.set_content(text(20000))
m.add_attachment(b"%PDF-1.4\n" + rnd.randbytes(140000), maintype="application",
                 subtype="pdf", filename="figures.pdf")
save("4-pdf.eml", m)

buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for k in range(5):
        z.writestr("notes-%d.txt" % k, text(60000))
    z.writestr("data.bin", rnd.randbytes(100000))
m = base(5, "Archive of the notes")
m.set_content(text(20000))
m.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename="notes.zip")
save("5-zip.eml", m)
