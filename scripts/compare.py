#!/usr/bin/env python3
"""Runs every fixture three ways and compares what each tool found (issue 9).

  1. under strays: LD_PRELOAD=libstrays.so, the JSON report of every process;
  2. under valgrind --track-fds=yes: the fds each process left open at exit;
  3. rebuilt with -fsanitize=thread (BUILD/compare/tsan/NAME, built by
     `make compare`): TSan's "thread leak" reports.

Prints one table, fixture by fixture (a fixture run with several argument
lists gets a row per run, a fork or exec'd child a row of its own), of what
each tool found: threads (and how many are blocked), timers, fds, deadlocks.
Where strays and an oracle disagree, the reason column names the known,
documented difference that explains it (the table KNOWN below), and every
such explanation is checked against the numbers before it is given. A
disagreement that none explains is UNEXPLAINED and makes the script exit 1;
so does a run that hangs (each is killed after TIMEOUT seconds).

The table is printed as text and as Markdown; the Markdown goes to
BUILD/compare/table.md, the raw findings to BUILD/compare/results.json.

usage: compare.py [--build DIR] [--jobs N] [FIXTURE...]

Python 3 standard library only.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Fixtures that are not run, and why.
SKIP = {
    "dump_fake_reporter":
        "needs arguments (a report prefix and a format), then waits for signals "
        "forever; it stands in for the preload in the tests of `strays dump` and "
        "leaks nothing itself.",
    "api_parallel_scopes":
        "tests the in-process API (strays_verify_none, weak symbols): without the preload "
        "it prints \"strays is not loaded\" and returns at once, so valgrind and TSan would "
        "see another program than strays does.",
    "api_scopes_race":
        "tests the in-process API from four threads at once; without the preload it "
        "prints \"strays is not loaded\" and returns at once, like api_parallel_scopes.",
    "security_static":
        "statically linked on purpose: the loader cannot preload strays into it, which is "
        "what `strays run`'s warning about static programs is tested with; there is no "
        "strays report to compare.",
    "unusual_emfile":
        "runs the process out of fds on purpose; valgrind, which needs fds of its own at "
        "exit, then prints no fd listing. The e2e test checks strays' behaviour there.",
    "fork_while_capturing":
        "a regression fixture for a hang: 300 fork children that open one fd and `_exit` "
        "at once; valgrind prints no fd listing for such children, and the parent leaks "
        "nothing.",
    "unusual_early_thread":
        "links a library of its own (tests/fixtures/early/) whose constructor starts a "
        "thread before strays initialises; `make compare` does not rebuild that library "
        "with TSan. The e2e test checks strays' report of it.",
    "unusual_early_errno":
        "links a library of its own (tests/fixtures/early/) whose constructor makes the "
        "first hooked call; `make compare` does not rebuild that library with TSan, and "
        "the fixture leaks nothing. The e2e test checks that errno is kept.",
    "crash_early_handler":
        "links a library of its own (tests/fixtures/early/) whose constructor installs a "
        "SIGSEGV handler or a fork handler before strays starts; `make compare` does not "
        "rebuild that library with TSan. The e2e tests check strays' reports of it.",
    "crash_handlers":
        "needs a mode; each mode handles a crash signal its own way (siglongjmp, a changed "
        "context, SA_RESETHAND, re-raise) to test strays' signal chain against the same "
        "program without strays (tests/e2e/test_signals.c); each leaves the same one fd.",
    "dump_fork_child":
        "its child waits until it is killed, for `strays dump` of a fork child "
        "(tests/e2e/test_cli_dump.c); run alone it never ends.",
    "crash_no_malloc":
        "defines malloc, calloc, realloc and free itself, to see whether strays' crash "
        "report calls them; valgrind and TSan replace those functions with their own.",
    "crash_malloc_lock":
        "corrupts the heap on purpose so that glibc's malloc aborts; valgrind's malloc "
        "reports the invalid free and goes on, TSan's allocator stops differently.",
    "inspect_target":
        "the process `strays inspect` looks at from outside: it runs without the preload "
        "and waits until it is killed.",
    "limit_exhaust":
        "hits a resource limit, then waits for signals until the test that reads its "
        "exhaustion dump kills it.",
    "run_dump_target":
        "waits for the dump signal `strays run` passes on (tests/e2e/test_cli_run.c), "
        "then for its dump's file; run alone it waits until it gives up.",
    "shell_script.sh":
        "a shell script for the test of the shell's own script fd, which strays leaves "
        "out by design and valgrind lists; the script's own leak (fd 3) is checked in "
        "tests/e2e/test_fds_timers.c.",
    "shell_script_bash.sh":
        "the bash twin of shell_script.sh.",
    "run_forks_leaky_child.sh":
        "a shell script for the tests of `strays run` on a script; it only starts other "
        "fixtures (thread_clean, fd_error_path_leak), which have rows of their own.",
}

# Fixtures run with arguments (each list is one run and one row), and why. The others
# run once, without arguments.
RUNS = {
    # Its default mode (and "storm") sends itself SIGRTMAX-4 to ask strays for a live
    # dump; without strays (under valgrind or TSan) the signal's default action kills
    # it. With "own" it installs its own handler for that signal first (strays gives
    # the signal back) and runs alike under every tool.
    "dump_growing_server": [["own"]],
    # Every way out of the process.
    "thread_exit_paths": [[], ["exit"], ["_exit"], ["_Exit"], ["quick_exit"], ["fail"],
                          ["exit-from-thread"], ["main-pthread-exit"], ["c11"]],
    # Every way a daemon closes its fds: closefrom (close_range), a close loop, dup2
    # over them, and closing stderr too.
    "fd_daemon_closes_all": [[], ["loop"], ["dup2"], ["stderr"]],
    # A crash with the default action, and into the program's own SIGSEGV handler.
    "crash_segv_with_worker": [[], ["own"]],
    # A clean exit and a failing one.
    "exit_status_from_arg": [[], ["3"]],
}

# Known, documented differences between strays and the oracles. compare_row gives one
# only after checking that it accounts for the numbers.
KNOWN = {
    "tsan-live":
        "TSan reports only joinable threads that finished and were never joined (its "
        "\"thread leak\"); threads still running or blocked at exit, and detached "
        "threads, are not reported. strays reports them all.",
    "tsan-no-exit":
        "The process did not exit normally (a crash by design, or `_exit`/`_Exit`/"
        "`quick_exit`): TSan checks for thread leaks only in its exit handler, which "
        "these skip; strays reports on every way out.",
    "tsan-c11":
        "TSan (GCC 12) does not intercept C11 `thrd_create`, which glibc 2.36 implements "
        "with an internal call to pthread_create; the first intercepted call in such a "
        "thread (here `pause`) crashes TSan's runtime (SEGV), so TSan finds nothing.",
    "timers":
        "Neither valgrind nor TSan tracks POSIX timers (timer_create without "
        "timer_delete).",
    "timerfd":
        "valgrind lists a timerfd as an open fd; strays reports it once, as a timer "
        "with an fd (counted with the fds here, and then they agree).",
    "blocked":
        "Neither oracle knows whether a thread is blocked, in what call, or for how "
        "long.",
    "deadlock":
        "TSan's lock-order-inversion report needs both lock orders to have been "
        "taken once; in a real deadlock the second lock is never taken, so TSan says "
        "nothing. strays sees two threads each waiting for a lock the other holds.",
    "fork-inherited":
        "In a fork child valgrind also lists the fds the child inherited from its "
        "parent; strays reports only what the child itself created (what it inherited "
        "is not its leak).",
    "tsan-clone":
        "A thread made by a raw clone(CLONE_THREAD) call is unknown to TSan's runtime; "
        "the first intercepted call in it crashes TSan (SEGV). strays lists it as "
        "untracked.",
    "tsan-dlclose":
        "The thread that finished unjoined was created by a plugin that the program "
        "dlclose'd before exit. GCC 12's TSan reports no thread leak for it. We saw this "
        "but have not found why; strays reports it, with the plugin's frames marked "
        "unloaded.",
    "exec-child":
        "A child that exec'd another program (popen's /bin/sh): valgrind follows it "
        "(--trace-children=yes), TSan cannot (the program is not instrumented).",
}

TIMEOUT = {"strays": 60, "valgrind": 180, "tsan": 90}
VALGRIND = "/usr/bin/valgrind"

# A fork child's fds that it inherited from its parent, as valgrind lists them, per
# fixture: fd_fork_child_leak's parent opens /dev/null (fd 3) before it forks.
FORK_INHERITED = {
    "fd_fork_child_leak": {3},
    # The pipe through which the grandchild's pid comes back, made before the fork.
    "unusual_daemon": {3, 4},
}


def clean_env():
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "STRAYS_OPTIONS", "TSAN_OPTIONS", "VALGRIND_OPTS"):
        env.pop(k, None)
    return env


def run(cmd, env, out_dir, timeout):
    """Runs cmd with stdin (/dev/null), stdout and stderr (files) and no other fd, in a
    session of its own, so that a hung run is killed with every process it started."""
    os.makedirs(out_dir, exist_ok=True)
    res = {"cmd": cmd, "timed_out": False, "status": None, "signal": None}
    start = time.monotonic()
    with open(os.path.join(out_dir, "stdout"), "wb") as out, \
            open(os.path.join(out_dir, "stderr"), "wb") as err:
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             close_fds=True, start_new_session=True, cwd=ROOT)
        res["pid"] = p.pid
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            res["timed_out"] = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            rc = p.wait()
    try:  # whatever the run left behind in its session (a child still running)
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    res["seconds"] = round(time.monotonic() - start, 2)
    if rc < 0:
        res["signal"] = -rc
    else:
        res["status"] = rc
    with open(os.path.join(out_dir, "stderr"), "rb") as f:
        res["stderr"] = f.read().decode("utf-8", "replace")
    return res


# ---------------------------------------------------------------- strays

def run_strays(exe, args, work):
    d = os.path.join(work, "strays")
    env = clean_env()
    env["LD_PRELOAD"] = os.path.join(BUILD, "libstrays.so")
    env["STRAYS_OPTIONS"] = "format=json:log_path=%s/r" % d
    os.makedirs(d, exist_ok=True)
    res = run([exe] + args, env, d, TIMEOUT["strays"])
    final = {}
    for path in glob.glob(os.path.join(d, "r.*.json")):
        m = re.match(r"r\.(\d+)\.(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            rep = json.load(f)
        if rep.get("reason") not in ("exit", "crash"):
            continue  # a live dump (dump_growing_server asks for two)
        pid, seq = int(m.group(1)), int(m.group(2))
        if pid not in final or final[pid][0] < seq:
            final[pid] = (seq, rep)
    res["procs"] = {}
    for pid, (_, rep) in final.items():
        p = {"exe": rep.get("exe"), "reason": rep["reason"], "threads": 0, "running": 0,
             "blocked": 0, "exited": 0, "detached": 0, "exited_joinable": [], "timers": 0,
             "timerfds": [], "fds": {}, "deadlocks": len(rep.get("deadlocks") or []),
             "untracked": len(rep.get("untracked_threads") or []),
             "untracked_names": [t["name"] for t in rep.get("untracked_threads") or []]}
        for t in rep["threads"]:
            p["threads"] += 1
            p[t["state"]] += 1
            p["detached"] += bool(t["detached"])
            if t["state"] == "exited" and not t["detached"]:
                p["exited_joinable"].append(t["name"])
        for t in rep["timers"]:
            if t.get("fd") is None:
                p["timers"] += 1
            else:
                p["timerfds"].append(t["fd"])
        p["fds"] = {f["fd"]: (f["kind"], f["target"]) for f in rep["fds"]}
        res["procs"][pid] = p
    return res


# ---------------------------------------------------------------- valgrind

VG_LINE = re.compile(r"^==(\d+)== (.*)$")
VG_OPEN = re.compile(r"^Open (?:file descriptor (\d+):\s*(.*)|(\S+) socket (\d+):)")
VG_TOTAL = re.compile(r"^FILE DESCRIPTORS: (\d+) open \((\d+) std\) at exit\.")
VG_AT = re.compile(r"^\s+at 0x[0-9A-Fa-f]+: (\S+)")


def run_valgrind(exe, args, work):
    d = os.path.join(work, "valgrind")
    # valgrind's messages go to stderr (fd 2), each line prefixed with ==PID==; not to
    # --log-file (valgrind 3.19 then holds the log at fd 3 in the program's fd table,
    # and every fd the program opens is one higher than without it) nor to --log-fd
    # (the program's closefrom closes it, and the listing is lost).
    cmd = [VALGRIND, "--track-fds=yes", "--trace-children=yes", "--leak-check=no",
           "--max-threads=1200", exe] + args
    res = run(cmd, clean_env(), d, TIMEOUT["valgrind"])
    procs = {}
    cur = {}  # pid -> the fd whose "Open ..." block is being read
    for line in res["stderr"].splitlines():
        m = VG_LINE.match(line)
        if not m:
            continue
        pid, text = int(m.group(1)), m.group(2)
        p = procs.setdefault(pid, {"command": None, "fds": {}, "inherited": [],
                                   "listed": False, "fatal_signal": None})
        if text.startswith("Command: "):
            p["command"] = text[len("Command: "):]
            continue
        if VG_TOTAL.match(text):
            p["listed"] = True
            continue
        m = VG_OPEN.match(text)
        if m:
            if m.group(1):
                fd, what = int(m.group(1)), m.group(2).strip() or None
            else:
                fd, what = int(m.group(4)), m.group(3) + " socket"
            cur[pid] = fd
            p["fds"][fd] = {"path": what, "by": None}
            continue
        if pid in cur:
            if "<inherited from parent>" in text:
                p["fds"].pop(cur[pid])
                p["inherited"].append(cur.pop(pid))
                continue
            m = VG_AT.match(text)
            if m:
                p["fds"][cur.pop(pid)]["by"] = m.group(1)
                continue
        m = re.match(r"Process terminating with default action of signal (\d+)", text)
        if m:
            p["fatal_signal"] = int(m.group(1))
    for p in procs.values():
        p["fds"] = {fd: v for fd, v in p["fds"].items() if fd > 2}
    res["procs"] = procs
    return res


# ---------------------------------------------------------------- TSan

def run_tsan(exe, args, work):
    d = os.path.join(work, "tsan")
    os.makedirs(d, exist_ok=True)
    env = clean_env()
    env["TSAN_OPTIONS"] = "report_thread_leaks=1:exitcode=0:log_path=%s/tsan" % d
    res = run([exe] + args, env, d, TIMEOUT["tsan"])
    procs = {}
    for path in glob.glob(os.path.join(d, "tsan.*")):
        pid = int(path.rsplit(".", 1)[1])
        with open(path, errors="replace") as f:
            text = f.read()
        p = {"leaks": 0, "names": [], "warnings": {}, "crash": None}
        for kind in re.findall(r"WARNING: ThreadSanitizer: ([^(\n]+?)\s*(?:\(|\n)", text):
            if kind == "thread leak":
                p["leaks"] += 1
            else:
                p["warnings"][kind] = p["warnings"].get(kind, 0) + 1
        p["names"] = re.findall(r"Thread T\d+ '([^']*)' \(tid=\d+, finished\)", text)
        p["leaks"] += sum(int(n) for n in re.findall(r"And (\d+) more similar thread leaks", text))
        m = re.search(r"ERROR: ThreadSanitizer: (\S+)", text)
        if m:
            p["crash"] = m.group(1)
        procs[pid] = p
    res["procs"] = procs
    return res


# ---------------------------------------------------------------- comparison

def fmt_fds(fds):
    fds = sorted(fds)
    return "%d" % len(fds) + (" (%s)" % ",".join(map(str, fds)) if fds else "")


TSAN_NOTHING = {"leaks": 0, "names": [], "warnings": {}, "crash": None}


def pair_processes(fixture_exe, sres, vres, tres):
    """[(role, strays, valgrind, tsan)]: the main process first, then fork children,
    then exec'd children, each kind matched in pid order."""
    real = os.path.realpath(fixture_exe)
    smain, vmain, tmain = sres["pid"], vres["pid"], tres["pid"]
    # TSan writes a log only when it has something to say.
    rows = [("main", sres["procs"].get(smain), vres["procs"].get(vmain),
             tres["procs"].get(tmain, TSAN_NOTHING))]

    def kids(procs, main, execd):
        return [procs[p] for p in sorted(procs) if p != main and execd(procs[p])]

    s_fork = kids(sres["procs"], smain, lambda p: os.path.realpath(p["exe"] or "") == real)
    s_exec = kids(sres["procs"], smain, lambda p: os.path.realpath(p["exe"] or "") != real)
    # valgrind names the command of a process that exec'd; a fork child has none.
    v_fork = kids(vres["procs"], vmain, lambda p: p["command"] is None)
    v_exec = kids(vres["procs"], vmain, lambda p: p["command"] is not None)
    t_fork = kids(tres["procs"], tmain, lambda p: True)
    for i in range(max(len(s_fork), len(v_fork), len(t_fork))):
        rows.append(("fork child", s_fork[i] if i < len(s_fork) else None,
                     v_fork[i] if i < len(v_fork) else None,
                     t_fork[i] if i < len(t_fork) else TSAN_NOTHING))
    for i in range(max(len(s_exec), len(v_exec))):
        rows.append(("exec'd child", s_exec[i] if i < len(s_exec) else None,
                     v_exec[i] if i < len(v_exec) else None, None))
    return rows


