#!/usr/bin/python3
"""tests/soak/soak_client.py - the SMTP sides of the soak test (tests/soak/run).
Derived from tests/lib/smtp_client.py `load`, with retries like a real MTA
client and a marker in every message.

    soak_client.py load --port P --count N --run R [--concurrency C]
                        [--retries K] [--timeout S] [--duration S]
                        [--rate R] [--out FILE] [--progress FILE]
        N messages, each on its own connection, C at a time. Message I
        carries the headers "X-Soak-Id: soak-R-I" and
        "Message-ID: <soak-R-I@client.test.example>"; its kind follows
        from I: every 20th message, from I=7 on, has the EICAR test string
        in its body ("eicar"), every 20th from I=13 on has the header
        "X-Soak-Quarantine: yes" ("marked"), the rest are "clean"; every
        10th clean one has a 40 KB body. A 4xx at any step, or a
        connection that fails or is dropped, is retried after a back-off
        (0.5 s doubling to at most 5 s, with jitter), at most K times in
        all (default 10); a 250 or a 5xx after the final dot, or a 5xx at
        any step, is final. With --duration S no message is started after
        S seconds (they are recorded as "unsent"); with --rate R message I
        starts no earlier than I/R seconds after the first. --progress FILE holds
        the number of messages finished so far. --out FILE gets one line
        per message:
            INDEX KIND FINAL ATTEMPTS AFTERDOT HISTORY | TEXT
        FINAL: the last code (250, 4xx, 5xx), "error" or "unsent";
        AFTERDOT: how many attempts had sent the final dot and got no
        reply (an ambiguous outcome: the server may have taken it);
        HISTORY: the codes of every attempt joined by ",". Prints one
        summary line "sent=N ok=A temp=B perm=C error=D unsent=E".

    soak_client.py abort --port P --run R --first K --count M
        M messages (markers soak-R-abort-K ... ) that stop half-way
        through DATA: headers and half of the body are sent, then the
        connection is closed (odd ones with a TCP reset). Never retried;
        none of them may be delivered. Prints "aborted=M reached=D"
        (D: how many got as far as DATA).

    soak_client.py garbage --port P
        A scanner stand-in that answers nonsense: on each connection, in
        turn, a non-SMTP greeting, a 220 greeting followed by "999 ???"
        for every command, bytes that are no text at all, or an endless
        multi-line greeting (220- lines, bounded). It never answers an
        end of data with 250, so a message can never look accepted.

Exit status 0 when it ran (whatever the replies), 2 on a usage error.
"""
import argparse
import os
import random
import socket
import sys
import threading
import time

EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class Reply(Exception):
    """A 4xx/5xx reply, or a failure with code None."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


def read_reply(f):
    """The server's (possibly multi-line) reply: (code, last line)."""
    while True:
        line = f.readline(4096)
        if not line:
            raise Reply(None, "connection closed")
        line = line.decode("latin-1").rstrip("\r\n")
        if len(line) < 4 or not line[:3].isdigit():
            raise Reply(None, "bad reply: " + line[:100])
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


def kind_of(index):
    if index % 20 == 7:
        return "eicar"
    if index % 20 == 13:
        return "marked"
    return "clean"


def message(run, index, kind):
    """Message INDEX of run RUN, as CRLF text (without the final dot)."""
    marker = f"soak-{run}-{index}"
    head = (
        f"From: <alice@sender.test>\r\nTo: <bob@rcpt.test>\r\n"
        f"Subject: soak {index} {kind}\r\n"
        f"Message-ID: <{marker}@client.test.example>\r\n"
        f"X-Soak-Id: {marker}\r\n"
    )
    if kind == "marked":
        head += "X-Soak-Quarantine: yes\r\n"
    body = f"soak test message {index}\r\n"
    if kind == "eicar":
        body += EICAR + "\r\n"
    elif index % 10 == 0:
        line = "0123456789abcdef" * 4 + "\r\n"
        body += line * 600
    return head + "\r\n" + body


def attempt(args, index, kind):
    """One SMTP session for message INDEX: (code or 'error', text, afterdot)."""
    sock = None
    afterdot = False
    try:
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
        f = sock.makefile("rb")
        command(sock, f, None, 2)
        command(sock, f, "EHLO client.test.example", 2)
        command(sock, f, "MAIL FROM:<alice@sender.test>", 2)
        command(sock, f, "RCPT TO:<bob@rcpt.test>", 2)
        command(sock, f, "DATA", 3)
        sock.sendall(message(args.run, index, kind).encode("latin-1") + b".\r\n")
        afterdot = True
        code, line = read_reply(f)
        try:
            command(sock, f, "QUIT", 2)
        except (Reply, OSError):
            pass
        return str(code), line, False
    except Reply as e:
        if e.code is None:
            return "error", e.text, afterdot
        return str(e.code), e.text, False
    except OSError as e:
        return "error", str(e), afterdot
    finally:
        if sock is not None:
            sock.close()


