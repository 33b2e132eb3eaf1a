#!/usr/bin/env python3
"""Checks that the examples in README.md and docs/*.md are what the code prints.

A fenced block right after the line `<!-- example: NAME -->` is the transcript of
example NAME: the commands (lines starting with `$ `) and what they print on a
terminal. This script runs them (EXAMPLES below: each example's commands, and the
events it waits for between them) and compares. `<!-- excerpt: PATH -->` marks a
block copied from PATH: each of its parts (separated by a line `...` or
`/* ... */`) must appear in PATH as it is, in that order.

What the examples print is shown as a person would see it, with two changes: the
repository's path is written ~/strays, and the frames of a stack from the first
one in a system library (/lib, /usr/lib: libc, Criterion) on are shown as one
line `...`, since they differ between architectures and releases. Before
comparing, both sides are normalised: pids, tids, addresses, offsets and times
vary from run to run, and groups of equal size may come in either order (the
text report orders groups by size only).

A run whose output differs is tried again (ATTEMPTS in all): an example program
that has not reached its wait when the report is taken prints a running thread.
A document that no longer matches the code fails every attempt.

usage: doc-examples.py [--update] [--show NAME] [FILE.md...]
  --update     rewrite each example's block with what the code prints now
  --show NAME  print example NAME's transcript as the documents show it
"""
import argparse
import difflib
import json
import os
import re
import resource
import select
import shlex
import signal
import subprocess
import tempfile
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOWN_ROOT = "~/strays"
ATTEMPTS = 3
TIMEOUT = 30.0
MARKER = re.compile(r"^<!-- (example|excerpt): (\S+) -->$")

# ------------------------------------------------------------- a terminal


def signal_number(name):
    """USR1, HUP, RTMAX-4 or RTMIN+2, as the shell's kill takes them."""
    for base, sign in (("RTMAX", -1), ("RTMIN", 1)):
        if name.startswith(base):
            return getattr(signal, "SIG" + base) + sign * int(name[len(base) + 1:] or 0)
    return getattr(signal, "SIG" + name)


class Terminal:
    """One pseudo-terminal shared by an example's commands, as in a shell
    session: a program started in the background writes to it too. What is
    read from it, with the commands, makes the transcript."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.text = ""
        self.background = []

    def close(self):
        for p in self.background:
            if p.poll() is None:
                p.kill()
            p.wait()
        os.close(self.master)
        os.close(self.slave)

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        data = os.read(self.master, 65536).decode("utf-8", "replace")
        self.text += data.replace("\r\n", "\n")
        return True

    def pump(self, until, what):
        """Reads until until() holds, TIMEOUT at most."""
        deadline = time.monotonic() + TIMEOUT
        while not until():
            if time.monotonic() > deadline:
                raise RuntimeError("timed out waiting for %s; the terminal shows:\n%s"
                                   % (what, self.text))
            self._read(0.05)

    def expect(self, pattern, since):
        """Waits for pattern in what arrived after offset since."""
        rx = re.compile(pattern, re.M)
        self.pump(lambda: rx.search(self.text, since), repr(pattern))

    def start(self, command):
        """Starts a shell-like command line: VAR=value... argv... [>/dev/null] [&].
        `kill -SIG PID` is the shell's builtin, done here."""
        self.text += "$ " + command + "\n"
        words = shlex.split(command)
        if words[0] == "kill":
            os.kill(int(words[2]), signal_number(words[1][1:]))
            return Done()
        background = words[-1] == "&"
        words = words[:-1] if background else words
        stdout = self.slave
        if words[-1] == ">/dev/null":
            stdout, words = subprocess.DEVNULL, words[:-1]
        env = {k: v for k, v in os.environ.items()
               if k not in ("LD_PRELOAD", "STRAYS_OPTIONS", "STRAYS_LIB")}
        while "=" in words[0] and not words[0].startswith("/"):
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        p = subprocess.Popen(words, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                             stdout=stdout, stderr=self.slave, preexec_fn=no_core_dumps)
        if background:
            self.background.append(p)
        return p

    def run(self, command):
        """Runs a command in the foreground; returns its exit status (128 +
        the signal that ended it, as a shell says)."""
        p = self.start(command)
        self.pump(lambda: p.poll() is not None, command)
        while self._read(0):  # what it wrote before it ended
            pass
        return p.returncode if p.returncode >= 0 else 128 - p.returncode

    def say(self, line):
        self.text += line + "\n"


