#!/usr/bin/env python3
"""Checks that a process which leaks nothing touches few of strays' pages.

Every 32 KiB window of a file a process touches first costs a page fault,
12-20 us on the VMs CI runs on (docs/performance.md), more than the rest of
strays' start. So:

- every strays function a clean /bin/true runs (start and exit, found with
  callgrind) lies in the first 64 KiB of strays' code, where preload/start.ld
  puts ST_EVERY_PROCESS and ST_HOT (src/base/st.h);
- with a report file (each process under `strays run` writes its report of
  nothing), in the first 128 KiB: ST_EVERY_REPORT keeps that code next;
- those functions call no libc function but the few a clean process needs
  (ALLOWED_LIBC): each other one lies on a page of libc's code that a small
  program never touches (strlen, syscall, getrlimit...), and text.h and
  sys.h do their work without them;
- writing the report of nothing to a file touches at most one page of stack
  more than a clean exit that writes none, and maps no memory (its arena
  fits in the first chunk on the stack);
- a clean /bin/true, and `sh -c true`, read nothing from strays' .rodata
  (found with lackey):
  the strings and tables the start code reads are ST_EVERY_PROCESS_DATA,
  beside it; nor does its report of nothing written to a file, whose files'
  constants preload/start.ld puts beside their code;
- a clean /bin/true, and `sh -c true`, touch one page of strays' data, the
  one the dynamic loader writes anyway (relocations): the variables every
  process writes are ST_HOT_DATA, and the library has no RELRO (Makefile).

Usage: check-start-path.py LIBSTRAYS.so
"""
import bisect
import os
import re
import subprocess
import sys
import tempfile

WINDOW = 64 * 1024
PAGE = 4096
# Where valgrind puts a program's main stack on x86-64 (below 0x1fff001000).
VALGRIND_STACK = 0x1F00000000
# The libc functions a clean process's start and exit call: the process's
# entry and exit, the quick_exit handler, the signal actions, the
# hooks' lookups, and the secure-execution flag. Most lie on pages a program
# runs anyway (exit, sigaction); the others cost what they must.
ALLOWED_LIBC = {
    "__libc_start_main", "exit", "_exit", "_Exit", "quick_exit", "__cxa_finalize",
    "__cxa_at_quick_exit", "__errno_location",
    "sigaction", "__sigaction", "__libc_sigaction", "__libc_current_sigrtmax",
    "__libc_current_sigrtmin", "dlsym", "dlvsym", "dl_iterate_phdr", "getauxval",
}


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


