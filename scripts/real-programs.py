#!/usr/bin/env python3
"""Runs real programs plain and under strays and checks both (issue 9).

Each program runs once plain and once with build/libstrays.so preloaded
(STRAYS_OPTIONS=format=json:log_path=..., so every process writes its own JSON
report and nothing is added to stderr). The script checks that the two runs
behave alike: the same stdout and stderr bytes, the same output files, and the
same exit status (23 under strays when the program exits 0 but leaves
something behind, as strays documents). Then it checks each report against
what the program is known to leave behind, with exact thread and fd counts.

Where a clean report alone would not prove that the program used threads
(sort, zstd, Python's ThreadPoolExecutor), a third run preloads the small
counter tests/real/count_threads.c instead of strays and checks how many
threads the program created and joined.

Programs that are not installed are skipped with a message naming the Debian
package that provides them (scripts/install-deps.sh installs them all but the
JDK and Node, which only the signal cases use).

usage: real-programs.py [--build DIR] [--keep] [CASE...]

Python 3 standard library only.
"""
import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 120
STRAYS_EXIT = 23
TREE_FILES = 24  # small files for the find | xargs pipeline, 4 per md5sum
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REAL = os.path.join(ROOT, "tests", "real")


class Skip(Exception):
    """A program the case needs is not installed."""


# ---------------------------------------------------------------- running


class Run:
    """One run of a command: its status, output, output files, reports."""

    def __init__(self, status, out, err, files, reports, seconds):
        self.status, self.out, self.err = status, out, err
        self.files, self.reports, self.seconds = files, reports, seconds


