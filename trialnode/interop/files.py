"""Reading registry files as a stream of records, with flat memory.

A file may hold one study, a JSON array of studies, an API page
(``{"studies": [...]}``), or NDJSON (one study per line); a zip holds such files
(ClinicalTrials.gov's bulk download has one study per member). Input that is not
JSON becomes an ``Unreadable`` record, reported as rejected with where it was.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson
from django.utils.translation import gettext as _

from trialnode.interop import ctgov, ctis
from trialnode.interop.jsonstream import BadElement, JsonElements, element_name
from trialnode.interop.linking import merge_registry_duplicates, suggest_links_for_registry
from trialnode.interop.upsert import ImportSummary, Progress, Unparsed, Unreadable, not_json


def _unreadable(where: str, error: str) -> Unreadable:
    return Unreadable(where=where, error=error)


MAX_RECORD_BYTES = 16 * 1024 * 1024
"""No single registry record comes near this; a larger one is refused, not read."""


def _first_char(stream: IO[bytes]) -> bytes:
    """The first character that is not whitespace, read a block at a time."""
    while block := stream.read(1 << 16):
        stripped = block.lstrip()
        if stripped:
            return stripped[:1]
    return b""


Skim = Callable[[bytes], str | None]
"""A registry's look at a record's raw JSON (``RegistryFormat.outside_sweden_key``)."""


def iter_stream_records(
    stream: IO[bytes], name: str, size: int | None = None, skim: Skim | None = None
) -> Iterator[dict[str, Any]]:
    """Records from one binary stream (seekable), whatever its layout, in bounded memory.

    A JSON array or an API page larger than one record is read element by element
    (``jsonstream``); NDJSON line by line; a single record whole. With ``skim``, an
    NDJSON line or a single record that it shows to be outside Sweden is not parsed
    (an ``Unparsed`` record stands in for it).
    """
    first = _first_char(stream)
    stream.seek(0)
    if first == b"[":
        yield from _elements(stream, name)
        return
    if not first:
        yield _unreadable(name, _("the file is empty"))
        return
    if first != b"{":
        yield _unreadable(
            name,
            _(
                "not JSON: give the registry's JSON (an array, an API page or NDJSON) or a zip "
                "of such files"
            ),
        )
        return
    first_line = stream.readline(MAX_RECORD_BYTES + 1)
    after = _first_char(stream)
    stream.seek(0)
    try:
        single_line = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        single_line = None
    if isinstance(single_line, dict) and after and "studies" not in single_line:
        yield from _ndjson(stream, name, skim)
        return
    if size is None:
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
    if size > MAX_RECORD_BYTES:
        # Too large for one record: an API page read element by element, or nothing.
        yield from _elements(
            stream,
            name,
            not_a_page=_(
                "one JSON object of %(size).1f MB is larger than any registry record (limit "
                "%(limit)d MB) and not an API page; give an array, NDJSON or a zip"
            )
            % {"size": size / 1_000_000, "limit": MAX_RECORD_BYTES // 1_000_000},
        )
        return
    raw = stream.read()
    key = skim(raw) if skim is not None else None
    if key is not None:
        yield Unparsed(key, raw)
        return
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        yield _unreadable(name, _("malformed or truncated JSON: %(error)s") % {"error": exc})
        return
    if isinstance(record, dict) and isinstance(record.get("studies"), list):
        for number, study in enumerate(record["studies"], start=1):
            yield study if isinstance(study, dict) else _not_an_object(element_name(name, number))
    elif isinstance(record, dict):
        yield record
    else:
        yield _not_an_object(name)


def _not_an_object(where: str) -> Unreadable:
    return _unreadable(where, _("not a JSON object"))


def _line(name: str, number: int) -> str:
    return _("%(name)s line %(number)d") % {"name": name, "number": number}


def _elements(stream: IO[bytes], name: str, **options: str) -> Iterator[dict[str, Any]]:
    for element in JsonElements(stream, name, **options):
        if isinstance(element, BadElement):
            yield _unreadable(element.where, element.reason)
        elif isinstance(element, dict):
            yield element
        else:
            yield _not_an_object(name)


def _ndjson(stream: IO[bytes], name: str, skim: Skim | None = None) -> Iterator[dict[str, Any]]:
    number = 0
    while line := stream.readline(MAX_RECORD_BYTES + 1):
        number += 1
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            while (more := stream.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
            yield _unreadable(_line(name, number), _("line longer than any registry record"))
            continue
        if not line.strip():
            continue
        key = skim(line) if skim is not None else None
        if key is not None:
            yield Unparsed(key, line)
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield _unreadable(_line(name, number), not_json(exc))
            continue
        if isinstance(record, dict):
            yield record
        else:
            yield _not_an_object(_line(name, number))


class InputProgress:
    """How much of the input files has been read, as a fraction, for progress bars."""

    def __init__(self, paths: list[Path]) -> None:
        self.total = sum(path.stat().st_size for path in paths if path.is_file()) or 1
        self.done = 0
        self.position = 0

    @property
    def fraction(self) -> float:
        return min(1.0, (self.done + self.position) / self.total)


def iter_path_records(
    path: Path,
    tracker: InputProgress | None = None,
    skim: Skim | None = None,
    name: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of a file or zip; a record that cannot be read is reported as being
    in ``name`` (the file's own name when not given)."""
    name = name or path.name
    size = path.stat().st_size
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [member for member in archive.infolist() if not member.is_dir()]
            for index, member in enumerate(members, start=1):
                # A member is a seekable stream that decompresses as it is read.
                with archive.open(member) as raw:
                    yield from iter_stream_records(
                        raw, f"{name}:{member.filename}", size=member.file_size, skim=skim
                    )
                if tracker is not None:
                    tracker.position = size * index // len(members)
        return
    with path.open("rb") as stream:
        for record in iter_stream_records(stream, name, skim=skim):
            if tracker is not None:
                tracker.position = stream.tell()
            yield record


