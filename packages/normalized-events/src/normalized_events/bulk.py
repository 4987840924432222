"""Building many small objects at once without paying for the cyclic garbage collector.

Reading a run makes hundreds of thousands of acyclic objects (events, tuples); each
allocation burst triggers collections that walk everything already loaded, which costs
more than the work itself at hunt scale. Reference counting still frees them. The one
pause of every package that reads events (``read_events`` itself, the reporter's readers);
registry-core, which depends on no other package of ours, pauses its own loader.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested pauses are fine)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


__all__ = ["collector_paused"]
