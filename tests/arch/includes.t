#!/bin/sh
# tests/arch/includes.t - the parts depend on each other one way only.
# From the #include "..." lines of every .c and .h under include/, policy/
# and milter/: no include cycle between files (x.c and x.h count as one
# module), none between the folders below policy/, and the layering rules:
# policy/ never includes milter/ or libmilter; policy/base/ includes no other
# part; policy/match/ neither run/ nor load/; policy/run/ not load/. TAP.
set -u
src="${top_srcdir:-.}"
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

echo "1..7"

# Modules: x.c and x.h are one node. tsort reports any loop.
loops=$(echo "$all" | sed 's/\.[ch]\( \|$\)/\1/g' | awk '$1 != $2' | tsort 2>&1 >/dev/null)
if [ -z "$loops" ]; then ok "no include cycle between modules"; else
    notok "no include cycle between modules"
    echo "$loops" | sed 's/^/# /'
fi

# Folders of policy/. The top level is left out: it holds both what every
# part shares (model.h, types) and the public API over them (policy.c), and
# the modules there are checked above.
folders=$(echo "$all" | awk '$1 ~ /^policy\/[^\/]*\// && $2 ~ /^policy\/[^\/]*\// {
    a = $1; b = $2; sub(/\/[^\/]*$/, "", a); sub(/\/[^\/]*$/, "", b); if (a != b) print a, b }' | sort -u)
loops=$(echo "$folders" | tsort 2>&1 >/dev/null)
if [ -z "$loops" ]; then ok "no include cycle between the folders below policy/"; else
    notok "no include cycle between the folders below policy/"
    echo "$folders" | sed 's/^/# /'
fi

# The same for calls: from the built objects, module A depends on B when A
# uses a function or variable B defines (a public header hides that from
# the includes).
objs=$(find "${top_builddir:-.}/policy" "${top_builddir:-.}/milter" -name '*.o' 2>/dev/null | sort)
if [ -z "$objs" ]; then ok "no call cycle between modules # SKIP not built"; else
    calls=$(nm -A $objs 2>/dev/null | awk '
        { i = index($0, ":"); path = substr($0, 1, i - 1); k = split(substr($0, i + 1), x, " ")
          f = path; sub(/.*\//, "", f); sub(/\.o$/, "", f); sub(/^[a-z]+(_[a-z]+)*-/, "", f)
          d = path; sub(/\/[^\/]*$/, "", d); m = d "/" f }
        k == 3 && x[2] ~ /^[TDBR]$/ { def[x[3]] = m }
        k == 2 && x[1] == "U" { n++; um[n] = m; us[n] = x[2] }
        END { for (j = 1; j <= n; j++) if ((us[j] in def) && def[us[j]] != um[j]) print um[j], def[us[j]] }' |
        sort -u)
    loops=$(echo "$calls" | tsort 2>&1 >/dev/null)
    if [ -z "$loops" ]; then ok "no call cycle between modules"; else
        notok "no call cycle between modules"
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
forbid "policy/base/ includes no other part" policy/base/ '^policy/'
forbid "policy/match/ includes neither run/ nor load/" policy/match/ '^policy/(run|load)/'
forbid "policy/run/ does not include load/" policy/run/ '^policy/load/'

exit $fail