CsvReader = Callable[[IO[bytes], str], Iterator[dict[str, Any]]]

Names = Mapping[Path, str]
"""The names files are shown by where they are not their own: an upload is stored under
a name of its own, and its rejected records say where they were in the uploaded file."""


def _shown(path: Path, names: Names | None) -> str:
    return (names or {}).get(path) or path.name


def _all_records(
    paths: list[Path],
    tracker: InputProgress,
    *,
    csv_reader: CsvReader | None = None,
    skim: Skim | None = None,
    names: Names | None = None,
) -> Iterator[dict[str, Any]]:
    for path in paths:
        if not path.is_file():
            yield _unreadable(_shown(path, names) if names else str(path), _("no such file"))
            continue
        tracker.position = 0
        if csv_reader is not None and path.suffix.lower() == ".csv":
            with path.open("rb") as stream:
                for record in csv_reader(stream, _shown(path, names)):
                    tracker.position = stream.tell()
                    yield record
        else:
            yield from iter_path_records(path, tracker, skim, _shown(path, names))
        tracker.done += path.stat().st_size
        tracker.position = 0


def _import(
    paths: list[Path],
    importer: Callable[..., ImportSummary],
    progress: Progress | None,
    regions: frozenset[int] | None,
    csv_reader: CsvReader | None = None,
    skim: Skim | None = None,
    names: Names | None = None,
) -> ImportSummary:
    tracker = InputProgress(paths)
    summary = importer(
        _all_records(paths, tracker, csv_reader=csv_reader, skim=skim, names=names),
        regions=regions,
        progress=progress,
        position=lambda: tracker.fraction,
    )
    if summary.created or summary.updated:
        # An upload links and merges only studies of the uploader's regions.
        merge_registry_duplicates(summary.written, regions=regions)
        suggest_links_for_registry(summary.written, regions=regions)
    return summary


def import_ctgov_paths(
    paths: list[Path],
    *,
    progress: Progress | None = None,
    regions: frozenset[int] | None = None,
    names: Names | None = None,
) -> ImportSummary:
    """ClinicalTrials.gov records from files; ``regions`` limits what may change (see
    ``upsert.import_records``); ``names``: see ``Names``."""
    return _import(
        paths,
        ctgov.import_records,
        progress,
        regions,
        skim=ctgov.CTGOV.outside_sweden_key,
        names=names,
    )


def import_ctis_paths(
    paths: list[Path],
    *,
    progress: Progress | None = None,
    regions: frozenset[int] | None = None,
    names: Names | None = None,
) -> ImportSummary:
    """CTIS trials from JSON (one trial, arrays, NDJSON, zips) or the search's CSV download.

    A CSV without the required columns raises ``ctis.CsvTemplateError`` before anything
    is written.
    """
    for path in paths:
        if path.suffix.lower() == ".csv" and path.is_file():
            with path.open("rb") as stream:
                next(ctis.iter_csv_records(stream, _shown(path, names)), None)
    return _import(
        paths,
        ctis.import_records,
        progress,
        regions,
        csv_reader=ctis.iter_csv_records,
        names=names,
    )