def compare_row(name, role, s, v, t, sr, vr, tr):
    """One process as each tool saw it (s, v, t: None when that tool has no record of
    it), and the three runs. Returns (cells, verdict, reasons, unexplained, notes)."""
    reasons, unexplained, notes = [], [], []
    for tool, res in (("strays", sr), ("valgrind", vr), ("tsan", tr)):
        if res["timed_out"]:
            unexplained.append("%s: hung, killed after %ss" % (tool, TIMEOUT[tool]))

    # strays
    if s is None:
        if not sr["timed_out"]:
            unexplained.append("strays wrote no exit or crash report")
        cells = ["no report"] * 4
        s = {"threads": 0, "running": 0, "blocked": 0, "exited": 0, "detached": 0,
             "exited_joinable": [], "timers": 0, "timerfds": [], "fds": {}, "deadlocks": 0,
             "untracked": 0, "reason": None, "exe": None}
    else:
        parts = ["%d %s" % (s[k], k) for k in ("blocked", "exited", "detached") if s[k]]
        threads = "%d" % s["threads"] + (" (%s)" % ", ".join(parts) if parts else "")
        timers = "%d" % (s["timers"] + len(s["timerfds"]))
        if s["timerfds"]:
            timers += " (%d timerfd)" % len(s["timerfds"])
        cells = [threads, timers, fmt_fds(s["fds"]), "%d" % s["deadlocks"]]
        if s["reason"] == "crash":
            notes.append("crashes by design; strays' report is its crash report")

    # fds: strays against valgrind, a timerfd counted as an fd on both sides
    if v is None or not v["listed"]:
        cells.append("no listing")
        if not vr["timed_out"]:
            unexplained.append("valgrind printed no fd listing for this process")
    else:
        cells.append(fmt_fds(v["fds"]))
        s_fds = set(s["fds"]) | set(s["timerfds"])
        v_fds = set(v["fds"])
        extra_v, extra_s = v_fds - s_fds, s_fds - v_fds
        if role == "fork child" and extra_v and extra_v == FORK_INHERITED.get(name) \
                and not extra_s:
            reasons.append("fork-inherited")
        elif extra_v or extra_s:
            unexplained.append("fds: only valgrind has %s, only strays has %s"
                               % (sorted(extra_v) or "none", sorted(extra_s) or "none"))
        # The same fds, and the same objects behind them.
        v_timerfds = {fd for fd, x in v["fds"].items() if x["by"] == "timerfd_create"}
        if v_timerfds != set(s["timerfds"]):
            unexplained.append("timerfds: valgrind %s, strays %s"
                               % (sorted(v_timerfds), sorted(s["timerfds"])))
        elif v_timerfds:
            reasons.append("timerfd")
        for fd, (kind, target) in sorted(s["fds"].items()):
            path = v["fds"].get(fd, {}).get("path")
            if kind in ("file", "dir") and path and path != target:
                unexplained.append("fd %d: strays says %s, valgrind %s" % (fd, target, path))

    # threads: strays against TSan
    if t is None:  # an exec'd program: not instrumented
        cells.append("not instrumented")
        reasons.append("exec-child")
    else:
        others = ["%d %s" % (n, k) for k, n in sorted(t["warnings"].items())]
        if t["crash"]:
            others.append(t["crash"])
        cells.append("%d" % t["leaks"] + (" (%s)" % ", ".join(others) if others else ""))
        exited = len(s["exited_joinable"])
        strays_crashed = s["reason"] == "crash" or sr["signal"] is not None
        with open(SOURCES[name], errors="replace") as f:
            source = f.read()
        uses_c11_threads = "thrd_create" in source
        uses_raw_clone = re.search(r"\bclone\(", source) is not None
        unloads_a_plugin = "dlclose(" in source
        # TSan checks for leaks in its exit handler: not after a crash or a fatal
        # signal, nor after _exit, _Exit or quick_exit.
        tsan_no_exit = (t["crash"] is not None or tr["signal"] is not None
                        or any(a in ("_exit", "_Exit", "quick_exit") for a in tr["cmd"][1:]))
        if t["crash"] and not strays_crashed and uses_c11_threads and t["leaks"] == 0:
            reasons.append("tsan-c11")
        elif t["crash"] and not strays_crashed and uses_raw_clone and s["untracked"]:
            reasons.append("tsan-clone")
        elif t["leaks"] == 0 and unloads_a_plugin and exited > 0 and not t["crash"]:
            reasons.append("tsan-dlclose")
        elif t["crash"] and not strays_crashed:
            unexplained.append("TSan crashed (%s), the program does not" % t["crash"])
        elif t["leaks"] == exited:
            if s["threads"] > exited:
                reasons.append("tsan-live")
            names = [n for n in t["names"] if n]
            if not set(names) <= set(s["exited_joinable"]):
                unexplained.append("thread leaks: TSan names %s, strays %s"
                                   % (names, s["exited_joinable"]))
        elif t["leaks"] == 0 and tsan_no_exit:
            reasons.append("tsan-no-exit")
        else:
            unexplained.append("threads: TSan %d thread leaks; strays %d finished unjoined "
                               "(of %d)" % (t["leaks"], exited, s["threads"]))
        for kind in t["warnings"]:
            if not kind.startswith("lock-order-inversion"):
                unexplained.append("TSan warned: %s" % kind)
        inversions = sum(n for k, n in t["warnings"].items()
                         if k.startswith("lock-order-inversion"))
        if s["deadlocks"] != inversions:
            if inversions == 0:
                reasons.append("deadlock")
            else:
                unexplained.append("deadlocks: TSan %d lock-order inversions, strays %d"
                                   % (inversions, s["deadlocks"]))

    # what only strays knows
    if s["timers"]:
        reasons.append("timers")
    if s["blocked"]:
        reasons.append("blocked")
    if s["untracked"]:
        notes.append("%d untracked thread%s" % (s["untracked"], "s" * (s["untracked"] > 1)))

    verdict = "UNEXPLAINED" if unexplained else "explained" if reasons else "agree"
    reasons = sorted(set(reasons), key=list(KNOWN).index)
    return cells, verdict, reasons, unexplained, notes


