"""Reading ClinicalTrials.gov files: one study, an array, an API page, NDJSON, or a zip."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from trialnode.interop.ctgov import ImportSummary, import_records, iter_json_records


class _Unreadable(dict):
    """Stands in for a file or member that is not JSON, so it is reported as rejected."""


def _parse(name: str, payload: bytes) -> Iterator[dict[str, Any]]:
    try:
        yield from iter_json_records(orjson.loads(payload))
        return
    except orjson.JSONDecodeError:
        pass
    for number, line in enumerate(payload.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield _Unreadable(error=f"{name} line {number}: not JSON ({exc})")


def iter_path_records(path: Path) -> Iterator[dict[str, Any]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith("/"):
                    continue
                yield from _parse(f"{path.name}:{member}", archive.read(member))
    else:
        yield from _parse(path.name, path.read_bytes())


def import_ctgov_paths(paths: list[Path]) -> ImportSummary:
    total = ImportSummary()
    for path in paths:
        if not path.is_file():
            total.rejected.append((str(path), "no such file"))
            continue
        records = []
        for record in iter_path_records(path):
            if isinstance(record, _Unreadable):
                total.rejected.append((str(path), record["error"]))
            else:
                records.append(record)
        summary = import_records(records)
        total.created += summary.created
        total.updated += summary.updated
        total.rejected.extend(summary.rejected)
    return total
