#!/usr/bin/env python3
"""Runs every fixture under valgrind memcheck with strays preloaded (issue 8).

Each fixture in BUILD/fixtures runs as

    LD_PRELOAD=BUILD/libstrays.so valgrind --error-exitcode=99 --trace-children=yes \
        --suppressions=scripts/memcheck.supp --log-file=DIR/vg.%p.log ... FIXTURE [ARGS]

(a fork or exec'd child writes a log of its own), and every memcheck error is
classified by the stacks valgrind gives for it (where it happened, and where
the block involved was allocated or freed):

  strays   a frame is in libstrays.so: strays' error, or one strays takes part
           in; any such error fails the run (exit status 1);
  fixture  no strays frame, a frame in the fixture's own code: the fixture's
           error (crash_segv_with_worker writes through NULL on purpose);
  system   only frames of system libraries (glibc, the loader, libunwind...):
           noise to add to scripts/memcheck.supp, with the reason.

Leaks are not looked for (no --leak-check): fixtures leak on purpose, and
strays keeps its tables to the end of the process by design. A run that hangs
is killed after TIMEOUT seconds and fails the run too: under valgrind strays
must not deadlock either.

usage: memcheck.py [--build DIR] [--jobs N] [FIXTURE...]

Python 3 standard library only.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SUPPRESSIONS = os.path.join(HERE, "memcheck.supp")
VALGRIND = "valgrind"
TIMEOUT = 300
STRAYS_OBJ = "libstrays.so"

# Fixtures that are not run, and why.
SKIP = {
    "dump_fake_reporter":
        "stands in for the preload in the tests of `strays dump`: it needs a report "
        "prefix and a format, then waits for signals forever.",
    "fork_while_capturing":
        "300 forks while two threads create threads without pause: valgrind runs one "
        "thread at a time and takes about 30 minutes over it. thread_fork_child and "
        "fd_fork_child_leak fork under memcheck here.",
    "inspect_target":
        "the process `strays inspect` looks at from outside: it runs without the preload "
        "and waits until it is killed.",
    "limit_exhaust":
        "waits for signals until the test that reads its exhaustion dump kills it; the "
        "dump's writers are the ones dump_growing_server's runs cover.",
}

# Fixtures run with arguments and options (each entry one run), and why; the
# others run once without arguments, with the default options (a text report on
# stderr). The options reach the report writers, the sink and the watchdog that a
# plain exit report does not.
RUNS = {
    # Live dumps by signal (a burst of 1000 in "storm"), as JSON files.
    "dump_growing_server": [([], "format=json:log_path={dir}/r"),
                            (["storm"], "format=json:log_path={dir}/r")],
    # Dumps by the watchdog's timer (the fixture waits for three at log_path), and the
    # metrics file.
    "dump_interval_workers": [([], "dump_interval=100ms:metrics_path={dir}/m:"
                                   "log_path={dir}/r")],
    # Every way out of the process.
    "thread_exit_paths": [([], ""), (["exit"], ""), (["_exit"], ""), (["_Exit"], ""),
                          (["quick_exit"], ""), (["fail"], ""), (["exit-from-thread"], ""),
                          (["main-pthread-exit"], ""), (["c11"], "")],
    # Every way a daemon closes its fds, strays' own among them.
    "fd_daemon_closes_all": [([], ""), (["loop"], ""), (["dup2"], ""), (["stderr"], "")],
    # A crash with the default action, and into the program's own SIGSEGV handler.
    "crash_segv_with_worker": [([], ""), (["own"], "")],
    # A failing exit reported as JSON, and the suppressions file read.
    "exit_status_from_arg": [(["3"], "report=failure:format=json:log_path={dir}/r")],
    "thread_blocked_on_cond": [([], ""), ([], "suppressions={supp}:print_suppressions=1")],
}

# Shared objects of the system: an error whose frames are all in these (or in
# valgrind's own preloads) is "system".
SYSTEM_OBJS = ("/ld-linux", "/libc.so", "/libm.so", "/libpthread", "/libdl", "/librt",
               "/libunwind", "/libdw", "/libelf", "/libz", "/liblzma", "/libbz2",
               "/libstdc++", "/libgcc_s", "/vgpreload_", "/valgrind/")


def fixture_runs(build, names):
    runs = []
    for path in sorted(glob.glob(os.path.join(build, "fixtures", "*"))):
        name = os.path.basename(path)
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            continue
        if names and name not in names:
            continue
        if name in SKIP:
            print(f"memcheck: skipped {name}: {SKIP[name]}")
            continue
        for args, options in RUNS.get(name, [([], "")]):
            runs.append((name, os.path.abspath(path), args, options))
    return runs


# A frame line of valgrind's text output: "at 0x4E99859: fn (in /lib/obj.so)" or,
# with --fullpath-after=, "by 0x486F9D6: fn (/src/dir/file.c:455)".
FRAME = re.compile(r"^ +(?:at|by) 0x[0-9A-F]+: (.*?) \((?:in (.*)|(.*?):(\d+))\)$")
# Blocks of valgrind's output that hold a stack but are not errors.
NOT_ERRORS = ("Process terminating with default action", "Warning:", "HEAP SUMMARY",
              "LEAK SUMMARY")


def errors_of(log):
    """The errors of one process's log: (its lines, its frames) each, a frame as
    (function, object or None, source path or None); and the numbers of
    distinct errors and suppressed ones in its ERROR SUMMARY (None if the
    process did not get to write it: killed, or exec'd another program)."""
    pid_prefix = re.compile(r"^==\d+== ?")
    errors, block = [], []
    contexts = suppressed = None
    with open(log, encoding="utf-8", errors="replace") as f:
        lines = [pid_prefix.sub("", line.rstrip("\n")) for line in f] + [""]
    for line in lines:
        summary = re.match(r"ERROR SUMMARY: \d+ errors from (\d+) contexts \(suppressed: (\d+)",
                           line)
        if summary:
            contexts, suppressed = int(summary.group(1)), int(summary.group(2))
        if line.strip():
            block.append(line)
            continue
        if block and re.match(r"Thread \d+", block[0]):
            block = block[1:]
        frames = [m.groups() for m in map(FRAME.match, block) if m]
        if block and frames and not block[0].startswith(NOT_ERRORS):
            errors.append((block, [(fn, obj, path) for fn, obj, path, _ in frames]))
        block = []
    return errors, contexts, suppressed


def classify(frames, fixture_path):
    def under(path, *dirs):
        return path and any(path.startswith(os.path.join(ROOT, d) + "/") for d in dirs)
    if any((obj or "").endswith("/" + STRAYS_OBJ) or under(path, "src", "preload")
           for _, obj, path in frames):
        return "strays"
    fixture = os.path.realpath(fixture_path)
    if any(obj and os.path.realpath(obj) == fixture or under(path, "tests")
           for _, obj, path in frames):
        return "fixture"
    if all(obj and any(s in obj for s in SYSTEM_OBJS) or path and not path.startswith("/")
           for _, obj, path in frames):
        return "system"  # a relative source path is a distribution's build (glibc's)
    return "fixture"  # another program the fixture ran (a shell, a child)


def describe(block):
    """The error as valgrind wrote it, without addresses, indented."""
    return "\n".join("    " + re.sub(r"(at|by) 0x[0-9A-F]+: ", r"\1 ", line) for line in block)


def run_one(run, build):
    name, path, args, options = run
    label = " ".join([name] + args) + (f" [{options.split(':')[0]}...]" if options else "")
    tmp = tempfile.mkdtemp(prefix="strays-memcheck.")
    try:
        env = dict(os.environ)
        env["LD_PRELOAD"] = os.path.abspath(os.path.join(build, STRAYS_OBJ))
        env.pop("STRAYS_OPTIONS", None)
        if options:
            supp = os.path.join(tmp, "strays.supp")
            with open(supp, "w") as f:
                f.write("# memcheck.py: a rule that matches nothing\nthread:no_such_function\n")
            env["STRAYS_OPTIONS"] = options.format(dir=tmp, supp=supp)
        # Text output, one log per process: valgrind reopens a --log-file with
        # %p in a fork child, but not an --xml-file (the child's XML would be
        # interleaved with its parent's). --fullpath-after= gives every frame's
        # full source path, which tells strays' frames from the fixture's.
        cmd = [VALGRIND, "--tool=memcheck", "--error-exitcode=99", "--trace-children=yes",
               "--leak-check=no", "--num-callers=40", "--max-threads=2100", "--fullpath-after=",
               "--suppressions=" + SUPPRESSIONS,
               "--log-file=" + os.path.join(tmp, "vg.%p.log"), path] + args
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=tmp, start_new_session=True)
        try:
            proc.wait(timeout=TIMEOUT)
            hung = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            hung = True
        errors, suppressed = [], 0
        for log in sorted(glob.glob(os.path.join(tmp, "vg.*.log"))):
            found, contexts, supp = errors_of(log)
            for block, frames in found:
                errors.append((classify(frames, path), describe(block)))
            suppressed += supp or 0
            if contexts is not None and contexts != len(found):
                # Output this script does not understand: counted against strays
                # rather than let an error pass unseen.
                errors.append(("strays", f"    {os.path.basename(log)}: valgrind counts "
                               f"{contexts} errors, memcheck.py read {len(found)}"))
        return label, proc.returncode, hung, errors, suppressed
    finally:
        if not os.environ.get("MEMCHECK_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("fixtures", nargs="*")
    opts = parser.parse_args()
    if not shutil.which(VALGRIND):
        sys.exit("memcheck: valgrind is not installed (scripts/install-deps.sh)")
    runs = fixture_runs(opts.build, set(opts.fixtures))
    if not runs:
        sys.exit(f"memcheck: no fixture in {opts.build}/fixtures")
    totals = {"strays": 0, "fixture": 0, "system": 0}
    hangs = 0
    suppressed = 0
    with concurrent.futures.ThreadPoolExecutor(opts.jobs) as pool:
        for label, status, hung, errors, supp in pool.map(lambda r: run_one(r, opts.build), runs):
            suppressed += supp
            counts = {k: sum(1 for c, _ in errors if c == k) for k in totals}
            for k in totals:
                totals[k] += counts[k]
            hangs += hung
            verdict = "HUNG" if hung else ("FAIL" if counts["strays"] else "ok")
            detail = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no errors"
            print(f"memcheck: {verdict:4} {label}: {detail} (exit status {status})", flush=True)
            for category, text in errors:
                print(f"  [{category}]\n{text}")
    print(f"memcheck: {len(runs)} runs: {totals['strays']} errors in strays, "
          f"{totals['fixture']} in the fixtures, {totals['system']} in system libraries, "
          f"{hangs} hung")
    print(f"memcheck: {suppressed} errors suppressed as known noise (scripts/memcheck.supp)")
    return 1 if totals["strays"] or hangs else 0


if __name__ == "__main__":
    sys.exit(main())
