# A Python 3 program that exits while a daemon thread still sleeps: run by
# scripts/real-programs.py, which expects strays to report exactly that thread,
# blocked in clock_nanosleep (time.sleep) and created by the interpreter's
# thread start. The main thread waits until the sleeper is in the kernel's
# sleep, so the report does not depend on how fast the thread got there.
import os
import sys
import threading
import time

started = threading.Event()
sleeper_tid = None


def sleeper():
    global sleeper_tid
    sleeper_tid = threading.get_native_id()
    started.set()
    time.sleep(3600)  # sleep-ok: the leaked thread under test sleeps


def in_kernel_sleep(tid):
    """True once the thread sleeps in clock_nanosleep (/proc's wchan, or its
    system call number where wchan is hidden: 230 on x86_64)."""
    task = f"/proc/self/task/{tid}"
    try:
        with open(f"{task}/wchan") as f:
            if "nanosleep" in f.read():
                return True
        with open(f"{task}/syscall") as f:
            return f.read().split(" ", 1)[0] == "230" and os.uname().machine == "x86_64"
    except OSError:
        return False


threading.Thread(target=sleeper, name="sleeper", daemon=True).start()
started.wait()
deadline = time.monotonic() + 30  # a loaded machine may keep the thread waiting
while not in_kernel_sleep(sleeper_tid):
    if time.monotonic() > deadline:
        sys.exit(f"python_daemon.py: gave up after 30 s waiting for thread {sleeper_tid} "
                 "to sleep in clock_nanosleep")
    time.sleep(0.001)  # sleep-ok: the poll interval of a bounded wait
print("main thread done, the sleeper is left behind")
