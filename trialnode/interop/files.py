"""Reading ClinicalTrials.gov files as a stream of records, with flat memory.

A file may hold one study, a JSON array of studies, an API page
(``{"studies": [...]}``), or NDJSON (one study per line); a zip holds such files
(ClinicalTrials.gov's bulk download has one study per member). Input that is not
JSON becomes an ``Unreadable`` record, reported as rejected with where it was.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from trialnode.interop.ctgov import ImportSummary, Unreadable, import_records
from trialnode.interop.linking import suggest_links


def _unreadable(where: str, error: str) -> Unreadable:
    return Unreadable(where=where, error=error)


def _first_char(stream: IO[bytes]) -> bytes:
    while True:
        char = stream.read(1)
        if not char or not char.isspace():
            return char


def iter_stream_records(stream: IO[bytes], name: str) -> Iterator[dict[str, Any]]:
    """Records from one binary stream (seekable), whatever its layout."""
    first = _first_char(stream)
    stream.seek(0)
    if first == b"[":
        try:
            yield from ijson.items(stream, "item", use_float=True)
        except ijson.JSONError as exc:
            yield _unreadable(name, f"malformed or truncated JSON array: {exc}")
        return
    if first != b"{":
        yield _unreadable(name, "not JSON")
        return
    first_line = stream.readline()
    rest = stream.read(1)
    stream.seek(0)
    try:
        single_line = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        single_line = None
    if isinstance(single_line, dict) and rest and "studies" not in single_line:
        yield from _ndjson(stream, name)
        return
    try:
        head = next(ijson.kvitems(stream, ""), None)
    except ijson.JSONError as exc:
        yield _unreadable(name, f"malformed or truncated JSON: {exc}")
        return
    stream.seek(0)
    try:
        if head is not None and head[0] == "studies":
            yield from ijson.items(stream, "studies.item", use_float=True)
        else:
            yield orjson.loads(stream.read())
    except (ijson.JSONError, orjson.JSONDecodeError) as exc:
        yield _unreadable(name, f"malformed or truncated JSON: {exc}")


def _ndjson(stream: IO[bytes], name: str) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield _unreadable(f"{name} line {number}", f"not JSON ({exc})")
            continue
        if isinstance(record, dict):
            yield record
        else:
            yield _unreadable(f"{name} line {number}", "not a JSON object")


def iter_path_records(path: Path) -> Iterator[dict[str, Any]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if member.is_dir():
                    continue
                with archive.open(member) as raw:
                    # Members are read one at a time; ijson needs a seekable stream.
                    yield from iter_stream_records(
                        io.BytesIO(raw.read()), f"{path.name}:{member.filename}"
                    )
        return
    with path.open("rb") as stream:
        yield from iter_stream_records(stream, path.name)


def _all_records(paths: list[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        if not path.is_file():
            yield _unreadable(str(path), "no such file")
            continue
        yield from iter_path_records(path)


def import_ctgov_paths(
    paths: list[Path], *, progress: Callable[[ImportSummary], None] | None = None
) -> ImportSummary:
    summary = import_records(_all_records(paths), progress=progress)
    if summary.created or summary.updated:
        suggest_links()
    return summary