def clean_env():
    """The caller's environment without any preload (the script itself may
    run under strays), in the C locale so sort and friends do the same thing
    on every machine."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "STRAYS_OPTIONS")}
    env["LC_ALL"] = "C"
    return env


def run(argv, cwd, outputs=(), env_extra=None):
    """Runs argv in the fresh directory cwd; returns a Run whose files are the
    named outputs (None when missing) and whose reports are the JSON reports
    written under cwd/reports/."""
    os.makedirs(os.path.join(cwd, "reports"))
    env = clean_env()
    env.update(env_extra or {})
    start = time.monotonic()
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{' '.join(argv)} hung (killed after {TIMEOUT}s)")
    seconds = time.monotonic() - start
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    files = {}
    for name in outputs:
        path = os.path.join(cwd, name)
        files[name] = open(path, "rb").read() if os.path.exists(path) else None
    reports = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(cwd, "reports", "*.json")))]
    return Run(status, p.stdout, p.stderr, files, reports, seconds)


def strays_env(build, cwd, options=""):
    opts = f"format=json:log_path={os.path.join(cwd, 'reports', 'strays')}"
    return {"LD_PRELOAD": os.path.join(build, "libstrays.so"),
            "STRAYS_OPTIONS": opts + (":" + options if options else "")}


def count_env(build, cwd):
    return {"LD_PRELOAD": os.path.join(build, "real", "libcount_threads.so"),
            "COUNT_THREADS_FILE": os.path.join(cwd, "thread-counts")}


def thread_counts(cwd):
    """{pid: (created, joined, detached)} as the counter preload wrote them."""
    counts = {}
    path = os.path.join(cwd, "thread-counts")
    if os.path.exists(path):
        for line in open(path):
            pid, _, created, _, joined, _, detached = line.split()
            counts[int(pid)] = (int(created), int(joined), int(detached))
    return counts


# ---------------------------------------------------------------- reports


def leaks(report):
    return len(report["threads"]) + len(report["timers"]) + len(report["fds"])


def functions(report, stack):
    return [f.get("function") or "" for f in report["stacks"][stack]]


def modules(report, stack):
    return [os.path.basename(f["module"]) for f in report["stacks"][stack]]


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(report):
    """Counts as a person reads them: '2 threads (2 blocked), 0 timers, 2 fds'."""
    states = {}
    for t in report["threads"]:
        states[t["state"]] = states.get(t["state"], 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    parts = [plural(len(report["threads"]), "thread") + (f" ({detail})" if detail else ""),
             plural(len(report["timers"]), "timer"), plural(len(report["fds"]), "fd")]
    if report["suppressed"]["threads"]:
        parts.append(f"{report['suppressed']['threads']} threads suppressed")
    return ", ".join(parts)


def expect(problems, cond, message):
    if not cond:
        problems.append(message)


def only_report(problems, runs):
    reports = runs.reports
    expect(problems, len(reports) == 1, f"expected one report, got {len(reports)}")
    return reports[0] if reports else None


def expect_clean(problems, report):
    expect(problems, leaks(report) == 0, f"expected a clean report, got {summary(report)}")
    expect(problems, not report["untracked_threads"],
           f"untracked threads at exit: {report['untracked_threads']}")


def expect_counted(problems, counts, at_least):
    """The program created at least at_least threads and joined or detached
    each of them (Python detaches every thread it starts, and joins them with
    its own locks)."""
    expect(problems, len(counts) == 1, f"expected thread counts of one process, got {counts}")
    for created, joined, detached in counts.values():
        expect(problems, created >= at_least,
               f"the program created {created} threads (expected at least {at_least}): "
               "the input is too small to test anything")
        expect(problems, joined + detached == created,
               f"created {created} threads, joined {joined}, detached {detached}")


# ---------------------------------------------------------------- the cases


class Case:
    """A program run plain and under strays (and with the thread counter when
    count is set); check(problems, report_run, counts) adds what is wrong."""

    def __init__(self, argv, check, outputs=(), options="", count=False, story="",
                 keep_stdout=None, plain_status=0):
        self.argv, self.check, self.keep_stdout = argv, check, keep_stdout
        self.plain_status = plain_status
        self.outputs, self.options, self.count, self.story = outputs, options, count, story


def which(program, package):
    """The path of an installed program, or Skip naming its Debian package."""
    path = program if os.path.isabs(program) else shutil.which(program)
    if not path or not os.access(path, os.X_OK):
        raise Skip(f"{program} is not installed (Debian package {package})")
    return path


def built(build, name, package):
    path = os.path.join(build, "real", name)
    if not os.path.exists(path):
        raise Skip(f"{path} was not built (it needs the Debian package {package}; "
                   "`make real` builds it)")
    return path


def present(path):
    """An input that an earlier case writes (the compressed file)."""
    if not os.path.exists(path):
        raise Skip(f"{path} was not written (its case was skipped or failed)")
    return path


def truncated(path):
    """A copy of path cut in the middle, for a run that fails."""
    cut = path + ".truncated"
    with open(path, "rb") as f, open(cut, "wb") as out:
        out.write(f.read(os.path.getsize(path) // 2))
    return cut


def python(package="python3"):
    """Debian's interpreter when there is one (the names in the creation stacks
    are its own), else the one running this script."""
    return which("/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                 package)


def check_xz(problems, r, counts):
    """liblzma's worker threads and xz's signal pipe, both kept by design."""
    rep = only_report(problems, r)
    if not rep:
        return
    threads = rep["threads"]
    expect(problems, len(threads) == 2, f"expected the 2 liblzma workers, got {summary(rep)}")
    for t in threads:
        expect(problems, modules(rep, t["created_by"])[0] == "liblzma.so.5",
               f"thread {t['tid']} not created in liblzma: {modules(rep, t['created_by'])}")
        expect(problems, t["state"] == "running" or
               (t["state"] == "blocked" and t["blocked"]["call"] == "pthread_cond_wait"),
               f"thread {t['tid']} is {t['state']} {t['blocked']}, expected idle in "
               "pthread_cond_wait (or between two waits)")
    fds = sorted((f["fd"], f["kind"]) for f in rep["fds"])
    expect(problems, fds == [(3, "pipe"), (4, "pipe")],
           f"expected xz's self-pipe at fds 3 and 4, got {fds}")
    expect(problems, not rep["timers"], f"timers: {rep['timers']}")


def check_clean(problems, r, counts, at_least):
    rep = only_report(problems, r)
    if rep:
        expect_clean(problems, rep)
    expect_counted(problems, counts, at_least)


def check_python_daemon(problems, r, counts):
    rep = only_report(problems, r)
    if not rep:
        return
    threads = rep["threads"]
    expect(problems, len(threads) == 1 and not rep["fds"] and not rep["timers"],
           f"expected exactly the daemon thread, got {summary(rep)}")
    for t in threads:
        expect(problems, t["state"] == "blocked" and t["blocked"]["call"] == "clock_nanosleep",
               f"the daemon thread is {t['state']} {t['blocked']}, expected blocked in "
               "clock_nanosleep (time.sleep)")
        # The interpreter's thread start: PyThread_start_new_thread in 3.11 (called by
        # the static thread_PyThread_start_new_thread), PyThread_start_joinable_thread
        # from 3.13 on.
        starts = {"PyThread_start_new_thread", "thread_PyThread_start_new_thread",
                  "PyThread_start_joinable_thread", "do_start_joinable_thread"}
        names = functions(rep, t["created_by"])
        expect(problems, starts & set(names),
               f"the creation stack has no frame of the interpreter's thread start: {names}")


def check_glib(problems, r, counts):
    rep = only_report(problems, r)
    if not rep:
        return
    threads = rep["threads"]
    expect(problems, len(threads) == 2 and not rep["fds"] and not rep["timers"],
           f"expected the pool's 2 workers, got {summary(rep)}")
    for t in threads:
        names = functions(rep, t["created_by"])
        expect(problems, any(n.startswith("g_thread_pool_new") for n in names),
               f"thread {t['tid']} not created by g_thread_pool_new: {names}")


def check_glib_suppressed(problems, r, counts):
    rep = only_report(problems, r)
    if not rep:
        return
    expect_clean(problems, rep)
    s = rep["suppressed"]
    expect(problems, (s["threads"], s["timers"], s["fds"]) == (2, 0, 0),
           f"expected 2 threads suppressed, got {s}")
    matched = [(x["rule"], x["matched"]) for x in s["rules"]]
    expect(problems, matched == [("thread:g_thread_pool_new*", 2)],
           f"expected the one rule to match 2 threads, got {matched}")


def reasons(r):
    return [rep["reason"] for rep in r.reports]


def check_no_crash(problems, r, counts):
    """A runtime that recovers from a signal on purpose (a JVM's implicit null
    checks, V8's WebAssembly bounds traps, a Python handler) has crashed
    nothing: its exit report, and no crash report."""
    expect(problems, reasons(r) == ["exit"],
           f"expected the exit report alone, got reports of {reasons(r)}")


def check_crash(problems, r, counts, sig):
    """A signal that does end the process (after the program's handler
    returned): exactly one crash report, of that signal."""
    expect(problems, reasons(r) == ["crash"], f"expected one crash report, got {reasons(r)}")
    for rep in r.reports:
        got = (rep.get("crash") or {}).get("signal")
        expect(problems, got == sig, f"crash report of signal {got}, expected {sig}")


def java_class(work):
    """NullChecks compiled into work/java (java and javac from the same JDK)."""
    java = which("java", "default-jre-headless")
    javac = which("javac", "default-jdk-headless")
    out = os.path.join(work, "java")
    if not os.path.exists(os.path.join(out, "NullChecks.class")):
        subprocess.run([javac, "-d", out, os.path.join(REAL, "NullChecks.java")], check=True,
                       env=clean_env(), timeout=TIMEOUT)
    return [java, "-cp", out, "NullChecks"]


def check_pipeline(problems, r, counts, processes):
    commands = sorted(os.path.basename(rep["command"].split()[0]) for rep in r.reports)
    expect(problems, commands == sorted(processes),
           f"expected reports of {sorted(processes)}, got "
           f"{commands}")
    for rep in r.reports:
        if leaks(rep):
            problems.append(f"{rep['command']} (pid {rep['pid']}): {summary(rep)}")


def check_shell_step(problems, r, counts):
    """bash, the subshell of its command substitution and the wc that runs in
    it are clean; the script the main bash keeps open on fd 255 is left out,
    counted as suppressed (the subshell closed its copy)."""
    check_pipeline(problems, r, counts, ["bash", "bash", "wc"])
    kept = [rep["suppressed"]["fds"] for rep in r.reports
            if os.path.basename(rep["command"].split()[0]) == "bash"]
    expect(problems, sorted(kept) == [0, 1],
           f"expected the main bash's script fd counted as suppressed, got {kept}")


GLIB_RULES = """\
# GLib keeps the workers of an exclusive pool until the pool is freed.
thread:g_thread_pool_new*
"""


def cases(build, work):
    """Every case as (title, a function making its Case or raising Skip)."""
    data = os.path.join(work, "input.txt")
    xz_in = os.path.join(work, "input.txt.xz")
    tree = os.path.join(work, "tree")
    glib_rules = os.path.join(work, "glib.supp")
    with open(glib_rules, "w") as f:
        f.write(GLIB_RULES)

    def pipeline():
        find, xargs = which("find", "findutils"), which("xargs", "findutils")
        md5sum, sort = which("md5sum", "coreutils"), which("sort", "coreutils")
        script = f"{find} {tree} -type f -print0 | {xargs} -0 -P2 -n4 {md5sum} | {sort}"
        md5sums = ["md5sum"] * (TREE_FILES // 4)
        return Case([which("sh", "dash"), "-c", script],
                    lambda p, r, c: check_pipeline(p, r, c, ["sh", "find", "xargs", "sort"] + md5sums),
                    story="every process clean")

    return [
        # xz -T2 starts a second thread only for a second block: small blocks make
        # sure there are many, -0 keeps the run short.
        ("xz -T2 (compress)", lambda: Case(
            [which("xz", "xz-utils"), "-T2", "-0", "--block-size=256KiB", "-c", data],
            check_xz, keep_stdout=xz_in,
            story="liblzma's 2 workers and xz's signal pipe, kept by design")),
        ("xz -d -T2 (decompress)", lambda: Case(
            [which("xz", "xz-utils"), "-d", "-T2", "-c", present(xz_in)], check_xz,
            story="the same: 2 decoder threads, the signal pipe")),
        # A failing run keeps its own status (1) and message, leaks or not.
        ("xz -d -T2 (truncated input)", lambda: Case(
            [which("xz", "xz-utils"), "-d", "-T2", "-c", truncated(present(xz_in))], check_xz,
            plain_status=1, story="fails as plain xz does, with the same 2 threads and the pipe")),
        # sort hands half a buffer to a thread only when the buffer holds 128Ki lines or
        # more: a small -S would keep it single-threaded, 32M holds the whole input.
        ("sort --parallel=2", lambda: Case(
            [which("sort", "coreutils"), "--parallel=2", "-S", "32M", "-o", "sorted", data],
            lambda p, r, c: check_clean(p, r, c, 1), outputs=("sorted",), count=True,
            story="every thread joined")),
        ("zstd -T2", lambda: Case(
            [which("zstd", "zstd"), "-q", "-T2", "-B1M", "-o", "out.zst", data],
            lambda p, r, c: check_clean(p, r, c, 2), outputs=("out.zst",), count=True,
            story="every thread joined")),
        ("python3 ThreadPoolExecutor", lambda: Case(
            [python(), os.path.join(REAL, "python_pool.py")],
            lambda p, r, c: check_clean(p, r, c, 2), count=True,
            story="the pool's workers finish before the interpreter exits")),
        ("python3 daemon thread", lambda: Case(
            [python(), os.path.join(REAL, "python_daemon.py")],
            check_python_daemon, story="the daemon thread, asleep")),
        ("GLib thread pool", lambda: Case(
            [built(build, "glib_pool", "libglib2.0-dev")], check_glib,
            story="the pool's 2 workers")),
        ("GLib thread pool, suppressed", lambda: Case(
            [built(build, "glib_pool", "libglib2.0-dev")], check_glib_suppressed,
            options=f"suppressions={glib_rules}:print_suppressions=1",
            story="one rule silences both workers")),
        ("find | xargs -P2 md5sum | sort", pipeline),
        ("bash on a script file", lambda: Case(
            [which("bash", "bash"), os.path.join(REAL, "shell_step.sh"), data],
            check_shell_step, story="clean: the script fd bash keeps is left out")),
        # Runtimes that own their signals (java, node and the JDK are not installed by
        # scripts/install-deps.sh: a case skips when its runtime is missing).
        ("java: implicit null checks (SIGSEGV handled by the JVM)", lambda: Case(
            java_class(work), check_no_crash,
            story="a million faults turned into NullPointerExceptions: no crash")),
        ("node: WebAssembly out-of-bounds traps (SIGSEGV handled by V8)", lambda: Case(
            [which("node", "nodejs"), os.path.join(REAL, "wasm_trap.js")], check_no_crash,
            story="a thousand traps caught in JavaScript: no crash")),
        ("python3: its own SIGABRT handler", lambda: Case(
            [python(), os.path.join(REAL, "python_signals.py"), "handled"], check_no_crash,
            story="the signal handled: no crash")),
        ("python3: os.abort() with a SIGABRT handler", lambda: Case(
            [python(), os.path.join(REAL, "python_signals.py"), "abort"],
            lambda p, r, c: check_crash(p, r, c, 6), plain_status=128 + 6,
            story="abort() kills all the same: one crash report")),
    ]


def make_inputs(work, megabytes):
    """A text file of random words (compressible, sortable, the same on every
    run) and a tree of small files."""
    rng = random.Random(9)
    words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(3, 9)))
             for _ in range(4000)]
    data = os.path.join(work, "input.txt")
    with open(data, "w") as f:
        size = 0
        while size < megabytes << 20:
            line = " ".join(rng.choice(words) for _ in range(4)) + "\n"
            f.write(line)
            size += len(line)
    tree = os.path.join(work, "tree")
    os.makedirs(tree)
    with open(data, "rb") as f:
        text = f.read(TREE_FILES * 4096)
    for i in range(TREE_FILES):
        with open(os.path.join(tree, f"file{i:02}.txt"), "wb") as f:
            f.write(text[: (i + 1) * 4096])


# ---------------------------------------------------------------- checking


def compare_behaviour(problems, plain, other, what):
    """other (under strays, or with the counter) behaved as the plain run did."""
    for name, a, b in (("stdout", plain.out, other.out), ("stderr", plain.err, other.err)):
        expect(problems, a == b, f"{what}: {name} differs ({len(a)} bytes plain, {len(b)} "
               f"bytes {what}): {b[-300:]!r}")
    for name, data in plain.files.items():
        expect(problems, data is not None, f"the plain run wrote no {name}")
        expect(problems, other.files[name] == data, f"{what}: {name} differs from the plain run's")


def expected_status(plain, under_strays):
    """The plain status, or strays' exit code when the program exited 0 and a
    process left something behind that no rule suppressed."""
    leaked = any(leaks(rep) for rep in under_strays.reports)
    return STRAYS_EXIT if plain.status == 0 and leaked else plain.status


def run_case(case, build, work):
    """Runs the case; returns (problems, one line of what was seen)."""
    problems = []
    plain = run(case.argv, os.path.join(work, "plain"), case.outputs)
    expect(problems, not plain.reports, "the plain run wrote strays reports")
    expect(problems, plain.status == case.plain_status,
           f"the plain run exited {plain.status}, expected {case.plain_status}: {plain.err[-300:]!r}")
    if case.keep_stdout and plain.status == 0:
        with open(case.keep_stdout, "wb") as f:
            f.write(plain.out)
    sdir = os.path.join(work, "strays")
    under = run(case.argv, sdir, case.outputs, strays_env(build, sdir, case.options))
    compare_behaviour(problems, plain, under, "under strays")
    want = expected_status(plain, under)
    expect(problems, under.status == want,
           f"exit status {under.status} under strays, expected {want} (plain: {plain.status})")
    expect(problems, under.reports, "strays wrote no report")
    counts = {}
    if case.count:
        cdir = os.path.join(work, "count")
        counted = run(case.argv, cdir, case.outputs, count_env(build, cdir))
        compare_behaviour(problems, plain, counted, "with the thread counter")
        counts = thread_counts(cdir)
    if under.reports:
        case.check(problems, under, counts)
    seen = "; ".join(summary(rep) for rep in under.reports[:1])
    if len(under.reports) > 1:
        seen = f"{len(under.reports)} processes, {sum(1 for r in under.reports if leaks(r))} leaked"
    if counts:
        seen += "; " + ", ".join(f"created {plural(c, 'thread')}, joined {j}, detached {d}"
                                 for c, j, d in counts.values())
    timing = f"plain {plain.seconds:.2f}s, strays {under.seconds:.2f}s"
    return problems, f"{timing}: {seen} ({case.story})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--size", type=int, default=4, help="input size in MiB (default 4)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("cases", nargs="*", help="run only the cases whose title contains one of these")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if not os.path.exists(os.path.join(build, "libstrays.so")):
        sys.exit(f"real-programs: {build}/libstrays.so is missing; run `make` first")
    if not os.path.exists(os.path.join(build, "real", "libcount_threads.so")):
        sys.exit(f"real-programs: {build}/real/libcount_threads.so is missing; run `make real`")
    os.makedirs(os.path.join(build, "real"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="work-", dir=os.path.join(build, "real"))
    make_inputs(work, args.size)
    failed = 0
    for i, (title, make) in enumerate(cases(build, work)):
        if args.cases and not any(c in title for c in args.cases):
            continue
        try:
            case = make()
        except Skip as why:
            print(f"skip  {title}: {why}")
            continue
        try:
            problems, seen = run_case(case, build, os.path.join(work, f"case{i:02}"))
        except AssertionError as e:
            problems, seen = [str(e)], "did not finish"
        print(f"{'FAIL' if problems else 'ok  '}  {title}: {seen}")
        for p in problems:
            print(f"        {p}")
        failed += bool(problems)
        sys.stdout.flush()
    if failed or args.keep:
        print(f"real-programs: runs and reports kept in {work}")
    else:
        shutil.rmtree(work)
    if failed:
        print(f"real-programs: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
