#!/usr/bin/env python3
"""Keeps the tests free of sleeps used to synchronise (issue 17): a test waits
for the event itself (a report file, a /proc state: tests/fixtures/fixture_sync.h,
e2e_wait_exit), never for a while in the hope that the event came meanwhile.
Fails on a sleep call in tests/ unless its line carries a marker that says why
the sleep is the behaviour under test or the poll interval of a bounded wait:
    usleep(50 * 1000); /* sleep-ok: a thread still on its way out */
    time.sleep(3600)  # sleep-ok: the leaked thread under test sleeps
tests/bench/ is left out: benchmarks pace themselves by the clock on purpose.
Run by `make test`; prints each offending line. Python 3 standard library only."""
import os
import re
import sys

MARKER = re.compile(r'sleep-ok:\s*\S')
# Calls that sleep: libc's (and the raw system call), C11's and C++'s, wrappers named
# for a unit of time, poll and select with no fds (a sleep in disguise), Python's and
# the shell's.
SLEEP = re.compile(
    r'(?<![\w.>])(?:usleep|nanosleep|clock_nanosleep|sleep|thrd_sleep|sleep_for|sleep_until'
    r'|\w*sleep_(?:ms|us|ns|s|sec|seconds))\('
    r'|\bsyscall\(\s*SYS_(?:clock_)?nanosleep\b'
    r'|\bpoll\s*\(\s*(?:NULL|0|nullptr)\s*,\s*0\s*,'
    r'|\bselect\s*\(\s*0\s*,\s*(?:NULL|0|nullptr)\s*,'
    r'|\b(?:time|asyncio)\.[sS]leep\('
    r'|(?:^|[;&|("\'`]|\bthen|\bdo)\s*sleep\s+[0-9.]')
# A function's own definition or declaration ("static void sleep_ms(int ms)").
DEFINITION = re.compile(r'^\s*(?:static\s+|inline\s+|extern\s+)*'
                        r'(?:void|int|long|bool|unsigned|double|float|char)\s+\**\w*sleep\w*\(')
SKIP_DIRS = {'bench'}
SOURCES = ('.c', '.cc', '.cpp', '.h', '.inc', '.rs', '.go', '.py', '.sh')


def code_lines(text, python_like):
    """Each line with its comments blanked out (the marker is looked for in
    the whole line, the sleep only in its code)."""
    if python_like:
        return [re.sub(r'(^|\s)#.*', r'\1', line) for line in text.split('\n')]
    out, in_block = [], False
    for line in text.split('\n'):
        code, i = '', 0
        while i < len(line):
            if in_block:
                end = line.find('*/', i)
                if end < 0:
                    break
                in_block, i = False, end + 2
            elif line.startswith('/*', i):
                in_block, i = True, i + 2
            elif line.startswith('//', i):
                break
            else:
                code += line[i]
                i += 1
        out.append(code)
    return out


def unmarked_sleeps(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    lines = text.split('\n')
    found = []
    for n, code in enumerate(code_lines(text, path.endswith(('.py', '.sh'))), 1):
        if SLEEP.search(code) and not DEFINITION.match(code) and not MARKER.search(lines[n - 1]):
            found.append((n, lines[n - 1].strip()))
    return found


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bad = 0
    for top, dirs, files in os.walk(os.path.join(root, 'tests')):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith(SOURCES):
                continue
            path = os.path.join(top, name)
            rel = os.path.relpath(path, root)
            for n, line in unmarked_sleeps(path):
                print(f'{rel}:{n}: a sleep used to wait? {line}')
                bad += 1
    if bad:
        print(f'check-test-sleeps: {bad} unmarked sleep(s) in tests/. Wait for the event '
              'instead (tests/fixtures/fixture_sync.h, e2e_wait_exit, a report file), or, '
              'where the sleep is the behaviour under test, say so on its line: '
              '/* sleep-ok: why */', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