def data_objects(lib):
    """(name, address) of lib's variables."""
    out = subprocess.run(["nm", "--defined-only", lib], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "dDbB":
            yield parts[2], int(parts[0], 16)


def functions_run(lib, report_file):
    """What lib's code does in a clean /bin/true, from callgrind: the names of
    its functions that run, and the libc functions they call, as
    {callee: caller}. With report_file, writing its report to a file as
    under `strays run`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(lib))
        env.pop("STRAYS_OPTIONS", None)
        if report_file:
            env["STRAYS_OPTIONS"] = "format=json:log_path=" + os.path.join(tmp, "report")
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "-q",
                        "/bin/true"], check=True, env=env, stdout=subprocess.DEVNULL)
        # Names are given once as "(id) name", then as "(id)": objects and
        # functions each have their own ids.
        objects, names, run, libc_calls = {}, {}, set(), {}
        current_ob = current_fn = callee_ob = None
        base = os.path.basename(lib)
        for line in open(out):
            m = re.match(r"(c?ob|c?fn)=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.groups()
            table = objects if kind.endswith("ob") else names
            if name is not None:
                table[ident] = name
            if kind == "ob":
                current_ob, callee_ob = objects.get(ident), None
            elif kind == "fn":
                current_fn, callee_ob = names.get(ident, "?"), None
                if current_ob and os.path.basename(current_ob) == base:
                    run.add(current_fn)
            elif kind == "cob":
                callee_ob = objects.get(ident)
            elif kind == "cfn":
                ours = current_ob and os.path.basename(current_ob) == base
                if ours and callee_ob and os.path.basename(callee_ob).startswith("libc.so"):
                    libc_calls[names.get(ident, "?").split("@")[0]] = current_fn
                callee_ob = None
        return run, libc_calls


def traced_memory(lib, argv, options=None):
    """A clean run of argv under lackey, which traces every load and store:
    the reads of lib's .rodata, as {the lib function that read it, itself or
    through a libc function it called: [offsets in the file]}, how many
    pages of the stack the process touched, and the pages of lib's data
    (from .init_array to the end of .lbss) it touched, as {page offset:
    first offset touched}: by its own loads and stores, or by the kernel
    through a system call's pointer (clock_gettime writes its result), which
    lackey does not trace. options: STRAYS_OPTIONS."""
    secs = sections(lib)
    lo, size = secs[".rodata"]
    data_lo = secs[".init_array"][0]
    data_hi = max(a + n for name, (a, n) in secs.items() if name in (".bss", ".lbss"))
    symbols = sorted((a, n) for n, addrs in functions(lib).items() for a in addrs)
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "lackey.log")
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(lib))
        env.pop("STRAYS_OPTIONS", None)
        if options:
            env["STRAYS_OPTIONS"] = options.replace("TMP", tmp)
        subprocess.run(["valgrind", "--tool=lackey", "--trace-mem=yes", "--trace-syscalls=yes",
                        "--log-file=" + log] + argv, check=True, env=env,
                       stdout=subprocess.DEVNULL)
        base, lib_fd, opening = None, None, False
        reads, last_ours, stack_pages, data_pages, mmaps = {}, None, set(), {}, 0
        for line in open(log, errors="replace"):
            if base is None:
                # The loader opens the library, then maps it whole first.
                if "sys_openat" in line and os.path.basename(lib) + ")" in line:
                    opening = True
                if opening and "[async] --> Success(0x" in line or \
                        ("sys_openat" in line and opening and "--> [pre-success] Success(" in line):
                    lib_fd, opening = int(line.rsplit("Success(0x", 1)[1].split(")")[0], 16), False
                m = re.search(r"sys_mmap \( 0x0, \d+, \d+, \d+, (\d+), 0 \).*Success\(0x([0-9a-f]+)\)",
                              line)
                if m and lib_fd is not None and int(m.group(1)) == lib_fd:
                    base = int(m.group(2), 16)
                continue
            if line.startswith("SYSCALL["):
                mmaps += " sys_mmap " in line
                if re.search(r"sys_(mmap|munmap|mprotect|madvise|brk) ", line):
                    continue  # addresses of mappings, not memory read or written
                for pointer in re.findall(r"0x[0-9a-f]+", line.split("-->")[0]):
                    at = int(pointer, 16) - base
                    if data_lo <= at < data_hi:
                        data_pages.setdefault(at // PAGE * PAGE, at)
                continue
            parts = line.split()
            if len(parts) != 2 or parts[0] not in ("I", "L", "S", "M"):
                continue
            try:
                address = int(parts[1].split(",")[0], 16)
            except ValueError:
                continue
            if parts[0] != "I" and address >= VALGRIND_STACK:
                stack_pages.add(address // PAGE)
            at = address - base
            if parts[0] != "I" and data_lo <= at < data_hi:
                data_pages.setdefault(at // PAGE * PAGE, at)
            if parts[0] == "S":
                continue
            if parts[0] == "I":
                if 0 <= at < lo:
                    last_ours = at
            elif lo <= at < lo + size:
                i = bisect.bisect_right(symbols, (last_ours, "\uffff")) - 1 if last_ours else -1
                reads.setdefault(symbols[i][1] if i >= 0 else "the dynamic loader", []).append(at)
        if base is None:
            sys.exit("check-start-path: lackey's trace shows no mapping of " + lib)
        return reads, len(stack_pages), data_pages, mmaps


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
        run, libc_calls = functions_run(lib, report_file)
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
        if not report_file:
            for callee, caller in sorted(libc_calls.items()):
                if callee not in ALLOWED_LIBC:
                    problems.append(f"{caller} calls libc's {callee} in every clean process: a "
                                    f"page of libc's code a small program never touches (use "
                                    f"src/base/text.h or sys.h)")

    # /bin/true, and a shell given a command (the shell's check for a script
    # it keeps open runs too).
    stack = {}
    data_symbols = sorted((a, n) for n, a in data_objects(lib))
    mmaps = {}
    for argv in (["/bin/true"], ["/bin/sh", "-c", "true"]):
        reads, stack[argv[0]], written, mmaps[argv[0]] = traced_memory(lib, argv)
        if len(written) > 1:
            firsts = []
            for page, first in sorted(written.items()):
                i = bisect.bisect_right(data_symbols, (first, "\uffff")) - 1
                firsts.append(f"{page:#x} ({data_symbols[i][1] if i >= 0 else 'a table'})")
            problems.append(f"a clean `{' '.join(argv)}` touches {len(written)} pages of strays' "
                            f"data, first at {', '.join(firsts)}: make the variables every "
                            f"process reads or writes ST_HOT_DATA (src/base/st.h)")
        for reader, offsets in sorted(reads.items()):
            problems.append(f"{reader} reads .rodata in every clean `{' '.join(argv)}` "
                            f"({len(offsets)} loads, the first at {min(offsets):#x}): make the "
                            f"constant ST_EVERY_PROCESS_DATA (src/base/st.h)")
    # The report of nothing written to a file (every process under `strays
    # run`) goes no deeper into the stack than a page more than the exit of a
    # process that writes none: each page of stack touched first is a fault.
    reads, with_file, _, mmaps_with_file = traced_memory(lib, ["/bin/true"],
                                                         "format=json:log_path=TMP/r")
    if mmaps_with_file > mmaps["/bin/true"]:
        problems.append(f"writing the report file of a clean /bin/true maps memory "
                        f"({mmaps_with_file - mmaps['/bin/true']} mmap more than without it): its "
                        f"arena outgrew REPORT_FIRST_CHUNK (src/runtime/runtime.c)")
    for reader, offsets in sorted(reads.items()):
        problems.append(f"{reader} reads .rodata in every report file of a clean process "
                        f"({len(offsets)} loads, the first at {min(offsets):#x}): list its "
                        f"file's constants in preload/start.ld")
    if with_file > stack["/bin/true"] + 1:
        problems.append(f"writing the report file of a clean /bin/true touches {with_file} pages "
                        f"of stack, {stack['/bin/true']} without it: a frame on that path holds "
                        f"a large buffer (gcc -fstack-usage says which)")

    for p in problems:
        print("check-start-path:", p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check-start-path: the {counts[0]} strays functions a clean process runs lie in the "
          f"first {WINDOW // 1024} KiB of its code and call only the libc functions allowed, "
          f"the {counts[1]} it runs to write a report file in the first {2 * WINDOW // 1024} "
          f"KiB; it reads nothing from .rodata and touches one page of strays' data")


if __name__ == "__main__":
    main()
