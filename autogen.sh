#!/bin/sh
# autogen.sh: generate ./configure from a git checkout.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf -fi
# The TAP driver for unit tests ships with automake but is not added by
# --add-missing; copy it from the installed automake.
cp "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
