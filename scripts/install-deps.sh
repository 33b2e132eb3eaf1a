#!/bin/sh
# Installs the Debian packages a make target needs, and nothing else; prints
# nothing when they are all there. The Makefile runs it before each target
# with that target's groups:
#   build     make, make demo, make install: the compiler and the libraries
#   test      make test, test-asan, real, soak: Criterion, g++, the checkers
#             (jsonschema, xmllint, groff), the security and real-program tools,
#             strace, valgrind (callgrind and lackey: what a clean process runs and reads)
#   bench     make bench: valgrind (callgrind counts the instructions), xz and
#             git (the whole-program rows)
#   memcheck  make memcheck: valgrind
#   lint      make lint: cppcheck, clang-tidy
#   compare   make compare: valgrind (TSan comes with gcc)
#   fuzz      make fuzz, fuzz-ci: clang and its libFuzzer runtime
#   all       every group (make deps)
# Each package is probed the way the build uses it (a header compiled, a
# library linked, a command on PATH), never by a file path, so another
# architecture or another release of a package is not taken for a missing one.
set -eu

CC=${CC:-cc}
CXX=${CXX:-c++}
FUZZ_CC=${FUZZ_CC:-clang}

probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT

missing=""
want() {
    case " $missing " in *" $1 "*) ;; *) missing="$missing $1" ;; esac
}
has_command() { command -v "$1" >/dev/null 2>&1; }
# setcap is in /usr/sbin, which a normal user's PATH leaves out.
has_admin_command() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }
has_header() { printf '#include <%s>\n' "$1" | $CC -E -x c - >/dev/null 2>&1; }
# Links a program with the flags given (into a file of ours: the linker
# must never be pointed at /dev/null as root).
links() {
    printf 'int main(void) { return 0; }\n' |
        $CC -x c - -o "$probe_dir/probe" "$@" >/dev/null 2>&1
}

group_build() {
    has_command "$CC" || want gcc
    has_command make || want make
    has_header stdio.h || want libc6-dev
    has_header uthash.h || want uthash-dev
    has_header elfutils/libdwfl.h || want libdw-dev
    # pprof profiles are gzipped by zlib, loaded with dlopen: its header.
    has_header zlib.h || want zlib1g-dev
    # strays loads libunwind.so.8 with dlopen: link against that very file.
    links -l:libunwind.so.8 || want libunwind8
}

group_test() {
    group_build
    has_command "$CXX" || want g++
    has_header criterion/criterion.h || want libcriterion-dev
    has_command pkg-config || want pkg-config
    has_command python3 || want python3
    python3 -c 'import importlib.util as u; exit(u.find_spec("jsonschema") is None)' \
        >/dev/null 2>&1 || want python3-jsonschema
    # JUnit output is validated with xmllint, the manuals linted with groff.
    has_command xmllint || want libxml2-utils
    has_command groff || want groff-base
    # pprof profiles are read back by real consumers (go tool pprof: about
    # 80 MB to download, 450 MB installed) and protoc --decode_raw.
    has_command protoc || want protobuf-compiler
    has_command go || want golang-go
    # Security tests: a statically linked fixture, a file with capabilities
    # run as another user.
    links -static || want libc6-dev
    has_admin_command setcap || want libcap2-bin
    has_command setpriv || want util-linux
    # What a clean process reads is checked with strace.
    has_command strace || want strace
    # make real: programs we did not write, and a GLib program.
    has_command xz || want xz-utils
    has_command zstd || want zstd
    has_command sort || want coreutils
    has_command xargs || want findutils
    pkg-config --exists glib-2.0 2>/dev/null || want libglib2.0-dev
}

group_valgrind() { has_command valgrind || want valgrind; }

# make bench's whole programs: xz, and a clone of strays to build with make.
group_bench() {
    has_command xz || want xz-utils
    has_command git || want git
}

group_lint() {
    group_build
    has_command cppcheck || want cppcheck
    has_command clang-tidy || want clang-tidy
    has_command run-clang-tidy || want clang-tidy
}

group_fuzz() {
    group_build
    has_command "$FUZZ_CC" || want clang
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }\n' |
        $FUZZ_CC -fsanitize=fuzzer,address,undefined -x c - -o "$probe_dir/fuzz" >/dev/null 2>&1 ||
        want libclang-rt-dev
}

probe() {
    missing=""
    for group in "$@"; do
        case $group in
        build) group_build ;;
        test) group_test; group_valgrind ;;
        bench) group_build; group_valgrind; group_bench ;;
        memcheck) group_build; group_valgrind ;;
        compare) group_test; group_valgrind ;;
        lint) group_lint ;;
        fuzz) group_fuzz ;;
        all) group_test; group_valgrind; group_bench; group_lint; group_fuzz ;;
        *)
            echo "install-deps.sh: unknown group \"$group\" (build, test, bench, memcheck, lint, compare, fuzz, all)" >&2
            exit 2
            ;;
        esac
    done
}

[ $# -gt 0 ] || set -- build
probe "$@"
[ -z "$missing" ] && exit 0

what="strays: Debian packages missing for $*:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
else
    echo "$what" >&2
    echo "strays: not root, and no passwordless sudo: as root, run apt-get install$missing" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$what" >&2
    echo "strays: no apt-get on this machine: install them (or what your system calls them) by hand" >&2
    exit 1
fi

echo "$what; installing them" >&2
export DEBIAN_FRONTEND=noninteractive
# Two make jobs may install at once: the second waits for dpkg's lock.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 $missing >/dev/null
installed=$missing
probe "$@"
if [ -n "$missing" ]; then
    echo "strays: installed$installed, but still missing:$missing" >&2
    exit 1
fi
echo "strays: installed$installed" >&2
