#!/bin/sh
# Installs what strays needs to build and test on Debian 12, and nothing else.
# Called by `make deps` (and so by `make demo` / `make test`); safe to run again.
# `install-deps.sh fuzz` (`make deps-fuzz`) also installs what `make fuzz` needs.
set -eu

# Debian package -> a file that proves it is installed.
need() { [ -e "$2" ] || missing="$missing $1"; }
missing=""
need gcc               /usr/bin/gcc
need g++               /usr/bin/g++
need make              /usr/bin/make
need pkg-config        /usr/bin/pkg-config
need libunwind8        /usr/lib/x86_64-linux-gnu/libunwind.so.8
need uthash-dev        /usr/include/uthash.h
need libcriterion-dev  /usr/include/criterion/criterion.h
need libdw-dev         /usr/include/elfutils/libdwfl.h
need libdw1            /usr/lib/x86_64-linux-gnu/libdw.so.1
# pprof profiles are gzipped with zlib (loaded at run time; the header here);
# the tests read them back with protoc --decode_raw and go tool pprof (they
# skip those checks, saying so, where the tools are missing).
need zlib1g-dev        /usr/include/zlib.h
need protobuf-compiler /usr/bin/protoc
need golang-go         /usr/bin/go
need python3-jsonschema /usr/lib/python3/dist-packages/jsonschema/__init__.py
# The tests validate JUnit output with xmllint and lint the manuals with groff
# (they only warn without them, so CI installs both to check the same things).
need libxml2-utils     /usr/bin/xmllint
need groff-base        /usr/bin/groff
# The security tests: a statically linked fixture (libc.a), a file with
# capabilities (setcap) run as another user (setpriv).
need libc6-dev         /usr/lib/x86_64-linux-gnu/libc.a
need libcap2-bin       /usr/sbin/setcap
need util-linux        /usr/bin/setpriv
# `make real` runs real programs under strays: xz, sort, zstd, Python 3, a GLib
# program and a find | xargs pipeline (it skips the ones that are missing).
need xz-utils          /usr/bin/xz
need coreutils         /usr/bin/sort
need findutils         /usr/bin/xargs
need zstd              /usr/bin/zstd
need python3           /usr/bin/python3
need libglib2.0-dev    /usr/include/glib-2.0/glib.h

# make memcheck and make lint (issue 8).
need valgrind          /usr/bin/valgrind
need cppcheck          /usr/bin/cppcheck
need clang-tidy        /usr/bin/clang-tidy

# make fuzz / fuzz-ci only: clang, and libFuzzer's runtime (which clang-14 only recommends).
if [ "${1:-}" = fuzz ]; then
    need clang-14           /usr/bin/clang-14
    need libclang-rt-14-dev /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
fi

[ -z "$missing" ] && exit 0

echo "strays: installing missing build dependencies:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    else
        echo "strays: cannot install$missing: not root and no passwordless sudo." >&2
        echo "strays: run as root: apt-get install$missing" >&2
        exit 1
    fi
else
    SUDO=
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "strays: no apt-get on this machine; install by hand:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "strays: dependencies installed." >&2
