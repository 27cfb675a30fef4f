#!/bin/sh
# tests/arch/includes.t - the parts depend on each other one way only.
# From the #include "..." lines of every .c and .h under include/, policy/
# and milter/: no include cycle between files (x.c and x.h count as one
# module), none between the folders below policy/ and below milter/; from
# the built objects, no call cycle between those folders; and the layering
# rules of policy/local.mk and milter/local.mk (policy/ never includes
# milter/ or libmilter; each part only the parts listed before it). TAP.
#
# Calls are checked between folders, not between the files of one folder:
# the condition and effect tables list functions whose files call back into
# the table's helpers, and any/all/not parse their children through the
# table that lists them (a recursive grammar), all inside policy/cond/.
set -u
src="${top_srcdir:-.}"
# The build tree as an absolute path: make check passes it relative to the
# directory the test starts in, which is not the source tree in a VPATH
# build (make distcheck).
build=$(cd "${top_builddir:-.}" && pwd) || exit 1
cd "$src" || exit 1

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

# "FILE INCLUDED" per quoted include, INCLUDED resolved to its path.
edges() {
    for f in $(find include policy milter -name '*.[ch]' | sort); do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
            while read -r inc; do
                for dir in include policy milter "$(dirname "$f")"; do
                    if [ -f "$dir/$inc" ]; then
                        echo "$f $dir/$inc"
                        break
                    fi
                done
            done
    done
}
all=$(edges | sed 's#/\./#/#g')

echo "1..17"

# Modules: x.c and x.h are one node. tsort reports any loop.
loops=$(echo "$all" | sed 's/\.[ch]\( \|$\)/\1/g' | awk '$1 != $2' | tsort 2>&1 >/dev/null)
if [ -z "$loops" ]; then ok "no include cycle between modules"; else
    notok "no include cycle between modules"
    echo "$loops" | sed 's/^/# /'
fi

# The part (first folder below policy/ or milter/) of each path; the top
# level of policy/ is left out: it holds both what every part shares
# (model.h, types, verbs) and the public API over them (policy.c), and its
# modules are checked above.
part() { awk '{ for (i = 1; i <= NF; i++) { n = split($i, c, "/"); $i = (n >= 3) ? c[1] "/" c[2] : "-" } }
    $1 != "-" && $2 != "-" && $1 != $2 { print }'; }
folders=$(echo "$all" | part | sort -u)
loops=$(echo "$folders" | tsort 2>&1 >/dev/null)
if [ -z "$loops" ]; then ok "no include cycle between the folders below policy/ and milter/"; else
    notok "no include cycle between the folders below policy/ and milter/"
    echo "$folders" | sed 's/^/# /'
fi

# The same for calls: from the built objects, module A depends on B when A
# uses a function or variable B defines (a public header hides that from
# the includes).
# Only the objects of the sources the build lists now (a file moved away
# leaves its old object behind).
objs=$(for o in $(find "$build/policy" "$build/milter" -name '*.o' 2>/dev/null | sort); do
    f=${o#"$build"/}; d=${f%/*}; b=${f##*/}; b=${b%.o}; b=${b#*-}
    [ -f "$d/$b.c" ] && echo "$o"; done)
if [ -z "$objs" ]; then notok "no call cycle between folders (nothing is built: run make)"; else
    calls=$(nm -A $objs 2>/dev/null | awk '
        { i = index($0, ":"); path = substr($0, 1, i - 1); k = split(substr($0, i + 1), x, " ")
          f = path; sub(/.*\//, "", f); sub(/\.o$/, "", f); sub(/^[a-z]+(_[a-z]+)*-/, "", f)
          d = path; sub(/\/[^\/]*$/, "", d); m = d "/" f }
        k == 3 && x[2] ~ /^[TDBR]$/ { def[x[3]] = m }
        k == 2 && x[1] == "U" { n++; um[n] = m; us[n] = x[2] }
        END { for (j = 1; j <= n; j++) if ((us[j] in def) && def[us[j]] != um[j]) print um[j], def[us[j]] }' |
        sort -u)
    calls=$(echo "$calls" | sed "s#$build/##g" | part | sort -u)
    loops=$(echo "$calls" | tsort 2>&1 >/dev/null)
    if [ -z "$loops" ]; then ok "no call cycle between folders"; else
        notok "no call cycle between folders"
        echo "$loops" | sed 's/^/# /'
    fi
fi

# LABEL, the files' prefix, and a pattern their includes must not match.
forbid() {
    bad=$(echo "$all" | awk -v p="$2" -v re="$3" 'index($1, p) == 1 && $2 ~ re')
    bad="$bad$(grep -rn '#[[:space:]]*include[[:space:]]*<libmilter' "$2" 2>/dev/null | grep '^policy/')"
    if [ -z "$bad" ]; then ok "$1"; else
        notok "$1"
        echo "$bad" | sed 's/^/# /'
    fi
}
forbid "policy/ includes nothing of milter/ or libmilter" policy/ '^milter/'
forbid "policy/base/ includes no other part" policy/base/ '^policy/(match|mime|run|read|cond|effect|load)/'
forbid "policy/match/ includes only base/" policy/match/ '^policy/(mime|run|read|cond|effect|load)/'
forbid "policy/mime/ includes only base/ and match/" policy/mime/ '^policy/(run|read|cond|effect|load)/'
forbid "policy/run/ includes neither the tables nor the loader" policy/run/ '^policy/(read|cond|effect|load)/'
forbid "policy/read/ includes neither the tables nor the loader" policy/read/ '^policy/(cond|effect|load)/'
forbid "policy/cond/ includes neither effect/ nor the loader" policy/cond/ '^policy/(effect|load)/'
forbid "policy/effect/ includes neither cond/ nor the loader" policy/effect/ '^policy/(cond|load)/'
forbid "milter/report/ includes no other part of milter/" milter/report/ '^milter/(store|state|net|delegate|mta|daemon)/'
forbid "milter/store/ includes neither state/, net/, delegate/, mta/ nor daemon/" milter/store/ '^milter/(state|net|delegate|mta|daemon)/'
forbid "milter/state/ includes neither store/, net/, delegate/, mta/ nor daemon/" milter/state/ '^milter/(store|net|delegate|mta|daemon)/'
forbid "milter/net/ includes only report/" milter/net/ '^milter/(store|state|delegate|mta|daemon)/'
forbid "milter/delegate/ includes neither store/, state/, net/, mta/ nor daemon/" milter/delegate/ '^milter/(store|state|net|mta|daemon)/'
forbid "milter/mta/ does not include daemon/" milter/mta/ '^milter/daemon/'

exit $fail
