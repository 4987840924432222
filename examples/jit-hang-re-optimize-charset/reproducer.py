"""CPython 3.13.5's JIT spins forever in re._compiler._optimize_charset.

Needs pygments 2.21.0 (`pip install pygments==2.21.0`). Each lexer compiles its regular
expressions when it is first made; making them in order of their first alias, the
Scala lexer's never finishes with the JIT on (PYTHON_JIT=1) and all of them take a few
seconds with it off (PYTHON_JIT=0). Found by `apiary enrich verify` on pygments' own
suite (tests/examplefiles/scala), which passes on 3.12 and with the JIT off.

    PYTHON_JIT=1 timeout 60 python3.13 reproducer.py   # hangs (exit 124)
    PYTHON_JIT=0 timeout 60 python3.13 reproducer.py   # "finished"
"""

import sys
import time

from pygments.lexers import LEXERS, get_lexer_by_name

started = time.monotonic()
aliases = sorted(info[2][0] for info in LEXERS.values() if info[2])
for alias in aliases:
    print(alias, end=" ", flush=True)
    get_lexer_by_name(alias)
print(f"\nfinished {len(aliases)} lexers in {time.monotonic() - started:.1f} s")
sys.exit(0)
