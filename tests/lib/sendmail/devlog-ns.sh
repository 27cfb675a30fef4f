#!/bin/bash
# tests/lib/sendmail/devlog-ns.sh - run a command whose syslog(3) lines must
# reach a private syslog socket (Sendmail: it can log nowhere else).
#
# SYNOPSIS
#     devlog-ns.sh SOCKET STAGING_DIR COMMAND [ARG...]
#
# DESCRIPTION
#     glibc's syslog(3) always writes to /dev/log. Creating /dev/log in the
#     machine's /dev would be seen by everything on the machine, so this
#     re-executes itself in a new private mount namespace (`unshare -m`,
#     private propagation), mounts a small tmpfs on STAGING_DIR (an empty
#     directory), fills it with the few device nodes and links a daemon needs
#     (null zero full random urandom tty, fd std*, pts and shm re-bound), adds
#     `log -> SOCKET`, moves it over /dev, and execs COMMAND (same pid). Only
#     COMMAND and its children see that /dev; the namespace disappears with
#     them.
#
#     With SM_RUN_BINDS="NAME:DIR ..." in the environment, it also mounts a
#     tmpfs on /run and bind-mounts each DIR at /run/stagemilter-test/NAME.
#     Sendmail refuses a milter unix socket, a certificate or a key whose
#     path has a world-writable ancestor ("unsafe: World writable
#     directory"; no DontBlameSendmail flag lifts it for these), and test
#     directories live under /tmp: through /run/stagemilter-test the same
#     files have a safe path. Nothing else of /run is used by Sendmail as the
#     tests configure it. A NAME that is an absolute path (an existing
#     directory, e.g. /usr/lib/sasl2 for Cyrus SASL's Sendmail.conf) has DIR
#     bound over it instead.
#
# DIAGNOSTICS
#     Exit status 111, with the reason on stderr, when the namespace cannot
#     be set up; otherwise COMMAND's own.
set -u
if [ "${SM_DEVLOG_NS:-}" != "$$" ]; then
    export SM_DEVLOG_NS=$$
    exec unshare -m --propagation private -- /bin/bash "$0" "$@"
fi
unset SM_DEVLOG_NS
sock=$1 stage=$2
shift 2

fail() {
    echo "devlog-ns.sh: $*" >&2
    exit 111
}

mkdir -p "$stage" || fail "cannot create $stage"
mount -t tmpfs -o mode=0755,size=64k smdev "$stage" || fail "cannot mount a tmpfs on $stage"
for n in null zero full random urandom tty; do
    [ -e "/dev/$n" ] && { cp -a "/dev/$n" "$stage/$n" || fail "cannot copy /dev/$n"; }
done
ln -s /proc/self/fd "$stage/fd"
ln -s /proc/self/fd/0 "$stage/stdin"
ln -s /proc/self/fd/1 "$stage/stdout"
ln -s /proc/self/fd/2 "$stage/stderr"
for d in pts shm; do
    if [ -d "/dev/$d" ]; then
        mkdir "$stage/$d" || fail "cannot create $stage/$d"
        mount --rbind "/dev/$d" "$stage/$d" || fail "cannot bind /dev/$d"
    fi
done
ln -s "$sock" "$stage/log"
mount --move "$stage" /dev || fail "cannot move $stage over /dev"
if [ -n "${SM_RUN_BINDS:-}" ]; then
    mount -t tmpfs -o mode=0755,size=64k smrun /run || fail "cannot mount a tmpfs on /run"
    for b in $SM_RUN_BINDS; do
        case ${b%%:*} in
        /*) target=${b%%:*} ;; # an absolute path: bound there (it must exist)
        *)
            target=/run/stagemilter-test/${b%%:*}
            mkdir -p "$target" || fail "cannot create $target"
            ;;
        esac
        mount --bind "${b#*:}" "$target" || fail "cannot bind ${b#*:} at $target"
    done
fi
exec "$@"
