#!/usr/bin/python3
# tests/lib/tls-proxy.py - a small SMTP scanner stand-in that speaks
# STARTTLS: it takes a message (over TLS once the client asked for it),
# passes it on to 127.0.0.1:OUT_PORT in clear with a header saying whether
# it came over TLS and with which protocol, and only then answers the final
# dot with the downstream's reply, as clamsmtpd does.
#
#   tls-proxy.py LISTEN_PORT OUT_PORT CERT KEY [notls]
#
# With "notls" it does not offer STARTTLS. One thread per connection; it
# logs one line per message on stdout.
import socket
import ssl
import sys
import threading

port, out_port, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
offer_tls = len(sys.argv) < 6 or sys.argv[5] != "notls"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def relay(sender, rcpts, data, tls_note):
    """Send the message on; return the downstream's final reply line."""
    d = socket.create_connection(("127.0.0.1", out_port), timeout=30)
    f = d.makefile("rb")

    def reply():
        while True:
            line = f.readline().decode("latin-1")
            if len(line) < 4 or line[3] != "-":
                return line.rstrip("\r\n")

    def cmd(text):
        d.sendall(text.encode("latin-1") + b"\r\n")
        return reply()

    reply()
    cmd("EHLO tls-proxy.test.example")
    cmd("MAIL FROM:<%s>" % sender)
    for r in rcpts:
        cmd("RCPT TO:<%s>" % r)
    cmd("DATA")
    d.sendall(("X-TLS-Proxy: %s\r\n" % tls_note).encode() + data + b".\r\n")
    final = reply()
    cmd("QUIT")
    d.close()
    return final


def serve(c):
    conn, tls_note = c, "none"
    f = conn.makefile("rb")
    conn.sendall(b"220 tls-proxy.test.example ESMTP\r\n")
    sender, rcpts = "", []
    while True:
        line = f.readline()
        if not line:
            return
        verb = line.decode("latin-1").strip()
        up = verb.upper()
        if up.startswith("EHLO") or up.startswith("HELO"):
            caps = ["tls-proxy.test.example", "8BITMIME"]
            if offer_tls and tls_note == "none":
                caps.append("STARTTLS")
            text = "".join("250-%s\r\n" % c_ for c_ in caps[:-1]) + "250 %s\r\n" % caps[-1]
            conn.sendall(text.encode())
        elif up == "STARTTLS" and offer_tls and tls_note == "none":
            conn.sendall(b"220 go ahead\r\n")
            conn = ctx.wrap_socket(conn, server_side=True)
            tls_note = conn.version()
            f = conn.makefile("rb")
        elif up.startswith("MAIL FROM:"):
            sender, rcpts = verb[10:].split()[0].strip("<>") if verb[10:].strip() else "", []
            conn.sendall(b"250 ok\r\n")
        elif up.startswith("RCPT TO:"):
            rcpts.append(verb[8:].split()[0].strip("<>"))
            conn.sendall(b"250 ok\r\n")
        elif up == "DATA":
            conn.sendall(b"354 go\r\n")
            data = b""
            while True:
                l = f.readline()
                if not l or l in (b".\r\n", b".\n"):
                    break
                data += l
            try:
                final = relay(sender, rcpts, data, tls_note)
            except OSError as e:
                final = "451 relay failed: %s" % e
            print("message from=<%s> tls=%s final=%s" % (sender, tls_note, final), flush=True)
            conn.sendall((final + "\r\n").encode("latin-1"))
        elif up in ("RSET", "NOOP"):
            conn.sendall(b"250 ok\r\n")
        elif up == "QUIT":
            conn.sendall(b"221 bye\r\n")
            conn.close()
            return
        else:
            conn.sendall(b"502 unknown\r\n")


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=lambda c=c: serve(c), daemon=True).start()