class Done:
    """A builtin command, done as soon as started."""
    returncode = 0

    def poll(self):
        return 0

    def wait(self):
        return 0


def no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def threads_named(pid, name):
    """The states (R, S, ...) of the process's threads called name."""
    states = []
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open("%s/%s/stat" % (task, tid)) as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm == name:
            states.append(stat[stat.rindex(")") + 2])
    return states


def wait_sleeping(term, pid, name, count):
    """Waits until count threads called name are asleep in the kernel (in the
    call the example shows them blocked in)."""
    term.pump(lambda: threads_named(pid, name) == ["S"] * count,
              "%d %s threads asleep" % (count, name))


# ------------------------------------------------------------- the examples


def run_and_status(command):
    def example(term):
        status = term.run(command)
        term.say("$ echo $?")
        term.say(str(status))
    return example


class Server:
    """examples/server.c under strays, with STRAYS_OPTIONS options, which put
    its dumps under /tmp/server (removed afterwards). Each reload leaks a
    watcher thread and its fd."""

    def __init__(self, term, options):
        self.term = term
        self.process = term.start("STRAYS_OPTIONS=%s LD_PRELOAD=build/libstrays.so "
                                  "build/examples/server &" % options)
        self.pid = self.process.pid
        self.watchers = 1
        term.expect(r"^server: pid \d+", 0)
        wait_sleeping(term, self.pid, "config-watcher", 1)

    def reload(self):
        since = len(self.term.text)
        self.term.start("kill -HUP %d" % self.pid).wait()
        self.term.expect(r"^server: reloading", since)
        self.watchers += 1
        wait_sleeping(self.term, self.pid, "config-watcher", self.watchers)

    def dump_file(self, seq, ext):
        return "/tmp/server.%d.%d.%s" % (self.pid, seq, ext)

    def signal_dump(self, seq):
        """kill -RTMAX-4 (strays' dump signal), then waits for the report file."""
        self.term.start("kill -RTMAX-4 %d" % self.pid).wait()
        path = self.dump_file(seq, "json")
        self.term.pump(lambda: os.path.exists(path), path)

    def stop(self):
        self.process.kill()
        self.process.wait()
        for name in os.listdir("/tmp"):
            if name.startswith("server.%d." % self.pid):
                os.unlink(os.path.join("/tmp", name))


def example_staging(term):
    """A first dump, two reloads, and a dump that shows the growth."""
    server = Server(term, "log_path=/tmp/server")
    try:
        term.run("build/strays dump %d >/dev/null" % server.pid)
        server.reload()
        server.reload()
        if term.run("build/strays dump %d" % server.pid) != 0:
            raise RuntimeError("strays dump failed:\n" + term.text)
    finally:
        server.stop()


def example_staging_diff(term):
    """Two JSON dumps around a reload, compared by strays diff."""
    server = Server(term, "format=json:log_path=/tmp/server")
    try:
        server.signal_dump(0)
        server.reload()
        server.signal_dump(1)
        status = term.run("build/strays diff %s %s"
                          % (server.dump_file(0, "json"), server.dump_file(1, "json")))
        term.say("$ echo $?")
        term.say(str(status))
    finally:
        server.stop()


def json_report(fixture, options):
    """The JSON report of a fixture run under the preload, as written."""
    def example():
        with tempfile.TemporaryDirectory() as out:
            env = dict((k, v) for k, v in os.environ.items() if k != "STRAYS_OPTIONS")
            env.update(LD_PRELOAD=os.path.join(ROOT, "build", "libstrays.so"),
                       STRAYS_OPTIONS="format=json:log_path=%s/r:%s" % (out, options))
            subprocess.run([os.path.join("build", "fixtures", fixture)], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=TIMEOUT, check=False)
            reports = os.listdir(out)
            if len(reports) != 1:
                raise RuntimeError("%s wrote %d reports, not one" % (fixture, len(reports)))
            with open(os.path.join(out, reports[0])) as f:
                return f.read().replace(ROOT + "/", SHOWN_ROOT + "/")
    return example


def on_terminal(commands):
    def example():
        term = Terminal()
        try:
            commands(term)
        finally:
            term.close()
        return shown(term.text)
    return example


