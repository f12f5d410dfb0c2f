"""Files whose record never came to be: a transaction that rolled back after the upload
was written leaves its file behind (databases do not tell us of rollbacks). The worker
removes such files once a day, when they are old enough that no upload can still be on
its way to its commit."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable
from pathlib import Path

KEEP_FOR = dt.timedelta(days=1)


def orphans_remove(
    folder: Path, *, pattern: re.Pattern[str], referenced: Iterable[str], older_than=KEEP_FOR
) -> int:
    """Remove the files in ``folder`` named like ``pattern`` that no record names and that
    were last changed before ``older_than``; returns how many were removed."""
    if not folder.is_dir():
        return 0
    keep = {Path(name).name for name in referenced if name}
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in folder.iterdir():
        if not pattern.match(path.name) or path.name in keep or not path.is_file():
            continue
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