def one(args, index):
    """Message INDEX with retries: (kind, final, attempts, afterdot, history, text)."""
    kind = kind_of(index)
    history = []
    afterdot = 0
    code, text = "error", "never tried"
    rnd = random.Random(index)
    for n in range(args.retries):
        code, text, ad = attempt(args, index, kind)
        history.append(code)
        afterdot += 1 if ad else 0
        if code == "250" or code.startswith("5"):
            break
        if n + 1 < args.retries:
            time.sleep(min(0.5 * 2**n, 5.0) * (0.5 + rnd.random()))
    return kind, code, len(history), afterdot, ",".join(history), text


def load(args):
    results = [None] * args.count
    lock = threading.Lock()
    next_index = [0]
    done = [0]
    t0 = time.time()
    stop_at = t0 + args.duration if args.duration else None

    def worker():
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= args.count:
                return
            if stop_at is not None and time.time() > stop_at:
                results[i] = (kind_of(i), "unsent", 0, 0, "-", "duration over")
                continue
            if args.rate:
                # Message I starts no earlier than I/rate seconds in.
                delay = t0 + i / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
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
    finals = [r[1] for r in results]
    ok = finals.count("250")
    temp = sum(1 for c in finals if c.startswith("4"))
    perm = sum(1 for c in finals if c.startswith("5"))
    err = finals.count("error")
    unsent = finals.count("unsent")
    if args.out:
        with open(args.out, "w") as out:
            for i, (kind, code, n, ad, hist, text) in enumerate(results):
                text = text.replace("\n", " ")
                out.write(f"{i} {kind} {code} {n} {ad} {hist} | {text}\n")
    print(f"sent={args.count - unsent} ok={ok} temp={temp} perm={perm} error={err} unsent={unsent}")


def abort(args):
    reached = [0]
    lock = threading.Lock()

    def go(k):
        marker = f"soak-{args.run}-abort-{k}"
        sock = None
        try:
            sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
            f = sock.makefile("rb")
            command(sock, f, None, 2)
            command(sock, f, "EHLO client.test.example", 2)
            command(sock, f, "MAIL FROM:<alice@sender.test>", 2)
            command(sock, f, "RCPT TO:<bob@rcpt.test>", 2)
            command(sock, f, "DATA", 3)
            text = (
                f"From: <alice@sender.test>\r\nTo: <bob@rcpt.test>\r\n"
                f"Subject: soak abort {k}\r\nX-Soak-Id: {marker}\r\n\r\n"
                + ("half-way body line\r\n" * 200)
            )
            sock.sendall(text.encode())
            with lock:
                reached[0] += 1
            time.sleep(0.2)
            if k % 2:
                # SO_LINGER 0: close() sends a reset instead of a FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except (Reply, OSError):
            pass
        finally:
            if sock is not None:
                sock.close()

    threads = [threading.Thread(target=go, args=(args.first + k,)) for k in range(args.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"aborted={args.count} reached={reached[0]}")


def garbage(args):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", args.port))
    s.listen(64)
    turn = [0]

    def serve(c, mode):
        try:
            c.settimeout(30)
            if mode == 0:
                c.sendall(b"HELLO? this is not SMTP at all\r\n")
                c.recv(4096)
                c.sendall(b"what?\r\n")
            elif mode == 1:
                c.sendall(b"220 garbage.test nonsense ahead\r\n")
                f = c.makefile("rb")
                for _ in range(50):
                    if not f.readline(4096):
                        break
                    c.sendall(b"999 ???\r\n")
            elif mode == 2:
                c.sendall(bytes(random.getrandbits(8) for _ in range(512)) + b"\r\n\x00\xff\r\n")
                c.recv(4096)
            else:
                for _ in range(2000):
                    c.sendall(b"220-endless greeting " + b"x" * 200 + b"\r\n")
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, turn[0] % 4), daemon=True).start()
        turn[0] += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["load", "abort", "garbage"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--run", default="0")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--retries", type=int, default=10)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--duration", type=float)
    p.add_argument("--rate", type=float)
    p.add_argument("--out")
    p.add_argument("--progress")
    args = p.parse_args()
    if args.mode == "load":
        load(args)
    elif args.mode == "abort":
        abort(args)
    else:
        garbage(args)


if __name__ == "__main__":
    sys.exit(main())
