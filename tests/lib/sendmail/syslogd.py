#!/usr/bin/python3
# tests/lib/sendmail/syslogd.py - the smallest syslog daemon that lets a test
# read what Sendmail logs.
#
# SYNOPSIS
#     syslogd.py SOCKET LOGFILE
#
# DESCRIPTION
#     Sendmail logs only through syslog(3), to /dev/log, and the test
#     namespace has no syslog daemon. This binds a unix datagram socket at
#     SOCKET (tests/lib/sendmail/devlog-ns.sh makes /dev/log a symbolic link
#     to it in Sendmail's own mount namespace) and appends every datagram to
#     LOGFILE as one line, "<PRI>" prefix removed, flushed at once so a test
#     can grep it right after the event. Runs until SIGTERM/SIGINT.
#
# DIAGNOSTICS
#     Exit status 0 on SIGTERM/SIGINT, 1 if SOCKET cannot be bound.
import os
import re
import signal
import socket
import sys


def main():
    """Bind SOCKET, copy datagrams to LOGFILE until told to stop."""
    if len(sys.argv) != 3:
        sys.stderr.write("usage: syslogd.py SOCKET LOGFILE\n")
        return 2
    path, logfile = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
    except OSError as e:
        sys.stderr.write("syslogd.py: cannot bind %s: %s\n" % (path, e))
        return 1
    os.chmod(path, 0o666)
    pri = re.compile(rb"^<\d{1,3}>")
    with open(logfile, "ab", buffering=0) as out:
        while True:
            data = sock.recv(65536)
            line = pri.sub(b"", data).rstrip(b"\0\r\n").replace(b"\n", b" ")
            out.write(line + b"\n")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
