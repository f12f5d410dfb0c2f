"""Fewer runs of Python's cycle collector during bulk work.

Parsing and mapping registry records allocate millions of short-lived containers. With the default thresholds the collector runs
every 700 allocations and, every so often, walks every object of the process (Django's
and the batch's), which took about a third of an import's time. Almost all of that
garbage has no cycles and is freed at once by reference counting; the rest waits a
little longer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def rare_collections() -> Iterator[None]:
    """Run the cycle collector less often inside the block (the previous thresholds are
    restored after it)."""
    previous = gc.get_threshold()
    gc.set_threshold(*BULK_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
