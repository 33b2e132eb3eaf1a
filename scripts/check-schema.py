#!/usr/bin/env python3
"""Runs fixtures under the preload and checks every JSON report they write
against docs/report.schema.json, so the published schema stays current;
and the report of `strays inspect` on inspect_target, run without it, and
an "exhausted" dump of limit_exhaust.

usage: check-schema.py BUILD_DIR FIXTURE...   (exit 1 on the first mismatch)
"""
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import jsonschema


def inspect(build, out):
    """`strays inspect` of inspect_target (no preload) into out/inspect.json."""
    target = subprocess.Popen([os.path.join(build, "fixtures", "inspect_target")],
                              stdout=subprocess.PIPE, text=True)
    try:
        target.stdout.readline()  # "ready ...": every thread waits
        subprocess.run([os.path.join(build, "strays"), "inspect", str(target.pid), "--format",
                        "json", "--output", os.path.join(out, "inspect.json")], timeout=60)
    finally:
        target.kill()
        target.wait()


def exhausted(build, out):
    """A dump at a limit: limit_exhaust hits RLIMIT_SIGPENDING (out/exhausted.*)."""
    env = dict(os.environ, LD_PRELOAD=os.path.join(build, "libstrays.so"),
               STRAYS_OPTIONS="format=json:log_path=%s/exhausted" % out)
    target = subprocess.Popen([os.path.join(build, "fixtures", "limit_exhaust"), "timers"],
                              env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(3000):
            if glob.glob(os.path.join(out, "exhausted.*.json")):
                break
            time.sleep(0.01)
    finally:
        target.kill()
        target.wait()


def main():
    build, fixtures = sys.argv[1], sys.argv[2:]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "docs", "report.schema.json")) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    with tempfile.TemporaryDirectory() as out:
        for name in fixtures:
            env = dict(os.environ,
                       LD_PRELOAD=os.path.join(build, "libstrays.so"),
                       STRAYS_OPTIONS="format=json:log_path=%s/%s" % (out, name))
            # Crash fixtures leave no core files behind.
            subprocess.run([os.path.join(build, "fixtures", name)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
        inspect(build, out)
        exhausted(build, out)
        reports = sorted(glob.glob(os.path.join(out, "*.json")))
        if len(reports) < len(fixtures) + 2:
            print("check-schema: %d fixtures wrote only %d reports" % (len(fixtures), len(reports)))
            return 1
        for path in reports:
            with open(path) as f:
                report = json.load(f)
            errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
            if errors:
                e = errors[0]
                print("check-schema: %s: %s at %s" % (os.path.basename(path), e.message,
                                                       "/".join(map(str, e.path))))
                return 1
        print("check-schema: %d reports match docs/report.schema.json" % len(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
