# A Python 3 program that uses a ThreadPoolExecutor and shuts it down (the
# `with` block joins its workers): run by scripts/real-programs.py, which
# expects a clean strays report. The first two tasks meet at a barrier, so the
# pool really runs two worker threads whatever the machine's load.
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

WORKERS = 2
both_started = threading.Barrier(WORKERS)


def digest(n):
    if n < WORKERS:
        both_started.wait()
    return hashlib.sha256(str(n).encode() * 1000).hexdigest()[:12]


with ThreadPoolExecutor(max_workers=WORKERS) as pool:
    digests = list(pool.map(digest, range(400)))
print(len(digests), digests[0], digests[-1])