# Each example: a function that returns what the documents show.
EXAMPLES = {
    "ci-demo": on_terminal(run_and_status("build/strays run -- build/examples/demo")),
    "ci-script": on_terminal(run_and_status(
        "build/strays run -- build/fixtures/run_forks_leaky_child.sh")),
    "ci-static": on_terminal(run_and_status(
        "build/strays run -- build/fixtures/security_static 3")),
    "crash": on_terminal(run_and_status("build/strays run -- build/examples/crash")),
    "staging": on_terminal(example_staging),
    "staging-diff": on_terminal(example_staging_diff),
    "api-criterion": on_terminal(run_and_status(
        "STRAYS_OPTIONS=report=failure LD_PRELOAD=build/libstrays.so "
        "build/api_example/criterion_with_strays")),
    "json-report": json_report("wait_lock_held", "stack_depth=2"),
}


# ------------------------------------------------- shown and normalised forms

SYSTEM_MODULE = re.compile(r"\[/(usr/)?lib(64)?/")
FRAME = re.compile(r"^(\s+)#\d+ ")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def shown(text):
    """The output as the documents show it: no colours, no trailing blanks,
    the repository as ~/strays, system frames folded into `...`."""
    text = ANSI.sub("", text).replace(ROOT + "/", SHOWN_ROOT + "/")
    out, folded = [], False
    for line in text.split("\n"):
        line = line.rstrip()
        frame = FRAME.match(line)
        if not frame:
            folded = False
        elif folded:
            continue
        elif SYSTEM_MODULE.search(line):
            out.append(frame.group(1) + "...")
            folded = True
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


NUMBERS = [
    (re.compile(r"\b(pid|tid|process|kill -[A-Z0-9+-]+|dump) \d+"), r"\1 N"),
    (re.compile(r"\.\d+\.(\d+\.(txt|json))\b"), r".N.\1"),
    (re.compile(r"0x[0-9a-f]{5,}"), "0xADDR"),
    (re.compile(r"\+0x[0-9a-f]+"), "+0xOFF"),
    (re.compile(r"\b\d+(\.\d+)?(ms|s)\b|\b\d+m\d+s\b|\b\d+h\d+m\b"), "T"),
]


def normalised_text(text):
    lines = []
    for line in text.rstrip().split("\n"):
        line = line.rstrip()
        for rx, to in NUMBERS:
            line = rx.sub(to, line)
        if line.lstrip().startswith("threads:"):
            # ids outside the quoted thread names
            parts = line.split('"')
            parts[::2] = [re.sub(r"\b\d+\b", "N", p) for p in parts[::2]]
            line = '"'.join(parts)
        lines.append(line)
    return "\n".join(equal_groups_sorted(lines))


# JSON fields whose values vary from run to run (ids, times, addresses, sizes
# that depend on how many stacks a run interned).
JSON_VOLATILE = {"pid", "tid", "parent_tid", "owner_tid", "time", "uptime_ms", "created_ms",
                 "seconds", "address", "object", "build_id", "since_ms", "table_bytes",
                 "stack_bytes"}


