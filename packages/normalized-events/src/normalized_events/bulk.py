"""Building many small objects at once without paying for the cyclic garbage collector.

Reading a run makes hundreds of thousands of acyclic objects (events, tuples); each
allocation burst triggers collections that walk everything already loaded, which costs
more than the work itself at hunt scale. Reference counting still frees them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
