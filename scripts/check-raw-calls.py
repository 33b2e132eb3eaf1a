#!/usr/bin/env python3
"""Checks that strays' core never calls a function strays interposes: no
object file of the library's core (given as arguments) may refer to a name
that preload/hooks.def hooks. The core reaches the kernel through
src/base/sys.h and the few real functions it needs through src/base/libc.h,
so its behaviour does not depend on the recursion guard. Run by make test."""
import os
import re
import subprocess
import sys

HOOK = re.compile(r'^\s*V?HOOK\([^,]+,\s*([A-Za-z_0-9]+)', re.M)


def hooked_names(root):
    with open(os.path.join(root, 'preload', 'hooks.def'), encoding='utf-8') as f:
        return set(HOOK.findall(f.read()))


def undefined(obj):
    out = subprocess.run(['nm', '-u', obj], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1].split('@')[0] for line in out.splitlines() if line.strip()}


def main(objects):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    hooked = hooked_names(root)
    bad = 0
    for obj in objects:
        for name in sorted(undefined(obj) & hooked):
            print(f'{obj}: calls {name}, which strays interposes '
                  f'(use src/base/sys.h or src/base/libc.h)')
            bad += 1
    if bad:
        print(f'check-raw-calls: {bad} call(s) from the core into its own hooks')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