def normalised_json(text):
    """A JSON report in one canonical form: volatile values masked, system
    frames as "system", stack indexes replaced by the stacks they name, and
    lists of objects sorted, so two runs of one program compare equal."""
    report = json.loads(text)
    stacks = [[frame_key(f) for f in stack] for stack in report.get("stacks", [])]

    def canon(value, key=None):
        if isinstance(value, dict):
            return {k: canon(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [canon(v) for v in value]
            return sorted(items, key=json.dumps) if key != "stacks" else sorted(stacks)
        if key in ("created_by", "stack") and isinstance(value, int):
            return stacks[value]
        if key in JSON_VOLATILE and value is not None:
            return "*"
        return value
    return json.dumps(canon(report), sort_keys=True, indent=1)


def frame_key(frame):
    if SYSTEM_MODULE.search("[" + frame.get("module", "")):
        return "system"
    frame = dict(frame, address="*", offset="*", build_id="*")
    return json.dumps(frame, sort_keys=True)


def equal_groups_sorted(lines):
    """Report groups (paragraphs headed `N thing...`) of the same size and kind
    that follow each other, in one order."""
    paragraphs, cur = [], []
    for line in lines + [""]:
        if line == "":
            if cur:
                paragraphs.append(cur)
            cur = []
        else:
            cur.append(line)
    head = re.compile(r"^(\d+) (threads?|timers?|fds?) ")

    def key(p):
        m = head.match(p[0])
        return (m.group(1), m.group(2).rstrip("s")) if m else None

    out, i = [], 0
    while i < len(paragraphs):
        j = i + 1
        while key(paragraphs[i]) and j < len(paragraphs) and key(paragraphs[j]) == key(paragraphs[i]):
            j += 1
        for p in sorted(paragraphs[i:j]) if j - i > 1 else paragraphs[i:j]:
            out.extend(p + [""])
        i = j
    return out


# ------------------------------------------------------------- the documents


def blocks(path):
    """(kind, arg, first line, last line, language) of each marked block;
    lines are 0-based indexes of the block's content."""
    with open(path) as f:
        lines = f.read().split("\n")
    found = []
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            sys.exit("%s:%d: %s is not followed by a fenced block" % (path, i + 1, line))
        end = i + 2
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end == len(lines):
            sys.exit("%s:%d: the block is not closed" % (path, i + 2))
        found.append((m.group(1), m.group(2), i + 2, end, lines[i + 1][3:]))
    return lines, found


def check_excerpt(doc, line, source, text):
    with open(os.path.join(ROOT, source)) as f:
        have = f.read()
    at = 0
    for part in re.split(r"^[ \t]*(?:\.\.\.|/\* \.\.\. \*/)[ \t]*\n", text + "\n", flags=re.M):
        if not part.strip():
            continue
        found = have.find(part, at)
        if found < 0:
            print("%s:%d: this part of the excerpt is not in %s (or not in this order):\n%s"
                  % (doc, line, source, part), file=sys.stderr)
            return False
        at = found + len(part)
    return True


def check_example(doc, line, name, text, language, cache):
    normalised = normalised_json if language == "json" else normalised_text
    for attempt in range(1, ATTEMPTS + 1):
        if attempt > len(cache.setdefault(name, [])):
            cache[name].append(EXAMPLES[name]())
        got = cache[name][attempt - 1]
        if normalised(got) == normalised(text):
            if attempt > 1:
                print("%s:%d: example %s matched on attempt %d" % (doc, line, name, attempt))
            return True
    diff = difflib.unified_diff(normalised(text).split("\n"), normalised(got).split("\n"),
                                "%s (normalised)" % doc, "example %s (normalised)" % name,
                                lineterm="")
    print("%s:%d: example %s prints something else (%d attempts):\n%s\n"
          "If the code changed on purpose: scripts/doc-examples.py --update"
          % (doc, line, name, ATTEMPTS, "\n".join(diff)), file=sys.stderr)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--show", choices=sorted(EXAMPLES))
    ap.add_argument("docs", nargs="*")
    args = ap.parse_args()
    if args.show:
        sys.stdout.write(EXAMPLES[args.show]())
        return
    docs = args.docs or ["README.md"] + sorted(
        os.path.join("docs", n) for n in os.listdir(os.path.join(ROOT, "docs")) if n.endswith(".md"))
    ok, used, cache = True, set(), {}
    for doc in docs:
        lines, found = blocks(os.path.join(ROOT, doc))
        for kind, arg, first, last, language in reversed(found):
            text = "\n".join(lines[first:last])
            if kind == "excerpt":
                ok &= check_excerpt(doc, first, arg, text)
                continue
            if arg not in EXAMPLES:
                print("%s:%d: no example called %s (known: %s)"
                      % (doc, first, arg, ", ".join(sorted(EXAMPLES))), file=sys.stderr)
                ok = False
                continue
            used.add(arg)
            if args.update:
                cache.setdefault(arg, [EXAMPLES[arg]()])
                lines[first:last] = cache[arg][0].rstrip("\n").split("\n")
            else:
                ok &= check_example(doc, first, arg, text, language, cache)
        if args.update:
            with open(os.path.join(ROOT, doc), "w") as f:
                f.write("\n".join(lines))
    if not args.docs and used != set(EXAMPLES):
        print("examples no document shows: %s" % ", ".join(sorted(set(EXAMPLES) - used)),
              file=sys.stderr)
        ok = False
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
