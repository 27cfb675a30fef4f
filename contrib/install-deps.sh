#!/bin/bash
# contrib/install-deps.sh - install the Debian 12 packages stagemilter needs
# to build (build) and to run its test suite and quickstart (test).
#
# Usage, as root:  contrib/install-deps.sh [build|test|all]   (default: all)
#
# The one package list of the project: .ci/run, tests/run and
# contrib/quickstart.sh all call this. It installs only what is missing (and
# then does nothing at all, not even `apt-get update`). While installing, a
# temporary /usr/sbin/policy-rc.d (exit 101) keeps the packages' daemons
# (postfix, clamav-daemon, spampd, ...) from starting, and postfix is
# preseeded with "No configuration": the tests run private instances and never
# touch the machine's own mail system.
set -euo pipefail

build_pkgs="autoconf automake libtool pkg-config make gcc libmilter-dev libyaml-dev
    libssl-dev libpcre2-dev libcmocka-dev libgmime-3.0-dev libarchive-dev libmagic-dev
    libunbound-dev libevent-dev nettle-dev liblmdb-dev libhiredis-dev libjansson-dev"
# perl: prove; python3: helper scripts of the tests; the scanners: delegation tests;
# openssl: throw-away test certificates; dovecot-core: SASL for Postfix's AUTH;
# sasl2-bin: saslpasswd2, the sasldb of Sendmail's (Cyrus SASL) AUTH;
# clamav (sigtool, freshclam's directories), dovecot-lmtpd: the LMTP target of
# the delegation tests; clamav-milter: the bench's delegation case compares
# against it; m4: Sendmail's .cf is generated with it; groff and man-db:
# doc/man.t and make distcheck render the manual pages with groff and read
# them with man -l (a minimal Debian has neither);
# clang, libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, only
# recommended by clang): tests/fuzz. libevent-dev and nettle-dev: libunbound.pc
# names libevent, nettle and hogweed (pkg-config fails without them).
# Version 2 peers: unbound (the test DNS server), redis-server (shared state),
# spamd and rspamd (native scanner protocols), opendkim, opendkim-tools and
# opendmarc (milters chained before stagemilter), dovecot-imapd (the LMTP
# quarantine read back over IMAP), amavisd-new (a classic content filter as
# SMTP target), postgrey and spamass-milter (bench peers); mutt, mpack,
# p7zip-full, zip and unzip make the MIME corpus; time (/usr/bin/time) measures
# the peak memory of the scanner clients fed a 100 MB reply.
test_pkgs="postfix swaks miltertest iproute2 valgrind ca-certificates util-linux procps
    perl python3 clamsmtp clamav-daemon clamav spampd openssl dovecot-core dovecot-lmtpd
    sasl2-bin clamav-milter m4 groff man-db clang libclang-rt-14-dev
    unbound redis-server spamd rspamd opendkim opendkim-tools opendmarc dovecot-imapd
    amavisd-new postgrey spamass-milter mutt mpack p7zip-full zip unzip time"

case ${1:-all} in
build) want=$build_pkgs ;;
test) want=$test_pkgs ;;
all) want="$build_pkgs $test_pkgs" ;;
*)
    echo "usage: $0 [build|test|all]" >&2
    exit 2
    ;;
esac

missing=()
for p in $want; do
    status=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "$0: missing packages: ${missing[*]}; run me as root to install them" >&2
    exit 1
fi
echo "$0: installing: ${missing[*]}"

# Keep package scripts from starting daemons; only remove what we created.
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
fi
trap 'if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
