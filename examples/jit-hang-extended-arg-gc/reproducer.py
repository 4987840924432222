"""Minimal reproducer: CPython 3.13 experimental JIT livelock (endless re-JIT of
one loop back-edge).  Found through autopep8 2.3.2's test suite
(SystemTestsE2::test_e231_with_many_commas hangs in pycodestyle 2.15.0's
missing_whitespace).  This script imports nothing but the standard library.

How to run
----------
    PY=/root/.cache/apiary/pythons/cpython-3.13.5-jit-01023382b61e/bin/python3.13
    $PY reproducer.py                 # JIT on (this build's default)
    PYTHON_JIT=0 $PY reproducer.py    # JIT off

    Exit status 0: the loop finished, so the bug is absent.
    Exit status 1: the watchdog fired after WATCHDOG_SECONDS (default 10, or
                   argv[1]). It prints the stuck loop index and the Python stack
                   and calls os._exit(1), meaning "hang reproduced".  As a
                   fallback, faulthandler ends the process a few seconds later.

Measured on CPython 3.13.5 (main, Dec 2 2026, GCC 12.2.0), built with
--enable-experimental-jit, x86-64 Linux, 2 cores:
    JIT on (default):  hangs. The watchdog fires at 10.0 s, rc=1, and the
                       loop index is still stuck at i == TRIGGER (500).
                       Same result in 3 of 3 runs and with PYTHONHASHSEED=0/1.
                       Without the watchdog it runs forever at 100% CPU, mostly
                       system time (strace: about 51,000 mmap + mprotect +
                       munmap triples in 6 s; JIT code buffers are allocated
                       and freed over and over).
    PYTHON_JIT=0:      f() returns in about 0.001 s, rc=0.

Mechanism (see NOTES.md; it matches CPython issue gh-126127, "experimental jit
causes infinite loops on 3.13 branch")
-------------------------------------------------------------------------
1. The loop body is longer than 255 code units, so the back-edge is
   `EXTENDED_ARG; JUMP_BACKWARD`.  When the loop gets hot, tier 1 calls
   _PyOptimizer_Optimize(start = the EXTENDED_ARG slot).  ENTER_EXECUTOR is
   written over the *EXTENDED_ARG* slot.  The JUMP_BACKWARD code unit stays
   in place, and its backoff counter stays in the "triggers" state, because
   it is never restarted after a successful optimization.
2. If ENTER_EXECUTOR finds the eval breaker set, it falls back to tier 1 and
   runs the original EXTENDED_ARG and then JUMP_BACKWARD.  Because the
   JUMP_BACKWARD code unit is still JUMP_BACKWARD and its counter still
   triggers, it re-optimizes: it builds a new executor and replaces (frees) the
   old one, then enters the new one.
3. If the young-GC count is exactly equal to the threshold (2000) at that
   moment:
   allocating the new executor pushes it to 2001 and schedules a GC, which
   sets the eval breaker.  Freeing the replaced executor brings it back to
   2000.  The new trace's first uop, _TIER2_RESUME_CHECK, sees the eval
   breaker and deopts back to the EXTENDED_ARG slot (ENTER_EXECUTOR with the
   eval breaker set), so tier 1 runs JUMP_BACKWARD again.  Its
   CHECK_EVAL_BREAKER runs the GC, which does nothing because 2000 is not
   greater than 2000.  Then the counter still triggers, so it re-optimizes
   again ...
   The cycle repeats forever.  The loop body never runs again (i does not
   change).  Nothing in the cycle changes the GC count, so it never ends by
   itself.
prime() below creates step 3's state on purpose: it brings the count to
exactly the threshold and sets the eval breaker with a non-call allocation
(BUILD_SET).  The back-edge is reached without another eval-breaker check in
between.  In pycodestyle the same state comes about by chance.
"""

import faulthandler
import gc
import itertools
import os
import sys
import threading
import time

WATCHDOG_SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
N, TRIGGER = 1000, 500

T = gc.get_threshold()[0]  # young-generation threshold (2000 by default)
_keep = []


def prime():
    """Leave gen0 count == threshold with a GC scheduled (eval breaker set)."""
    # fill up to exactly T; never beyond, so no GC is scheduled yet
    while gc.get_count()[0] < T:
        _keep.append({0})
    s = {0}  # BUILD_SET (not a call, so no eval-breaker check): count T+1, GC scheduled
    del s  # count back to exactly T.  Returning to f() checks nothing.


# The loop body has to be longer than 255 code units so the back-edge needs
# EXTENDED_ARG.  `x = G` is LOAD_GLOBAL (1 + 4 cache units) + STORE_FAST, which
# is 6 code units per line but only a few uops, so the tier-2 trace stays short
# (one trace for the whole loop).
PAD = "\n".join(["        x = G"] * 50)
SRC = f"""
def f(n, trigger):
    x = 0
    for i in range(n):
        if i == trigger:
            prime()
{PAD}
    return x
"""
ns = {"prime": prime, "G": 0}
exec(compile(SRC, "<reproducer-f>", "exec"), ns)  # noqa: S102 (the padded loop is generated)
f = ns["f"]


def _backedge_has_extended_arg(func):
    import dis

    ins = list(dis.get_instructions(func))
    return any(
        p.opname == "EXTENDED_ARG" and i.opname == "JUMP_BACKWARD"
        for p, i in itertools.pairwise(ins)
    )


assert _backedge_has_extended_arg(f), "loop back-edge must carry EXTENDED_ARG"

main_ident = threading.main_thread().ident
fired = [False]
_forever = threading.Event()


def watchdog():
    time.sleep(WATCHDOG_SECONDS)
    # Reaching this point means f() has not returned.  (This thread gets the GIL
    # because the spinning JUMP_BACKWARD still checks the eval breaker.)
    # Any object this thread allocates changes the GC count, which can end the
    # livelock.  So set the flag first (no allocation) and dump the stacks
    # (C level).  The main thread blocks when it sees the flag.
    fired[0] = True
    sys.stderr.write("\nHANG REPRODUCED: f() did not return within the watchdog time; stacks:\n")
    faulthandler.dump_traceback(all_threads=True)
    fr = sys._current_frames().get(main_ident)
    i = fr.f_locals.get("i") if fr is not None and fr.f_code is f.__code__ else "?"
    sys.stderr.write(
        f"watchdog={WATCHDOG_SECONDS:g}s; loop index i={i} (trigger={TRIGGER}, n={N}); "
        f"gen0 threshold={T}; exiting with status 1\n"
    )
    sys.stderr.flush()
    os._exit(1)


jit = os.environ.get("PYTHON_JIT", "<unset>")
print(sys.version.replace("\n", " "), "| PYTHON_JIT =", jit, flush=True)
threading.Thread(target=watchdog, daemon=True).start()
faulthandler.dump_traceback_later(WATCHDOG_SECONDS + 5, exit=True)  # backstop

t0 = time.perf_counter()
result = f(N, TRIGGER)
dt = time.perf_counter() - t0
# the watchdog has already fired (its allocations may have ended the livelock)
if fired[0]:
    _forever.wait()  # and will os._exit(1) soon
faulthandler.cancel_dump_traceback_later()
print(f"OK: f() returned {result} in {dt:.4f}s -- no hang", flush=True)
sys.exit(0)
