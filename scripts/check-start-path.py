#!/usr/bin/env python3
"""Checks that a process which leaks nothing touches few of strays' pages.

Every page a process touches first costs a page fault, 12-20 us on the VMs
CI runs on (docs/performance.md), more than the rest of strays' start. So:

- every strays function a clean /bin/true runs (start and exit, found with
  callgrind) lies in the first 64 KiB of strays' code, the one or two
  fault-around windows ST_EVERY_PROCESS and ST_HOT keep it in (src/base/st.h);
- with a report file (each process under `strays run` writes its report of
  nothing), in the first 128 KiB: ST_EVERY_REPORT keeps that code next;
- strays' small variables (.data and .bss) lie on one page, the one the
  dynamic loader writes anyway; large tables go to ST_LARGE_BSS.

Usage: check-start-path.py LIBSTRAYS.so
"""
import os
import re
import subprocess
import sys
import tempfile

WINDOW = 64 * 1024
PAGE = 4096


def sections(lib):
    """name -> (address, size) of lib's sections."""
    out = subprocess.run(["readelf", "-SW", lib], check=True, capture_output=True, text=True).stdout
    found = {}
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        found[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    return found


def functions(lib):
    """name -> addresses of lib's functions (static ones may share a name)."""
    out = subprocess.run(["nm", "--defined-only", lib], check=True, capture_output=True,
                         text=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            found.setdefault(parts[2], []).append(int(parts[0], 16))
    return found


def functions_run(lib, report_file):
    """Names of lib's functions that a clean /bin/true runs, from callgrind;
    with report_file, writing its report to a file as under `strays run`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(lib))
        env.pop("STRAYS_OPTIONS", None)
        if report_file:
            env["STRAYS_OPTIONS"] = "format=json:log_path=" + os.path.join(tmp, "report")
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "-q",
                        "/bin/true"], check=True, env=env, stdout=subprocess.DEVNULL)
        objects, names, run = {}, {}, set()
        current_ob = None
        base = os.path.basename(lib)
        for line in open(out):
            m = re.match(r"(c?ob|c?fn|c?fl|c?fi|c?fe)=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.groups()
            table = objects if kind.endswith("ob") else names
            if name is not None:
                table[ident] = name
            if kind == "ob":
                current_ob = objects.get(ident)
            elif kind == "fn" and current_ob and os.path.basename(current_ob) == base:
                run.add(names.get(ident, "?"))
        return run


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lib = sys.argv[1]
    secs = sections(lib)
    problems = []

    text_start = secs[".init"][0]
    addresses = functions(lib)
    counts = []
    for report_file, window in ((False, WINDOW), (True, 2 * WINDOW)):
        run = functions_run(lib, report_file)
        counts.append(len(run))
        if not run:
            problems.append("callgrind saw no strays function run: is the library preloaded?")
        marker = "ST_EVERY_REPORT" if report_file else "ST_EVERY_PROCESS"
        for name in sorted(run):
            where = [a - text_start for a in addresses.get(name.split("'")[0], [])]
            if where and min(where) >= window:
                problems.append(f"{name} runs in every clean process"
                                f"{' that writes a report file' if report_file else ''} but "
                                f"lies at +{min(where):#x} in strays' code, past the first "
                                f"{window // 1024} KiB: mark it {marker} (src/base/st.h)")

    data_start = secs[".data"][0]
    bss_start, bss_size = secs[".bss"]
    if (bss_start + bss_size - 1) // PAGE != data_start // PAGE:
        problems.append(f".data and .bss span {bss_start + bss_size - data_start} bytes from "
                        f"{data_start:#x}, past one page: move a large table to ST_LARGE_BSS "
                        f"(src/base/st.h)")

    for p in problems:
        print("check-start-path:", p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check-start-path: the {counts[0]} strays functions a clean process runs lie in the "
          f"first {WINDOW // 1024} KiB of its code, the {counts[1]} it runs to write a report "
          f"file in the first {2 * WINDOW // 1024} KiB; its small variables on one page")


if __name__ == "__main__":
    main()
