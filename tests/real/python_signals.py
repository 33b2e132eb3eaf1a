"""Python with its own SIGABRT handler (signal.signal installs a C handler
that only notes the signal; the Python function runs later, between
bytecodes). argv[1]:
  handled  sends itself SIGABRT: the handler runs, the program goes on and
           exits 0 (no crash)
  abort    calls os.abort(): the C handler returns, and glibc's abort()
           puts SIGABRT back to its default action and raises it again, so
           the process dies of SIGABRT all the same (a crash)
"""
import os
import signal
import sys

seen = []
signal.signal(signal.SIGABRT, lambda sig, frame: seen.append(sig))
if sys.argv[1] == "handled":
    os.kill(os.getpid(), signal.SIGABRT)
    print(f"handled {len(seen)} SIGABRT")
else:
    print("aborting", flush=True)
    os.abort()
