#!/usr/bin/python3
"""tests/lib/smtp_client.py - SMTP clients for the operations tests
(tests/e2e/3*.t): every message's final reply is recorded, so a test can
check that no message went unanswered.

    smtp_client.py load --port P --count N [--concurrency C] [--to ADDR]
                        [--from ADDR] [--timeout S] [--out FILE]
                        [--progress FILE] [--hold-from K --go FILE]
        N messages, each on its own connection, C at a time; --progress
        FILE holds the number of messages answered so far. With
        --hold-from K, message K and later ones start only once --go FILE
        exists (a test can act while the load is certainly still running). Prints one
        summary line: "sent=N ok=A temp=B perm=C error=D" (ok: 250 after
        the data; temp/perm: a 4xx/5xx at any step; error: no reply, a
        dropped connection or a timeout). --out FILE gets one line per
        message: "INDEX CODE TEXT" (CODE "error" for errors).

    smtp_client.py hold --port P --go FILE [--to ADDR] [--from ADDR]
                        [--ready FILE] [--subject S] [--timeout S]
        One message that stops in its DATA phase (headers and part of the
        body sent), creates --ready FILE, waits until --go FILE exists,
        then finishes. Prints the final reply line.

Exit status 0 when it ran (whatever the replies), 2 on a usage error.
"""
import argparse
import os
import socket
import sys
import threading
import time


class Reply(Exception):
    """A 4xx/5xx reply, or a failure with code None."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


def read_reply(f):
    """The server's (possibly multi-line) reply: (code, last line)."""
    while True:
        line = f.readline()
        if not line:
            raise Reply(None, "connection closed")
        line = line.decode("latin-1").rstrip("\r\n")
        if len(line) < 4 or not line[:3].isdigit():
            raise Reply(None, "bad reply: " + line)
        if line[3] != "-":
            return int(line[:3]), line


def command(sock, f, text, want):
    """Send TEXT (None: just read), expect a reply of class WANT."""
    if text is not None:
        sock.sendall(text.encode("latin-1") + b"\r\n")
    code, line = read_reply(f)
    if code // 100 != want:
        raise Reply(code, line)
    return code, line


def message(sender, rcpt, subject, index):
    """A small message."""
    return (
        f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject} {index}\r\n"
        f"Message-ID: <ops-{os.getpid()}-{index}@client.test.example>\r\n\r\n"
        f"operations test message {index}\r\n"
    )


def open_session(args):
    """Connect, greet, EHLO, MAIL, RCPT, DATA; returns (sock, f)."""
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    f = sock.makefile("rb")
    command(sock, f, None, 2)
    command(sock, f, "EHLO client.test.example", 2)
    command(sock, f, f"MAIL FROM:<{args.sender}>", 2)
    command(sock, f, f"RCPT TO:<{args.to}>", 2)
    command(sock, f, "DATA", 3)
    return sock, f


def one(args, index):
    """Send message INDEX; returns (code or 'error', text)."""
    sock = None
    try:
        sock, f = open_session(args)
        sock.sendall(message(args.sender, args.to, args.subject, index).encode() + b".\r\n")
        code, line = command(sock, f, None, 2)
        try:
            command(sock, f, "QUIT", 2)
        except (Reply, OSError):
            pass
        return str(code), line
    except Reply as e:
        return ("error" if e.code is None else str(e.code)), e.text
    except OSError as e:
        return "error", str(e)
    finally:
        if sock is not None:
            sock.close()


def wait_for(path, timeout):
    """True once PATH exists, False after TIMEOUT seconds."""
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def load(args):
    results = [None] * args.count
    lock = threading.Lock()
    next_index = [0]
    done = [0]

    def worker():
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= args.count:
                return
            if args.hold_from is not None and i >= args.hold_from:
                if not wait_for(args.go, args.timeout):
                    results[i] = ("error", "--go file never appeared")
                    continue
            results[i] = one(args, i)
            if args.progress:
                with lock:
                    done[0] += 1
                    tmp = args.progress + ".tmp"
                    with open(tmp, "w") as f:
                        f.write(f"{done[0]}\n")
                    os.rename(tmp, args.progress)

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = sum(1 for c, _ in results if c == "250")
    temp = sum(1 for c, _ in results if c.startswith("4"))
    perm = sum(1 for c, _ in results if c.startswith("5"))
    err = sum(1 for c, _ in results if c == "error")
    other = args.count - ok - temp - perm - err
    if args.out:
        with open(args.out, "w") as out:
            for i, (c, t) in enumerate(results):
                out.write(f"{i} {c} {t}\n")
    print(f"sent={args.count} ok={ok + other} temp={temp} perm={perm} error={err}")


def hold(args):
    try:
        sock, f = open_session(args)
        head = message(args.sender, args.to, args.subject, 0)
        sock.sendall(head.encode() + b"first part of the body\r\n")
        if args.ready:
            open(args.ready, "w").close()
        if not wait_for(args.go, args.timeout):
            print("error: --go file never appeared")
            return
        sock.sendall(b"second part of the body\r\n.\r\n")
        code, line = read_reply(f)
        print(line)
        sock.close()
    except Reply as e:
        print(e.text if e.code is not None else "error: " + e.text)
    except OSError as e:
        print("error: " + str(e))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["load", "hold"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--from", dest="sender", default="alice@sender.test")
    p.add_argument("--to", default="bob@rcpt.test")
    p.add_argument("--subject", default="ops")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--out")
    p.add_argument("--progress")
    p.add_argument("--go")
    p.add_argument("--hold-from", type=int)
    p.add_argument("--ready")
    args = p.parse_args()
    if args.mode == "load":
        if args.hold_from is not None and not args.go:
            p.error("--hold-from needs --go FILE")
        load(args)
    else:
        if not args.go:
            p.error("hold needs --go FILE")
        hold(args)


if __name__ == "__main__":
    sys.exit(main())
