"""CSV written line by line, for streaming responses of any length."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any


class _LineBuffer:
    """A file-like object whose write returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_LineBuffer())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
