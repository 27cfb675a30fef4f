#!/bin/bash
# tests/unit/asan.t - every unit test binary rebuilt with AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer, and run.
#
# TAP: test 1 builds policy/'s library and the unit tests of the Makefile's
# TESTS (tests/unit/test_*) into a private directory, with the Makefile's
# own sources and flags plus -fsanitize=address,undefined; then one test per
# binary, failing on a test failure or any sanitizer report (memory error,
# leak, undefined behaviour: -fno-sanitize-recover makes each fatal).
# The tree's own objects are not touched.
#
# Run from anywhere once configure has run:  tests/unit/asan.t
# ASAN_KEEP=DIR builds in DIR and keeps it (logs are DIR/*.log).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "${top_builddir:-$top}" || exit 1

# Print make variables verbatim, one line each ($(info) keeps the quotes
# that the shell must see, as in -DSYSCONFDIR='"/etc"').
mkvars() {
    local rule='asan-print:' v
    for v; do rule="$rule"$'\n\t''@:$(info $('"$v"'))'; done
    printf '%s\n' "$rule" | make -s --no-print-directory -f Makefile -f - asan-print
}

bins=$(mkvars TESTS | tr ' ' '\n' | grep '^tests/unit/test_[A-Za-z0-9_]*$')
if [ -z "$bins" ]; then
    echo "1..1"
    echo "not ok 1 - no unit test binaries found in the Makefile's TESTS"
    exit 1
fi
set -- $bins
echo "1..$(($# + 1))"

dir=${ASAN_KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/asan.XXXXXX")} || exit 1
mkdir -p "$dir/obj"
[ -n "${ASAN_KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT

san="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
{
    read -r cc
    read -r defs
    read -r libsrc
    read -r libcpp
    read -r amcpp
    read -r amcflags
} < <(mkvars CC 'DEFS) $(DEFAULT_INCLUDES' policy_libpolicy_a_SOURCES policy_libpolicy_a_CPPFLAGS \
    AM_CPPFLAGS AM_CFLAGS)

# Compile source $1 with flags $2 into an object; prints the object's name.
compile() {
    local src=$1 flags=$2 obj
    obj=$dir/obj/$(printf '%s' "$src" | tr '/.' '__').o
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
        eval "$cc $defs $flags $san -c -o \"\$obj\" \"\$src\"" >>"$dir/build.log" 2>&1 || return 1
    fi
    printf '%s\n' "$obj"
}

build_ok=1
libobjs=()
for src in $libsrc; do
    case $src in *.c) ;; *) continue ;; esac
    o=$(compile "$src" "$libcpp $amcflags") || { build_ok=0; break; }
    libobjs+=("$o")
done
if [ $build_ok = 1 ]; then
    rm -f "$dir/libpolicy.a"
    ar cr "$dir/libpolicy.a" "${libobjs[@]}" >>"$dir/build.log" 2>&1 || build_ok=0
fi
for b; do
    [ $build_ok = 1 ] || break
    v=$(printf '%s' "$b" | tr '/.' '__')
    {
        read -r srcs
        read -r cpp
        read -r cflags
        read -r ldadd
    } < <(mkvars "${v}_SOURCES" "${v}_CPPFLAGS" "${v}_CFLAGS" "${v}_LDADD")
    objs=()
    for src in $srcs; do
        case $src in *.c) ;; *) continue ;; esac
        o=$(compile "$src" "${cpp:-$amcpp} ${cflags:-$amcflags}") || { build_ok=0; break; }
        objs+=("$o")
    done
    [ $build_ok = 1 ] || break
    ldadd=${ldadd//policy\/libpolicy.a/$dir/libpolicy.a}
    eval "$cc $san -o \"\$dir/\$(basename \"\$b\")\" \"\${objs[@]}\" $ldadd" \
        >>"$dir/build.log" 2>&1 || build_ok=0
done
if [ $build_ok != 1 ]; then
    echo "not ok 1 - build the unit tests with -fsanitize=address,undefined"
    sed -n '1,40s/^/# /p' "$dir/build.log"
    n=1
    for b; do
        n=$((n + 1))
        echo "not ok $n - $b with sanitizers: not built"
    done
    exit 1
fi
echo "ok 1 - build the unit tests with -fsanitize=address,undefined"

fail=0
n=1
for b; do
    n=$((n + 1))
    name=$(basename "$b")
    log=$dir/$name.log
    start=$(date +%s)
    CMOCKA_MESSAGE_OUTPUT=STDOUT \
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98 \
        "$dir/$name" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ] && ! grep -qE 'runtime error|Sanitizer' "$log"; then
        echo "ok $n - $b with sanitizers (${secs}s)"
        continue
    fi
    fail=1
    echo "not ok $n - $b with sanitizers (exit $rc)"
    grep -E -A20 'runtime error|ERROR: (Address|Leak)Sanitizer|^\[  (FAILED|ERROR)' "$log" |
        sed -n '1,60s/^/# /p'
done
exit $fail
