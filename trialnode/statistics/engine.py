"""Counting the measures fast: the statistics' data held in memory as arrays.

The definitions (``definitions.studies``) are a database query per number, which at
half a million studies takes far longer than a dashboard may. Here the same data —
each study's state and dimensions, its regions, care providers, units and condition
areas, and its status periods — is loaded once into NumPy arrays, and every count is
an array operation of a few milliseconds.

The loaded data stays exact: it is tagged with the audit chain's head (sequence number
and hash), which changes with every write to any record. When the head has moved, the
audit events since the loaded sequence number say which studies changed (a study's own
events, and those of its sites, conditions and status history); only their rows are read
again and put in place of the old ones (``_apply``). A change of the regions, care
providers or units, or of very many studies, reloads everything. A test checks every
measure against the database query, after loading and after changes.
"""

from __future__ import annotations

import functools
import json
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from django.db import connection
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditChainHead, AuditEvent
from trialnode.organisations.models import CareProvider, Region, Unit
from trialnode.studies.models import (
    ONGOING_STATUSES,
    Phase,
    RegistrationState,
    SponsorType,
    Status,
    StudyType,
)
from trialnode.studies.validators import ICD10_CHAPTERS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STATUSES = ["", *Status.values]
STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}
STUDY_TYPES = ["", *StudyType.values]
SPONSOR_TYPES = ["", *SponsorType.values]
PHASES = ["", *Phase.values]
CHAPTERS = [chapter for chapter, *_range in ICD10_CHAPTERS]
FAR_FUTURE = date(9999, 12, 31).toordinal()
UNKNOWN_REGION_KEY = ""
UNKNOWN_REGION_LABEL = _("Region not known")
ONGOING_CODES = np.asarray([STATUS_CODES[s] for s in ONGOING_STATUSES], dtype=np.int16)


def _pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (left, right) pairs."""
    if not len(left):
        return left.astype(np.int32), right.astype(np.int64)
    keys = np.unique(left.astype(np.int64) * (1 << 20) + right.astype(np.int64))
    return (keys >> 20).astype(np.int32), keys & ((1 << 20) - 1)


PAIR_FIELDS = (
    "region_pairs",
    "provider_pairs",
    "unit_pairs",
    "sites",
    "chapter_pairs",
    "cancer_pairs",
    "collaboration_pairs",
)


@dataclass
class _Part:
    """The rows of the changed studies alone, as one version of the data holds them."""

    positions: np.ndarray  # the changed studies' positions, sorted
    values: dict[str, np.ndarray]  # per STUDY_FIELDS, aligned with positions
    pairs: dict[str, tuple]  # per PAIR_FIELDS, rows of the changed studies only
    spans: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # per measure


@dataclass
class Snapshot:
    """Everything the measures count, as arrays indexed by study position."""

    version: tuple[int, str]
    study_pk: np.ndarray
    # Registration state (a position in STATES), the position of the record it is the same
    # study as (-1 for none), and whether it is conducted in Sweden: what ``population``
    # decides from, as ``StudyQuerySet.counted`` does.
    state: np.ndarray
    twin: np.ndarray
    in_sweden: np.ndarray
    study_type: np.ndarray
    sponsor_type: np.ndarray
    phase: np.ndarray
    # Distinct (study, value) pairs per multi-valued dimension.
    region_pairs: tuple[np.ndarray, np.ndarray]
    provider_pairs: tuple[np.ndarray, np.ndarray]
    unit_pairs: tuple[np.ndarray, np.ndarray]
    # Every site as (study, region, care provider, unit), for tables within regions.
    sites: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    chapter_pairs: tuple[np.ndarray, np.ndarray]
    cancer_pairs: tuple[np.ndarray, np.ndarray]
    # (study, region a * 64 + region b) for every pair of regions a study runs in.
    collaboration_pairs: tuple[np.ndarray, np.ndarray]
    # Per measure, the status periods it counts: (study, first day, day after), by first day.
    measure_spans: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    region_slugs: list[str]
    region_names: list[StrOrPromise]
    provider_slugs: list[str]
    unit_names: list[str]
    cancer_keys: list[str]
    # Primary key -> position + 1, to place the sites of changed studies.
    region_lookup: np.ndarray
    provider_lookup: np.ndarray
    unit_lookup: np.ndarray
    _populations: dict = field(default_factory=dict)
    _counted: dict = field(default_factory=dict)
    _gathered: dict = field(default_factory=dict)
    # Numbers counted (counts, counts per value, region pairs) by what they count; an
    # applied change corrects them by the changed studies alone (``_carry``).
    _results: dict = field(default_factory=dict)
    # The studies changed since the arrays above were built, with their rows now: the
    # arrays' own rows of them no longer count (see ``rows``).
    _overlay: _Part | None = None
    _full: dict = field(default_factory=dict)
    # Per measure, the status periods' row numbers ordered by study, to find a study's
    # periods (shared by the versions built on the same arrays).
    _span_index: dict = field(default_factory=dict)
    _twinned: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def size(self) -> int:
        return len(self.study_pk)

    def rows(self, name: str) -> tuple:
        """The rows of one of PAIR_FIELDS as they are now."""
        if self._overlay is None:
            return getattr(self, name)
        return self._built()[name]

    def spans(self, measure: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The status periods the measure counts as they are now, by first day."""
        if self._overlay is None:
            return self.measure_spans[measure]
        return self._built()["spans"][measure]

    def _built(self) -> dict:
        """The arrays without the changed studies' old rows and with their new ones (built
        when a number is first counted over all studies, not when studies change)."""
        if self._full:
            return self._full
        overlay = self._overlay
        assert overlay is not None
        dropped = np.zeros(self.size, dtype=bool)
        dropped[overlay.positions] = True
        built: dict = {}
        for name in PAIR_FIELDS:
            base, added = getattr(self, name), overlay.pairs[name]
            kept = ~dropped[base[0]]
            at = np.searchsorted(base[0][kept], added[0].astype(base[0].dtype), side="right")
            built[name] = tuple(
                np.insert(old[kept], at, new.astype(old.dtype))
                for old, new in zip(base, added, strict=True)
            )
        spans = {}
        for measure, (studies, starts, ends) in self.measure_spans.items():
            kept = ~dropped[studies]
            added_studies, added_starts, added_ends = overlay.spans[measure]
            at = np.searchsorted(starts[kept], added_starts, side="right")
            spans[measure] = (
                np.insert(studies[kept], at, added_studies),
                np.insert(starts[kept], at, added_starts),
                np.insert(ends[kept], at, added_ends),
            )
        built["spans"] = spans
        self._full = built
        return built

    def positions(self, pks) -> np.ndarray:
        return np.searchsorted(self.study_pk, np.asarray(list(pks), dtype=np.int64))


