#!/bin/bash
# doc/man.t - the manual pages render without a single groff warning, and
# they name everything the code accepts: every key, verb, mode and
# condition in the loader's tables (policy/load/*.c, policy/cond/*.c,
# policy/effect/*.c; tests/unit/test_tables.c holds the condition and
# effect tables, tests/unit/test_verbs the status verbs, against the page),
# every ${variable}
# (policy/run/template.c) and every command line option (milter/daemon/main.c).
# A word added to the code but not to the page fails here. TAP output.
set -u
src="${top_srcdir:-.}"
p8="$src/doc/stagemilter.8"
p5="$src/doc/stagemilter.yaml.5"

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

# The quoted words of every `static const char *const NAME[] = {...}` table
# of FILE (tables may span lines).
tables() {
    awk '/static const char \*const [a-z_]+\[\] = \{/ { on = 1 }
         on { print }
         on && /\};/ { on = 0 }' "$1" | grep -o '"[^"]*"' | tr -d '"'
}

# Page source with groff escapes for "-" and "\" undone, for word lookups.
plain() { sed -e 's/\\-/-/g' -e 's/\\e/\\/g' "$1"; }

words5=$( { for f in "$src"/policy/read/reader.c "$src"/policy/load/load.c \
    "$src"/policy/load/services.c "$src"/policy/load/rules.c \
    "$src"/policy/cond/*.c "$src"/policy/effect/*.c; do [ -f "$f" ] && tables "$f"; done; } | sort -u)
vars=$(awk '/tpl_names\[\] = \{/ { on = 1 } on { print } on && /\};/ { on = 0 }' \
    "$src/policy/run/template.c" | grep -o '{"[a-z_]*"' | tr -d '{"')
opts=$(awk '/struct option longopts\[\] = \{/ { on = 1 } on { print } on && /\};/ { on = 0 }' \
    "$src/milter/daemon/main.c" | grep -o '{"[a-z-]*"' | tr -d '{"')
shorts=$(grep -o 'getopt_long(argc, argv, "[^"]*"' "$src/milter/daemon/main.c" | sed 's/.*"\(.*\)"/\1/' | tr -d ':' | fold -w1)

echo "1..$((4 + $(echo "$words5" | wc -l) + $(echo "$vars" | wc -l) + $(echo "$opts" | wc -l) + $(echo "$shorts" | wc -l)))"

for page in "$p8" "$p5"; do
    if ! command -v groff >/dev/null; then
        notok "$page renders without warnings # groff is not installed"
    else
        out=$(groff -man -ww -z "$page" 2>&1)
        if [ $? -eq 0 ] && [ -z "$out" ]; then ok "groff -ww: $(basename "$page")"; else
            notok "groff -ww: $(basename "$page")"
            echo "$out" | sed 's/^/# /'
        fi
    fi
    # The page as a reader gets it: man(1) with its own preprocessing.
    if ! command -v man >/dev/null; then
        notok "man -l: $(basename "$page") # man is not installed"
    else
        out=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null)
        if [ -z "$out" ]; then ok "man -l: $(basename "$page")"; else
            notok "man -l: $(basename "$page")"
            echo "$out" | sed 's/^/# /'
        fi
    fi
done

text5=$(plain "$p5")
for w in $words5; do
    if grep -qF -- "$w" <<<"$text5"; then ok "stagemilter.yaml(5) names '$w'"; else
        notok "stagemilter.yaml(5) names '$w' (a word of the loader's tables)"
    fi
done
for v in $vars; do
    if grep -qF -- "\${$v}" <<<"$text5"; then ok "stagemilter.yaml(5) names \${$v}"; else
        notok "stagemilter.yaml(5) names \${$v} (policy/run/template.c)"
    fi
done
text8=$(plain "$p8")
for o in $opts; do
    if grep -qF -- "--$o" <<<"$text8"; then ok "stagemilter(8) names --$o"; else
        notok "stagemilter(8) names --$o (milter/daemon/main.c)"
    fi
done
for o in $shorts; do
    if grep -qE -- "(^|[^-a-z])-$o([^a-z]|$)" <<<"$text8"; then ok "stagemilter(8) names -$o"; else
        notok "stagemilter(8) names -$o (milter/daemon/main.c)"
    fi
done
exit $fail