# ---------------------------------------------------------------- table

HEADER = ["fixture", "strays: threads", "timers", "fds", "deadlocks", "valgrind: fds",
          "TSan: thread leaks", "verdict", "reason"]


def text_table(rows):
    widths = [max(len(str(r[i])) for r in [HEADER] + rows) for i in range(len(HEADER) - 1)]
    lines = []
    for r in [HEADER] + rows:
        lines.append("  ".join([str(c).ljust(w) for c, w in zip(r, widths)] + [str(r[-1])])
                     .rstrip())
        if r is HEADER:
            lines.append("  ".join("-" * w for w in widths) + "  ------")
    return "\n".join(lines)


def md_table(rows, used, skipped):
    esc = lambda c: str(c).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    out += ["", "Reasons:", ""]
    out += ["- `%s`: %s" % (k, text) for k, text in KNOWN.items() if k in used]
    if skipped:
        out += ["", "Not run:", ""]
        out += ["- `%s`: %s" % (n, why) for n, why in skipped]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main

BUILD = None
SOURCES = {}


def main():
    global BUILD, SOURCES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("fixtures", nargs="*")
    opts = ap.parse_args()
    BUILD = os.path.abspath(opts.build)

    if not os.access(VALGRIND, os.X_OK):
        print("compare: %s is missing (apt-get install valgrind)" % VALGRIND, file=sys.stderr)
        return 1
    # Crash fixtures leave no core files behind; every run inherits this.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    sources = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "*.c")) +
                     glob.glob(os.path.join(ROOT, "tests", "fixtures", "*.cc")))
    SOURCES = {os.path.splitext(os.path.basename(s))[0]: s for s in sources}
    names = list(SOURCES)
    if opts.fixtures:
        unknown = set(opts.fixtures) - set(names)
        if unknown:
            print("compare: no such fixture: %s" % " ".join(sorted(unknown)), file=sys.stderr)
            return 2
        names = [n for n in names if n in opts.fixtures]
    skipped = [(n, SKIP[n]) for n in names if n in SKIP]
    if not opts.fixtures:  # the files in tests/fixtures that are not C or C++ programs
        for path in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "*"))):
            base = os.path.basename(path)
            if not base.endswith((".c", ".cc")):
                skipped.append((base, SKIP.get(base, "not a C or C++ program")))
    names = [n for n in names if n not in SKIP]
    for n in names:
        for path in (os.path.join(BUILD, "fixtures", n), os.path.join(BUILD, "compare", "tsan", n)):
            if not os.access(path, os.X_OK):
                print("compare: %s is missing (run `make compare`)" % path, file=sys.stderr)
                return 1

    out_dir = os.path.join(BUILD, "compare")
    os.makedirs(out_dir, exist_ok=True)
    for old in glob.glob(os.path.join(out_dir, "runs.*")):
        shutil.rmtree(old, ignore_errors=True)
    work = tempfile.mkdtemp(prefix="runs.", dir=out_dir)

    cases = [(n, args) for n in names for args in RUNS.get(n, [[]])]
    label = lambda n, args: " ".join([n] + args)  # noqa: E731
    tools = {
        "valgrind": lambda n, args, w: run_valgrind(os.path.join(BUILD, "fixtures", n), args, w),
        "tsan": lambda n, args, w: run_tsan(os.path.join(BUILD, "compare", "tsan", n), args, w),
        "strays": lambda n, args, w: run_strays(os.path.join(BUILD, "fixtures", n), args, w),
    }
    results = {label(n, a): {} for n, a in cases}
    started = time.monotonic()
    # Slowest first (valgrind), so that the pool's workers finish together.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        futs = {}
        for tool in tools:
            for i, (n, args) in enumerate(cases):
                w = os.path.join(work, "%02d-%s" % (i, label(n, args).replace(" ", "_")))
                futs[pool.submit(tools[tool], n, args, w)] = (tool, label(n, args))
        for fut in concurrent.futures.as_completed(futs):
            tool, lab = futs[fut]
            results[lab][tool] = fut.result()

    rows, unexplained_all, used = [], [], set()
    for n, args in cases:
        r = results[label(n, args)]
        for role, s, v, t in pair_processes(os.path.join(BUILD, "fixtures", n),
                                            r["strays"], r["valgrind"], r["tsan"]):
            cells, verdict, reasons, unexplained, notes = compare_row(
                n, role, s, v, t, r["strays"], r["valgrind"], r["tsan"])
            lab = label(n, args)
            if role == "fork child":
                lab += " (fork child)"
            elif role == "exec'd child":
                lab += " (exec'd child%s)" % (": " + os.path.basename(s["exe"]) if s and s["exe"]
                                              else "")
            why = ", ".join(reasons) + ("; " if reasons and notes else "") + "; ".join(notes)
            if unexplained:
                why = "; ".join(unexplained) + (" [" + why + "]" if why else "")
                unexplained_all.append((lab, unexplained))
            rows.append([lab] + cells + [verdict, why])
            used.update(reasons)

    print(text_table(rows))
    print()
    for k, text in KNOWN.items():
        print("%-15s %s" % (k, text))
    for n, why in skipped:
        print("not run: %s: %s" % (n, why))
    md = md_table(rows, used, skipped)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    print()
    print(md)
    verdicts = [r[-2] for r in rows]
    print("compare: %d runs of %d fixtures (%d not run) in %.0f s: %d rows agree, %d explained, "
          "%d UNEXPLAINED; table in %s"
          % (len(cases), len(names), len(skipped), time.monotonic() - started,
             verdicts.count("agree"), verdicts.count("explained"), verdicts.count("UNEXPLAINED"),
             os.path.relpath(os.path.join(out_dir, "table.md"), ROOT)))
    if unexplained_all:
        print("compare: %d UNEXPLAINED (the runs are kept in %s):"
              % (len(unexplained_all), os.path.relpath(work, ROOT)))
        for lab, why in unexplained_all:
            print("  %s: %s" % (lab, "; ".join(why)))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
