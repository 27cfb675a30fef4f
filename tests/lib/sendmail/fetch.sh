#!/bin/bash
# tests/lib/sendmail/fetch.sh - put a runnable Sendmail 8.17 into a private
# cache directory, without installing it.
#
# SYNOPSIS
#     tests/lib/sendmail/fetch.sh [CACHE_DIR]
#
# DESCRIPTION
#     Debian's sendmail-bin conflicts with postfix (both provide
#     mail-transport-agent), so the end-to-end tests never install it. This
#     script `apt-get download`s sendmail-bin, sendmail-cf, sendmail-base and
#     the one library sendmail-bin needs that a postfix machine lacks
#     (libwrap0), and unpacks them with `dpkg-deb -x` into CACHE_DIR/root
#     (default /var/cache/stagemilter-tests/sendmail, or $SM_CACHE). The
#     daemon is then CACHE_DIR/root/usr/libexec/sendmail/sendmail, run with
#     LD_LIBRARY_PATH=CACHE_DIR/root/usr/lib/x86_64-linux-gnu (the set-group-id
#     bit of the unpacked copy is cleared, or the loader would ignore
#     LD_LIBRARY_PATH). The other run-time dependencies of sendmail-bin
#     (libdb5.3, libldap-2.5-0, libnsl2, libsasl2-2, libssl3) and m4 are
#     already on a machine with postfix and the build dependencies.
#
#     An existing complete cache (CACHE_DIR/VERSION present) is reused; the
#     new tree is built beside it and renamed into place, under a lock, so
#     concurrent callers never see half a tree. Needs the network (Debian's
#     mirror): tests/lib/mta_sendmail.sh runs it in the machine's network
#     namespace when the cache is missing.
#
# DIAGNOSTICS
#     Exit status 0 when CACHE_DIR/root holds a Sendmail that starts; 1, with
#     the reason on stderr, otherwise.
set -u

cache=${1:-${SM_CACHE:-/var/cache/stagemilter-tests/sendmail}}
pkgs=(sendmail-bin sendmail-cf sendmail-base libwrap0)

die() {
    echo "fetch.sh: $*" >&2
    exit 1
}

# Run the cached sendmail with ARGS; a dotted host name in a private UTS
# namespace, or it sleeps 60 s looking for its fully qualified name.
run() {
    # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
    LD_LIBRARY_PATH=$cache/root/usr/lib/x86_64-linux-gnu unshare -u /bin/sh -c \
        'hostname fetch.test.example && exec "$0" "$@"' \
        "$cache/root/usr/libexec/sendmail/sendmail" "$@" </dev/null 2>&1
}

# The cached tree answers `sendmail -d0.1` with its version.
check() {
    run -d0.1 -bt -C /dev/null | grep -q '^Version 8\.'
}

[ -f "$cache/VERSION" ] && check && exit 0

mkdir -p "$cache" || die "cannot create $cache"
exec 9>"$cache/.lock" || die "cannot open $cache/.lock"
flock -w 600 9 || die "timed out waiting for $cache/.lock"
# Another caller may have finished while we waited for the lock.
[ -f "$cache/VERSION" ] && check && exit 0

work=$(mktemp -d "$cache/.fetch.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$work"' EXIT
mkdir "$work/debs" "$work/root"
export DEBIAN_FRONTEND=noninteractive
# The sandbox user _apt could not write into $work: download as root.
dl() {
    (cd "$work/debs" && apt-get -q -o APT::Sandbox::User=root download "${pkgs[@]}") >"$work/apt.log" 2>&1
}
if ! dl; then
    # Stale or missing package lists: refresh them once and retry.
    apt-get -q update >>"$work/apt.log" 2>&1
    dl || die "apt-get download ${pkgs[*]} failed: $(tail -n 5 "$work/apt.log")"
fi
for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/root" || die "dpkg-deb -x $deb failed"
done
chmod g-s "$work/root/usr/libexec/sendmail/sendmail" || die "unexpected layout: no usr/libexec/sendmail/sendmail"
[ -f "$work/root/usr/share/sendmail/cf/m4/cf.m4" ] || die "unexpected layout: no usr/share/sendmail/cf/m4/cf.m4"
for deb in "$work"/debs/*.deb; do
    dpkg-deb -f "$deb" Package Version | paste -sd ' '
done >"$work/VERSION"

rm -rf "$cache/root" "$cache/VERSION"
if ! mv "$work/root" "$cache/root" || ! mv "$work/VERSION" "$cache/VERSION"; then
    die "cannot move the tree into $cache"
fi
check || die "the unpacked sendmail does not run: $(run -d0.1 -bt -C /dev/null | head -n 3)"
exit 0