def _head() -> tuple[int, str]:
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    return head or (0, "")


def _matrix(sql: str, columns: int) -> np.ndarray:
    """The rows of a query whose columns are all integers, as one integer array."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    return np.array(rows, dtype=np.int64).reshape(-1, columns)


def _case(column: str, vocabulary: list[str]) -> str:
    """SQL that turns a text column into its position in ``vocabulary`` (0 when absent)."""
    whens = " ".join(
        f"WHEN '{value.replace(chr(39), chr(39) * 2)}' THEN {code}"
        for code, value in enumerate(vocabulary)
        if value
    )
    return f"CASE {column} {whens} ELSE 0 END"


def _lookup(keys: list[int], size_hint: int = 0) -> np.ndarray:
    """An array mapping a primary key to its position + 1 (0 for NULL or unknown)."""
    table = np.zeros(max([*keys, size_hint, 0]) + 1, dtype=np.int64)
    table[np.asarray(keys, dtype=np.int64)] = np.arange(1, len(keys) + 1)
    return table


STATES = ["", RegistrationState.PUBLISHED, RegistrationState.DRAFT]


@dataclass
class _Rows:
    """The database rows the arrays are made of, of all studies or of some."""

    studies: np.ndarray
    sites: np.ndarray
    conditions: np.ndarray
    cancer_rows: list[tuple[int, str]]
    spans: np.ndarray


def _read(study_pks: list[int] | None = None) -> _Rows:
    """The rows of these studies (all when None)."""
    if study_pks is None:
        of_study, of_row = "", ""
    else:
        listed = ", ".join(str(int(pk)) for pk in study_pks) or "NULL"
        of_study, of_row = f"WHERE id IN ({listed})", f"WHERE study_id IN ({listed})"
    studies = _matrix(
        f"SELECT id, {_case('registration_state', STATES)}, COALESCE(duplicate_of_id, 0), "
        "CASE WHEN conducted_in_sweden THEN 1 ELSE 0 END, "
        f"{_case('study_type', STUDY_TYPES)}, {_case('sponsor_type', SPONSOR_TYPES)}, "
        f"{_case('phase', PHASES)} FROM studies_study {of_study} ORDER BY id",
        7,
    )
    sites = _matrix(
        "SELECT study_id, COALESCE(region_id, 0), COALESCE(care_provider_id, 0), "
        f"COALESCE(unit_id, 0) FROM studies_studysite {of_row}",
        4,
    )
    conditions = _matrix(
        f"SELECT study_id, {_case('chapter', ['', *CHAPTERS])} FROM studies_conditionarea {of_row}",
        2,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT study_id, icd10_code FROM studies_studycondition "
            f"{of_row or 'WHERE true'} AND chapter = 'II'"
        )
        cancer_rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        start_day = "start - DATE '0001-01-01' + 1"
        end_day = "\"end\" - DATE '0001-01-01' + 1"
    else:
        start_day = "CAST(julianday(start) - 1721424.5 AS INTEGER)"
        end_day = 'CAST(julianday("end") - 1721424.5 AS INTEGER)'
    spans = _matrix(
        f"SELECT study_id, {_case('status', STATUSES)}, {start_day}, "
        f"COALESCE({end_day}, {FAR_FUTURE}), CASE WHEN first_ongoing THEN 1 ELSE 0 END "
        f"FROM studies_statusspan {of_row}",
        5,
    )
    return _Rows(studies, sites, conditions, cancer_rows, spans)


@dataclass
class _Derived:
    """The arrays made of some studies' rows, with positions in the whole snapshot."""

    region_pairs: tuple[np.ndarray, np.ndarray]
    provider_pairs: tuple[np.ndarray, np.ndarray]
    unit_pairs: tuple[np.ndarray, np.ndarray]
    sites: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    chapter_pairs: tuple[np.ndarray, np.ndarray]
    cancer_pairs: tuple[np.ndarray, np.ndarray]
    collaboration_pairs: tuple[np.ndarray, np.ndarray]
    spans: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _by_study(rows: tuple) -> tuple:
    """Rows (arrays whose first holds study positions) ordered by study."""
    order = np.argsort(rows[0], kind="stable")
    return tuple(column[order] for column in rows)


def _rows_at(rows: tuple, positions: np.ndarray) -> tuple:
    """The rows (ordered by study) of the studies at ``positions`` (sorted)."""
    # Of the arrays' own type: searching with another would convert all the rows first.
    positions = positions.astype(rows[0].dtype, copy=False)
    low = np.searchsorted(rows[0], positions, side="left")
    high = np.searchsorted(rows[0], positions, side="right")
    taken = _ranges(low, high)
    return tuple(column[taken] for column in rows)


