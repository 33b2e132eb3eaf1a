#!/usr/bin/env python3
"""Writes libstrays.so's linker script: the toolchain's default one, with the
input sections of FRAGMENT (preload/start.ld) first in .text.

The default script comes from the linker itself (`cc -shared -Wl,--verbose`
with the same layout options), so it matches the binutils that links. Fails,
saying so, when that script has no .text section to put them in.

Usage: link-layout.py FRAGMENT CC [LINK OPTIONS...] > SCRIPT
"""
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    fragment = open(sys.argv[1]).read()
    verbose = subprocess.run(sys.argv[2:] + ["-shared", "-Wl,--verbose", "-o", "/dev/null",
                                             "-x", "c", "/dev/null"],
                             capture_output=True, text=True).stdout
    parts = verbose.split("==================================================")
    if len(parts) < 3:
        sys.exit("link-layout: the linker printed no default script")
    script = parts[1]
    text = re.search(r"\n  \.text\s*:\s*\n  \{\n", script)
    if not text:
        sys.exit("link-layout: the default linker script has no .text section in the form "
                 "expected ('  .text :' then '  {')")
    sys.stdout.write(script[:text.end()] + fragment + script[text.end():])


if __name__ == "__main__":
    main()