def _ranges(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The numbers low[0]..high[0] - 1, then low[1]..high[1] - 1, and so on, in one array."""
    lengths = high - low
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    # Each number is its range's low plus its place within the range.
    starts = np.cumsum(lengths) - lengths
    return np.repeat(low - starts, lengths) + np.arange(total)


def _derive(
    rows: _Rows,
    study_pk: np.ndarray,
    study_positions: np.ndarray,
    lookups: tuple[np.ndarray, np.ndarray, np.ndarray],
    unknown_region: int,
    cancer_keys: list[str],
) -> _Derived:
    """Pairs, sites and status periods of ``rows``; ``study_positions``: the positions of
    the studies the rows are of (those without a site count under "region not known")."""

    def position(pks: np.ndarray) -> np.ndarray:
        return np.searchsorted(study_pk, pks).astype(np.int32)

    region_lookup, provider_lookup, unit_lookup = lookups
    sites = rows.sites
    site_study = position(sites[:, 0])
    # A site not yet placed, and a study with no site at all (a CTIS trial that names
    # Sweden among its member states but no site yet), count under "region not known".
    site_region = region_lookup[sites[:, 1]] - 1
    site_region[site_region < 0] = unknown_region
    without_sites = np.setdiff1d(study_positions.astype(np.int32), site_study)
    site_provider = provider_lookup[sites[:, 2]]
    site_unit = unit_lookup[sites[:, 3]]
    cond_study = position(rows.conditions[:, 0])
    cond_chapter = rows.conditions[:, 1] - 1
    from trialnode.statistics.definitions import cancer_area

    area_of: dict[str, int] = {}
    for _s, code in rows.cancer_rows:
        if code not in area_of:
            area_of[code] = cancer_keys.index(cancer_area(code))
    cancer_codes = [area_of[code] for _s, code in rows.cancer_rows]
    cancer_studies = position(np.asarray([s for s, _c in rows.cancer_rows], dtype=np.int64))
    region_pairs = _pairs(
        np.concatenate([site_study, without_sites]),
        np.concatenate([site_region, np.full(len(without_sites), unknown_region)]),
    )
    placed = region_pairs[1] != unknown_region
    spans = rows.spans
    return _Derived(
        region_pairs=region_pairs,
        provider_pairs=_pairs(site_study, site_provider),
        unit_pairs=_pairs(site_study, site_unit),
        sites=_by_study((site_study, site_region, site_provider, site_unit)),
        chapter_pairs=_pairs(cond_study, cond_chapter),
        cancer_pairs=_pairs(cancer_studies, np.asarray(cancer_codes, dtype=np.int64)),
        collaboration_pairs=_by_study(
            _region_pairs_per_study(region_pairs[0][placed], region_pairs[1][placed])
        ),
        spans=(position(spans[:, 0]), spans[:, 1], spans[:, 2], spans[:, 3], spans[:, 4] == 1),
    )


def _load(version: tuple[int, str]) -> Snapshot:
    from trialnode.statistics.definitions import cancer_area

    rows = _read()
    studies = rows.studies
    study_pk = studies[:, 0]
    twin = np.where(studies[:, 2] > 0, np.searchsorted(study_pk, studies[:, 2]), -1)
    regions = list(Region.objects.order_by("pk").values_list("pk", "slug", "name"))
    providers = list(CareProvider.objects.order_by("pk").values_list("pk", "slug"))
    unit_rows = list(Unit.objects.values_list("pk", "name"))
    unit_names = sorted({name for _pk, name in unit_rows})
    sites = rows.sites
    region_lookup = _lookup([pk for pk, _s, _n in regions], int(sites[:, 1].max(initial=0)))
    provider_lookup = _lookup([pk for pk, _s in providers], int(sites[:, 2].max(initial=0)))
    unit_lookup = np.zeros(
        max([pk for pk, _n in unit_rows] + [int(sites[:, 3].max(initial=0))]) + 1, dtype=np.int64
    )
    for pk, name in unit_rows:
        unit_lookup[pk] = unit_names.index(name) + 1
    cancer_keys = sorted({cancer_area(code) for code in {c for _s, c in rows.cancer_rows}})
    derived = _derive(
        rows,
        study_pk,
        np.arange(len(study_pk)),
        (region_lookup, provider_lookup, unit_lookup),
        len(regions),
        cancer_keys,
    )
    loaded = Snapshot(
        version=version,
        study_pk=study_pk,
        # Small contiguous arrays: a change copies them (see ``_apply``).
        state=studies[:, 1].astype(np.int8),
        twin=twin.astype(np.int32),
        in_sweden=studies[:, 3] == 1,
        study_type=studies[:, 4].astype(np.int8),
        sponsor_type=studies[:, 5].astype(np.int8),
        phase=studies[:, 6].astype(np.int8),
        region_pairs=derived.region_pairs,
        provider_pairs=derived.provider_pairs,
        sites=derived.sites,
        unit_pairs=derived.unit_pairs,
        chapter_pairs=derived.chapter_pairs,
        cancer_pairs=derived.cancer_pairs,
        collaboration_pairs=derived.collaboration_pairs,
        measure_spans=_measure_spans(*derived.spans),
        region_slugs=[slug for _pk, slug, _name in regions] + [UNKNOWN_REGION_KEY],
        region_names=[name for _pk, _slug, name in regions] + [UNKNOWN_REGION_LABEL],
        provider_slugs=["", *(slug for _pk, slug in providers)],
        unit_names=["", *unit_names],
        cancer_keys=cancer_keys,
        region_lookup=region_lookup,
        provider_lookup=provider_lookup,
        unit_lookup=unit_lookup,
        _twinned=np.flatnonzero(twin >= 0),
    )
    for measure in loaded.measure_spans:
        _span_index(loaded, measure)
    return loaded


# The records whose audit events say which study changed; a change of the others the
# statistics read (regions, care providers, units) reloads everything.
STUDY_ROWS = {
    "studies.studysite": "studies_studysite",
    "studies.studycondition": "studies_studycondition",
    "studies.studystatuschange": "studies_studystatuschange",
}
RELOAD_ON = {"organisations.region", "organisations.careprovider", "organisations.unit"}
MAX_CHANGED = 20_000


class _ReloadAll(Exception):
    """The change cannot be applied study by study."""


def _changed_studies(after_seq: int, up_to_seq: int) -> set[int]:
    """The studies whose rows the audit events after ``after_seq`` changed."""
    # One statement: at most one event more than would reload everything.
    events = list(
        AuditEvent.objects.filter(seq__gt=after_seq, seq__lte=up_to_seq).values_list(
            "object_type", "object_id", "payload"
        )[: 4 * MAX_CHANGED + 1]
    )
    if len(events) > 4 * MAX_CHANGED:
        raise _ReloadAll
    studies: set[int] = set()
    rows: dict[str, set[int]] = {}
    for object_type, object_id, payload in events:
        if object_type in RELOAD_ON:
            raise _ReloadAll
        if object_type == "studies.study":
            studies.add(int(object_id))
        elif object_type in STUDY_ROWS:
            study = json.loads(payload).get("changes", {}).get("study")
            if study:
                studies.update(int(pk) for pk in study if pk is not None)
            else:  # a change that left the row with its study: ask the row
                rows.setdefault(STUDY_ROWS[object_type], set()).add(int(object_id))
    for table, pks in rows.items():
        with connection.cursor() as cursor:
            listed = ", ".join(str(pk) for pk in pks)
            cursor.execute(f"SELECT DISTINCT study_id FROM {table} WHERE id IN ({listed})")
            studies.update(pk for (pk,) in cursor.fetchall())
    if len(studies) > MAX_CHANGED:
        raise _ReloadAll
    return studies


STUDY_FIELDS = ("state", "twin", "in_sweden", "study_type", "sponsor_type", "phase")


def _span_index(snap: Snapshot, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """The measure's periods in ``snap.measure_spans`` ordered by study: (studies, rows)."""
    index = snap._span_index.get(measure)
    if index is None:
        studies = snap.measure_spans[measure][0]
        order = np.argsort(studies, kind="stable")
        index = snap._span_index[measure] = (studies[order], order)
    return index


def _old_part(current: Snapshot, positions: np.ndarray, values: dict) -> _Part:
    """The rows ``current`` holds of the studies at ``positions``."""
    overlay = current._overlay
    in_overlay = (
        np.isin(positions, overlay.positions)
        if overlay is not None
        else np.zeros(len(positions), dtype=bool)
    )
    in_base = positions[~in_overlay & (positions < current.size)]
    pairs = {}
    for name in PAIR_FIELDS:
        rows = _rows_at(getattr(current, name), in_base)
        if overlay is not None:
            rows = _with_overlay_rows(rows, overlay.pairs[name], positions)
        pairs[name] = rows
    spans = {}
    for measure, (studies, starts, ends) in current.measure_spans.items():
        ordered, order = _span_index(current, measure)
        wanted = in_base.astype(ordered.dtype, copy=False)
        low = np.searchsorted(ordered, wanted, side="left")
        high = np.searchsorted(ordered, wanted, side="right")
        taken = order[_ranges(low, high)]
        found: tuple = (studies[taken], starts[taken], ends[taken])
        if overlay is not None:
            found = _with_overlay_rows(found, overlay.spans[measure], positions)
        spans[measure] = found
    return _Part(positions, values, pairs, spans)


def _with_overlay_rows(rows: tuple, extra: tuple, positions: np.ndarray) -> tuple:
    """``rows`` (columns of equal length) with the overlay's rows of the studies at
    ``positions`` (the first column holds the study position) appended."""
    chosen = np.isin(extra[0], positions)
    return tuple(
        np.concatenate([a, b[chosen].astype(a.dtype)]) for a, b in zip(rows, extra, strict=True)
    )


# Past this many changed studies the arrays are built anew, so that the changes held
# beside them stay few.
OVERLAY_STUDIES = 5_000


def _apply(current: Snapshot, version: tuple[int, str]) -> Snapshot:
    """``current`` with the rows of the studies changed since it was loaded read again.

    Only the changed studies' rows are read and kept beside the loaded arrays (the
    arrays themselves are shared, not copied); every number counted so far is corrected
    by them (``_carry``)."""
    if version[0] <= current.version[0]:
        raise _ReloadAll  # the chain was replaced (a restored backup), not extended
    changed = _changed_studies(current.version[0], version[0])
    if not changed:
        # Nothing the statistics count changed (a login, a data request): every number
        # counted so far still holds.
        return replace(current, version=version)
    study_pk = current.study_pk
    twinned = current._twinned
    # Records counted through a changed record (marked as the same study as it) are
    # counted anew with it.
    known_positions = np.searchsorted(study_pk, np.asarray(sorted(changed), dtype=np.int64))
    known_positions = known_positions[known_positions < len(study_pk)]
    if len(known_positions) and len(twinned):
        dependent = twinned[np.isin(current.twin[twinned], known_positions)]
        changed |= {int(pk) for pk in study_pk[dependent]}
    rows = _read(sorted(changed))
    found = rows.studies[:, 0]
    last = int(study_pk[-1]) if len(study_pk) else 0
    new_pks = found[found > last]
    known = np.setdiff1d(np.asarray(sorted(changed), dtype=np.int64), new_pks)
    at = np.searchsorted(study_pk, known)
    if len(known) and (at.max() >= len(study_pk) or (study_pk[at] != known).any()):
        raise _ReloadAll  # a study that is neither loaded nor newer than all loaded ones
    old_size = current.size
    study_pk = np.concatenate([study_pk, new_pks])
    size = len(study_pk)

    def extended(values: np.ndarray, fill) -> np.ndarray:
        return np.concatenate([values, np.full(size - len(values), fill, dtype=values.dtype)])

    state = extended(current.state, 0)
    twin = extended(current.twin, -1)
    in_sweden = extended(current.in_sweden, False)
    study_type = extended(current.study_type, 0)
    sponsor_type = extended(current.sponsor_type, 0)
    phase = extended(current.phase, 0)
    positions = np.searchsorted(study_pk, np.asarray(sorted(changed), dtype=np.int64))
    old_values = {
        "state": state[positions],
        "twin": twin[positions],
        "in_sweden": in_sweden[positions],
        "study_type": study_type[positions],
        "sponsor_type": sponsor_type[positions],
        "phase": phase[positions],
    }
    # A deleted study stays in place, counted nowhere; the records that were the same
    # study as it lost that mark with it.
    gone = np.searchsorted(study_pk, np.setdiff1d(known, found))
    state[gone], twin[gone], in_sweden[gone] = 0, -1, False
    if len(gone) and len(twinned):
        twin[twinned[np.isin(twin[twinned], gone)]] = -1
    where = np.searchsorted(study_pk, found)
    state[where] = rows.studies[:, 1]
    twin[where] = np.where(
        rows.studies[:, 2] > 0, np.searchsorted(study_pk, rows.studies[:, 2]), -1
    )
    in_sweden[where] = rows.studies[:, 3] == 1
    study_type[where] = rows.studies[:, 4]
    sponsor_type[where] = rows.studies[:, 5]
    phase[where] = rows.studies[:, 6]

    from trialnode.statistics.definitions import cancer_area

    if any(cancer_area(code) not in current.cancer_keys for _s, code in rows.cancer_rows):
        raise _ReloadAll
    lookups = (current.region_lookup, current.provider_lookup, current.unit_lookup)
    for lookup, column in zip(lookups, (1, 2, 3), strict=True):
        if int(rows.sites[:, column].max(initial=0)) >= len(lookup):
            raise _ReloadAll
    derived = _derive(
        rows, study_pk, where, lookups, len(current.region_slugs) - 1, current.cancer_keys
    )
    before = _old_part(current, positions, old_values)
    new_spans = _measure_spans(*derived.spans)
    new_pairs = {name: getattr(derived, name) for name in PAIR_FIELDS}
    # The changes held beside the arrays: the earlier ones not changed again, and these.
    overlay = current._overlay
    if overlay is None:
        held_positions, held_pairs, held_spans = positions, new_pairs, new_spans
    else:
        held_positions = np.union1d(overlay.positions, positions)
        held_pairs = {}
        for name in PAIR_FIELDS:
            extra = overlay.pairs[name]
            kept = ~np.isin(extra[0], positions)
            held_pairs[name] = _by_study(
                tuple(
                    np.concatenate([a[kept], b.astype(a.dtype)])
                    for a, b in zip(extra, new_pairs[name], strict=True)
                )
            )
        held_spans = {}
        for measure, extra in overlay.spans.items():
            kept = ~np.isin(extra[0], positions)
            joined = tuple(
                np.concatenate([a[kept], b.astype(a.dtype)])
                for a, b in zip(extra, new_spans[measure], strict=True)
            )
            order = np.argsort(joined[1], kind="stable")
            held_spans[measure] = tuple(column[order] for column in joined)
    still_twinned = twinned[~np.isin(twinned, positions)]
    updated = replace(
        current,
        version=version,
        study_pk=study_pk,
        state=state,
        twin=twin,
        in_sweden=in_sweden,
        study_type=study_type,
        sponsor_type=sponsor_type,
        phase=phase,
        _twinned=np.union1d(still_twinned, positions[twin[positions] >= 0]),
        _overlay=_Part(held_positions, {}, held_pairs, held_spans),
        _full={},
        _populations={},
        _counted={},
        _gathered={},
        _results={},
    )
    after = _Part(
        positions,
        {name: getattr(updated, name)[positions] for name in STUDY_FIELDS},
        new_pairs,
        new_spans,
    )
    _carry(current, updated, before, after, old_size)
    if len(held_positions) > OVERLAY_STUDIES:
        built = updated._built()
        updated = replace(
            updated,
            measure_spans=built["spans"],
            _overlay=None,
            _full={},
            _span_index={},
            **{name: built[name] for name in PAIR_FIELDS},
        )
    return updated


def _carry(
    current: Snapshot, updated: Snapshot, before: _Part, after: _Part, old_size: int
) -> None:
    """Give ``updated`` the populations and numbers ``current`` had counted, corrected by
    the changed studies alone: each number less what the changed studies added to it
    before, plus what they add now. Numbers of a scope that cannot be corrected this way
    (studies still unpublished shown to their regions' staff) are counted again."""
    positions = before.positions
    size = updated.size
    corrected: dict = {}
    for key, mask in current._populations.items():
        if key[4] is not None:
            continue
        new_mask = np.zeros(size, dtype=bool)
        new_mask[:old_size] = mask
        old_at = new_mask[positions].copy()
        new_mask[positions] = _population_at(updated, key, after)
        updated._populations[key] = new_mask
        corrected[key] = (old_at, new_mask[positions])
    hits: dict = {}
    for key, result in current._results.items():
        populations = corrected.get(key[-1])
        if populations is None:
            continue
        kind, measure, a, b = key[:4]
        if (measure, a, b) not in hits:
            hits[measure, a, b] = (_hits(before, measure, a, b), _hits(after, measure, a, b))
        old_hit = hits[measure, a, b][0] & populations[0]
        new_hit = hits[measure, a, b][1] & populations[1]
        if kind == "count":
            updated._results[key] = result - int(old_hit.sum()) + int(new_hit.sum())
        elif kind == "by":
            by, scope_key = key[4], key[5]
            counts, unknown = result
            old_counts, old_unknown = _part_counts(current, before, by, old_hit, scope_key)
            new_counts, new_unknown = _part_counts(updated, after, by, new_hit, scope_key)
            updated._results[key] = (
                counts - old_counts + new_counts,
                unknown - old_unknown + new_unknown,
            )
        elif kind == "collaboration":
            updated._results[key] = (
                result
                - _part_collaboration(before, old_hit, len(result))
                + _part_collaboration(after, new_hit, len(result))
            )


def _population_at(snap: Snapshot, key: tuple, part: _Part) -> np.ndarray:
    """``population`` at the changed studies only (of a scope without unpublished
    studies: a study's own rows and its twin's state decide)."""
    regions, study_type, sponsor_type, phase, _unpublished = key
    values = part.values
    published = STATES.index(RegistrationState.PUBLISHED)
    shown = values["state"] == published
    twins = values["twin"]
    has_twin = twins >= 0
    twin_shown = np.zeros(len(shown), dtype=bool)
    twin_shown[has_twin] = snap.state[twins[has_twin]] == published
    mask = shown & values["in_sweden"] & ~twin_shown
    if regions:
        wanted = [snap.region_slugs.index(slug) for slug in regions]
        studies, values_ = part.pairs["region_pairs"]
        inside = np.zeros(len(shown), dtype=bool)
        inside[np.searchsorted(part.positions, studies[np.isin(values_, wanted)])] = True
        mask &= inside
    for name, vocabulary, chosen in (
        ("study_type", STUDY_TYPES, study_type),
        ("sponsor_type", SPONSOR_TYPES, sponsor_type),
        ("phase", PHASES, phase),
    ):
        if chosen:
            mask &= values[name] == vocabulary.index(chosen)
    return mask


def _hits(part: _Part, measure: str, a: int, b: int) -> np.ndarray:
    """Which changed studies have a period the measure counts within days a..b."""
    studies, starts, ends = part.spans[measure]
    if measure in ("ongoing", "recruiting"):
        selected = studies[(starts <= b) & (ends > a)]
    else:
        selected = studies[(starts >= a) & (starts <= b)]
    hit = np.zeros(len(part.positions), dtype=bool)
    hit[np.searchsorted(part.positions, selected)] = True
    return hit


def _part_counts(snap: Snapshot, part: _Part, by: str, hit: np.ndarray, scope_key: tuple):
    """What the changed studies marked in ``hit`` add to ``counts_by_value``."""
    length = _value_count(snap, by)
    if by in ("study_type", "sponsor_type", "phase"):
        return np.bincount(part.values[by][hit], minlength=length), 0
    regions = scope_key[0]
    if regions and by in ("care_provider", "unit", "region"):
        site_study, site_region, site_provider, site_unit = part.pairs["sites"]
        wanted = np.isin(site_region, [snap.region_slugs.index(slug) for slug in regions])
        values = {"region": site_region, "care_provider": site_provider, "unit": site_unit}[by]
        studies, values = _pairs(site_study[wanted], values[wanted])
    else:
        studies, values = part.pairs[PAIRS_OF[by]]
    selected = hit[np.searchsorted(part.positions, studies)]
    counts = np.bincount(values[selected], minlength=length)
    unknown = 0
    if by == "condition_area":
        classified = np.zeros(len(part.positions), dtype=bool)
        classified[np.searchsorted(part.positions, studies)] = True
        unknown = int((hit & ~classified).sum())
    return counts, unknown


def _part_collaboration(part: _Part, hit: np.ndarray, length: int) -> np.ndarray:
    studies, codes = part.pairs["collaboration_pairs"]
    selected = hit[np.searchsorted(part.positions, studies)]
    return np.bincount(codes[selected], minlength=length)


def _region_pairs_per_study(studies: np.ndarray, regions: np.ndarray):
    """(study, a * 64 + b) for every two regions a < b of a study; pairs sorted by study."""
    pair_studies, codes = [], []
    for offset in range(1, len(studies)):
        same = studies[:-offset] == studies[offset:]
        if not same.any():
            break
        pair_studies.append(studies[:-offset][same])
        codes.append(regions[:-offset][same] * 64 + regions[offset:][same])
    if not codes:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(pair_studies), np.concatenate(codes)


def _measure_spans(study, status, start, end, first) -> dict[str, tuple]:
    ongoing = np.isin(status, ONGOING_CODES)
    selections = {
        "ongoing": ongoing,
        "recruiting": status == STATUS_CODES[Status.RECRUITING],
        "started": first,
        "completed": status == STATUS_CODES[Status.COMPLETED],
    }
    result = {}
    for measure, selected in selections.items():
        order = np.argsort(start[selected], kind="stable")
        result[measure] = (study[selected][order], start[selected][order], end[selected][order])
    return result


_lock = threading.Lock()
_current: Snapshot | None = None


_pinned: ContextVar[Snapshot | None] = ContextVar("statistics_snapshot", default=None)


def consistent(function):
    """Run ``function`` on one loaded version of the data: every number it counts agrees,
    like the reads of one transaction, and the version is checked once, not per number."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if _pinned.get() is not None:
            return function(*args, **kwargs)
        token = _pinned.set(snapshot())
        try:
            return function(*args, **kwargs)
        finally:
            _pinned.reset(token)

    return wrapper


def snapshot() -> Snapshot:
    """The loaded data, brought up to date first when anything was written since."""
    global _current
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    version = _head()
    current = _current
    if current is not None and current.version == version:
        return current
    with _lock:
        if _current is not None and _current.version == version:
            return _current
        if _current is not None and _current.version[0] <= version[0]:
            try:
                # Writers that commit meanwhile are applied in turn. A change committed
                # while its study was being read is read again by the next apply (its
                # event is after the version the data is tagged with), so the data kept
                # only ever lags behind, and never reloads because others keep writing.
                updated = _current
                for _attempt in range(3):
                    updated = _apply(updated, version)
                    _current = updated
                    after = _head()
                    if after == version:
                        break
                    version = after
                return updated
            except _ReloadAll:
                pass
        for _attempt in range(3):
            loaded = _load(version)
            after = _head()
            if after == version:
                _current = loaded
                return loaded
            version = after
        return loaded  # still changing: exact as of its load, not kept


def _scope_key(scope) -> tuple:
    return (
        scope.regions,
        scope.study_type,
        scope.sponsor_type,
        scope.phase,
        scope.unpublished_in_regions,
    )


def counted(snap: Snapshot, measure: str, start: date, end: date, scope) -> np.ndarray:
    """A mask over studies: those the measure counts in the period, within the scope.

    The mask is kept with the loaded data (which is exact for its version), so the tables
    of one period share it; callers must not change it.
    """
    if measure not in snap.measure_spans:
        raise ValueError(f"unknown measure {measure!r}")
    a, b = start.toordinal(), end.toordinal()
    key = (measure, a, b, _scope_key(scope))
    cached = snap._counted.get(key)
    if cached is not None:
        return cached
    studies, starts, ends = snap.spans(measure)
    if measure in ("ongoing", "recruiting"):
        # Periods that began by the last day and had not ended before the first.
        stop = np.searchsorted(starts, b, side="right")
        selected = studies[:stop][ends[:stop] > a]
    else:
        # Periods that began within the days.
        selected = studies[np.searchsorted(starts, a) : np.searchsorted(starts, b, side="right")]
    hit = np.zeros(snap.size, dtype=bool)
    hit[selected] = True
    hit &= population(snap, scope)
    if len(snap._counted) >= 64:
        snap._counted.clear()
    snap._counted[key] = hit
    return hit


def count(snap: Snapshot, measure: str, start: date, end: date, scope) -> int:
    """How many studies ``counted`` marks, kept with the loaded data like
    ``breakdown_counts``."""
    key = ("count", measure, start.toordinal(), end.toordinal(), _scope_key(scope))
    result = snap._results.get(key)
    if result is None:
        result = _count(snap, measure, start, end, scope)
        _remember(snap, key, result)
    return result


def _count(snap: Snapshot, measure: str, start: date, end: date, scope) -> int:
    """How many studies ``counted`` marks, without building the mask for a single day."""
    if start == end and measure in ("ongoing", "recruiting"):
        # A study is in at most one of its periods on a given day: no study counts twice.
        studies, starts, ends = snap.spans(measure)
        key = (measure, _scope_key(scope))
        within = snap._gathered.get(key)
        if within is None:
            within = snap._gathered[key] = population(snap, scope)[studies]
        stop = np.searchsorted(starts, start.toordinal(), side="right")
        return int(np.count_nonzero(within[:stop] & (ends[:stop] > start.toordinal())))
    if measure in ("started", "completed"):
        # Periods that began within the days: usually few, counted without a mask over
        # all studies (a study counts once however many of its periods began).
        studies, starts, _ends = snap.spans(measure)
        a, b = start.toordinal(), end.toordinal()
        selected = studies[np.searchsorted(starts, a) : np.searchsorted(starts, b, side="right")]
        if len(selected) < snap.size // 16:
            return len(np.unique(selected[population(snap, scope)[selected]]))
    return int(np.count_nonzero(counted(snap, measure, start, end, scope)))


def _in_regions(snap: Snapshot, region_positions: set[int]) -> np.ndarray:
    studies, regions = snap.rows("region_pairs")
    mask = np.zeros(snap.size, dtype=bool)
    mask[studies[np.isin(regions, list(region_positions))]] = True
    return mask


def population(snap: Snapshot, scope) -> np.ndarray:
    key = _scope_key(scope)
    cached = snap._populations.get(key)
    if cached is not None:
        return cached
    region_position = {slug: i for i, slug in enumerate(snap.region_slugs)}
    shown = snap.state == STATES.index(RegistrationState.PUBLISHED)
    if scope.unpublished_in_regions is not None:
        pks = dict(Region.objects.values_list("pk", "slug"))
        own = {region_position[pks[pk]] for pk in scope.unpublished_in_regions if pk in pks}
        shown |= (snap.state != STATES.index(RegistrationState.DRAFT)) & _in_regions(snap, own)
    has_twin = snap.twin >= 0
    twin_shown = np.zeros(snap.size, dtype=bool)
    twin_shown[has_twin] = shown[snap.twin[has_twin]]
    mask = shown & snap.in_sweden & ~twin_shown
    if scope.regions:
        mask &= _in_regions(snap, {region_position[slug] for slug in scope.regions})
    for name, vocabulary, values in (
        ("study_type", STUDY_TYPES, snap.study_type),
        ("sponsor_type", SPONSOR_TYPES, snap.sponsor_type),
        ("phase", PHASES, snap.phase),
    ):
        if getattr(scope, name):
            mask &= values == vocabulary.index(getattr(scope, name))
    if len(snap._populations) > 256:
        snap._populations.clear()
        snap._gathered.clear()
    snap._populations[key] = mask
    return mask


PAIRS_OF = {
    "region": "region_pairs",
    "care_provider": "provider_pairs",
    "unit": "unit_pairs",
    "condition_area": "chapter_pairs",
    "cancer_area": "cancer_pairs",
}
MAX_RESULTS = 4096


def _keys(snap: Snapshot, by: str) -> list[str]:
    """The values of a dimension, by their code in the arrays."""
    return {
        "study_type": STUDY_TYPES,
        "sponsor_type": SPONSOR_TYPES,
        "phase": PHASES,
        "region": snap.region_slugs,
        "care_provider": snap.provider_slugs,
        "unit": snap.unit_names,
        "condition_area": CHAPTERS,
        "cancer_area": snap.cancer_keys,
    }[by]


def _value_count(snap: Snapshot, by: str) -> int:
    return len(_keys(snap, by))


def _remember(snap: Snapshot, key: tuple, result) -> None:
    if len(snap._results) >= MAX_RESULTS:
        snap._results.clear()
    snap._results[key] = result


def _counts_array(snap: Snapshot, by: str, mask: np.ndarray, scope) -> tuple[np.ndarray, int]:
    """Counted studies per value code of a dimension, and those with no value (condition
    areas only)."""
    length = _value_count(snap, by)
    if by in ("study_type", "sponsor_type", "phase"):
        return np.bincount(getattr(snap, by)[mask], minlength=length), 0
    studies, values = snap.rows(PAIRS_OF[by])
    if scope.regions and by in ("care_provider", "unit", "region"):
        studies, values = _pairs_within(snap, by, scope.regions)
    selected = mask[studies]
    counts = np.bincount(values[selected], minlength=length)
    unknown = 0
    if by == "condition_area":
        unclassified = snap._gathered.get("unclassified")
        if unclassified is None:
            unclassified = snap._gathered["unclassified"] = np.ones(snap.size, dtype=bool)
            unclassified[studies] = False
        unknown = int(np.count_nonzero(mask & unclassified))
    return counts, unknown


def _as_dict(snap: Snapshot, by: str, result: tuple[np.ndarray, int]) -> dict[str, int]:
    counts, unknown = result
    keys = _keys(snap, by)
    found = {keys[i]: int(n) for i, n in enumerate(counts) if n}
    if unknown:
        found[""] = unknown
    return found


def counts_by_value(snap: Snapshot, by: str, mask: np.ndarray, scope) -> dict[str, int]:
    """Counted studies per value of a dimension, keyed as the definitions key them."""
    return _as_dict(snap, by, _counts_array(snap, by, mask, scope))


def breakdown_counts(
    snap: Snapshot, measure: str, start: date, end: date, by: str, scope
) -> dict[str, int]:
    """``counts_by_value`` of the studies the measure counts in the period, kept with the
    loaded data (and corrected, not counted again, when studies change)."""
    key = ("by", measure, start.toordinal(), end.toordinal(), by, _scope_key(scope))
    result = snap._results.get(key)
    if result is None:
        if by not in PAIRS_OF and by not in ("study_type", "sponsor_type", "phase"):
            raise ValueError(f"unknown dimension {by!r}")
        result = _counts_array(snap, by, counted(snap, measure, start, end, scope), scope)
        _remember(snap, key, result)
    return _as_dict(snap, by, result)


def _pairs_within(snap: Snapshot, by: str, regions: tuple[str, ...]):
    """Distinct (study, value) pairs over the sites in these regions only."""
    key = ("within", by, regions)
    if key in snap._gathered:
        return snap._gathered[key]
    site_study, site_region, site_provider, site_unit = snap.rows("sites")
    wanted = np.isin(site_region, [snap.region_slugs.index(slug) for slug in regions])
    values = {"region": site_region, "care_provider": site_provider, "unit": site_unit}[by]
    pairs = snap._gathered[key] = _pairs(site_study[wanted], values[wanted])
    return pairs


def _collaboration_array(snap: Snapshot, mask: np.ndarray) -> np.ndarray:
    studies, codes = snap.rows("collaboration_pairs")
    return np.bincount(codes[mask[studies]], minlength=64 * 64)


def _collaboration_list(snap: Snapshot, counts: np.ndarray) -> list[tuple[str, str, int]]:
    pairs = []
    for code in np.flatnonzero(counts):
        a, b = divmod(int(code), 64)
        names = sorted((str(snap.region_names[a]), str(snap.region_names[b])))
        pairs.append((names[0], names[1], int(counts[code])))
    return pairs


def collaboration_counts(snap: Snapshot, mask: np.ndarray) -> list[tuple[str, str, int]]:
    return _collaboration_list(snap, _collaboration_array(snap, mask))


def collaboration_for(
    snap: Snapshot, measure: str, start: date, end: date, scope
) -> list[tuple[str, str, int]]:
    """``collaboration_counts`` of the studies the measure counts in the period, kept
    with the loaded data like ``breakdown_counts``."""
    key = ("collaboration", measure, start.toordinal(), end.toordinal(), _scope_key(scope))
    result = snap._results.get(key)
    if result is None:
        result = _collaboration_array(snap, counted(snap, measure, start, end, scope))
        _remember(snap, key, result)
    return _collaboration_list(snap, result)
