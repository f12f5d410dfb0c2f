"""Counting the measures fast: the statistics' data held in memory as arrays.

The definitions (``definitions.studies``) are a database query per number, which at
half a million studies takes far longer than a dashboard may. Here the same data —
each study's state and dimensions, its regions, care providers, units and condition
areas, and its status periods — is loaded once into NumPy arrays, and every count is
an array operation of a few milliseconds.

The loaded data stays exact: it is tagged with the audit chain's head (sequence number
and hash), which changes with every write to any record, and it is reloaded whenever
the head has moved. A test checks every measure against the database query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.db import connection

from trialnode.audit.models import AuditChainHead
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

STATUS_CODES = {status: code for code, status in enumerate(Status.values)}
STUDY_TYPES = ["", *StudyType.values]
SPONSOR_TYPES = ["", *SponsorType.values]
PHASES = ["", *Phase.values]
CHAPTERS = [chapter for chapter, *_range in ICD10_CHAPTERS]
FAR_FUTURE = date(9999, 12, 31).toordinal()
ONGOING_CODES = np.asarray([STATUS_CODES[s] for s in ONGOING_STATUSES], dtype=np.int16)


def _codes(values, vocabulary: list[str]) -> np.ndarray:
    lookup = {value: code for code, value in enumerate(vocabulary)}
    return np.fromiter((lookup.get(v or "", 0) for v in values), dtype=np.int16)


def _pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (left, right) pairs."""
    if not len(left):
        return left.astype(np.int64), right.astype(np.int64)
    keys = np.unique(left.astype(np.int64) * (1 << 20) + right.astype(np.int64))
    return keys >> 20, keys & ((1 << 20) - 1)


@dataclass
class Snapshot:
    """Everything the measures count, as arrays indexed by study position."""

    version: tuple[int, str]
    study_pk: np.ndarray
    published: np.ndarray
    staff_visible: np.ndarray
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
    region_names: list[str]
    provider_slugs: list[str]
    unit_names: list[str]
    cancer_keys: list[str]
    _populations: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.study_pk)

    def positions(self, pks) -> np.ndarray:
        return np.searchsorted(self.study_pk, np.asarray(list(pks), dtype=np.int64))


def _head() -> tuple[int, str]:
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    return head or (0, "")


def _rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _load(version: tuple[int, str]) -> Snapshot:
    from trialnode.statistics.definitions import cancer_area

    studies = _rows(
        "SELECT id, registration_state, duplicate_of_id IS NULL, study_type, sponsor_type, "
        "phase FROM studies_study ORDER BY id"
    )
    columns = list(zip(*studies, strict=True)) if studies else [()] * 6
    study_pk = np.asarray(columns[0], dtype=np.int64)
    state = np.asarray(columns[1], dtype=object)
    single = np.asarray(columns[2], dtype=bool)
    published = (state == RegistrationState.PUBLISHED) & single
    staff_visible = (state != RegistrationState.DRAFT) & single

    def position(values) -> np.ndarray:
        return np.searchsorted(study_pk, np.asarray(values, dtype=np.int64))

    regions = list(Region.objects.order_by("pk").values_list("pk", "slug", "name"))
    region_index = {pk: i for i, (pk, _s, _n) in enumerate(regions)}
    providers = list(CareProvider.objects.order_by("pk").values_list("pk", "slug"))
    provider_index = {pk: i + 1 for i, (pk, _s) in enumerate(providers)}
    unit_names = sorted(set(Unit.objects.values_list("name", flat=True)))
    unit_by_name = {name: i + 1 for i, name in enumerate(unit_names)}
    unit_index = {pk: unit_by_name[name] for pk, name in Unit.objects.values_list("pk", "name")}
    sites = _rows("SELECT study_id, region_id, care_provider_id, unit_id FROM studies_studysite")
    site_study = position([row[0] for row in sites])
    site_region = np.fromiter((region_index[row[1]] for row in sites), dtype=np.int64)
    site_provider = np.fromiter((provider_index.get(row[2], 0) for row in sites), np.int64)
    site_unit = np.fromiter((unit_index.get(row[3], 0) for row in sites), np.int64)

    conditions = _rows(
        "SELECT study_id, chapter, icd10_code FROM studies_studycondition WHERE chapter <> ''"
    )
    chapter_index = {chapter: i for i, chapter in enumerate(CHAPTERS)}
    cond_study = position([row[0] for row in conditions])
    cond_chapter = np.fromiter((chapter_index[row[1]] for row in conditions), dtype=np.int64)
    cancer_keys: list[str] = []
    cancer_codes = []
    cancer_studies = []
    for row, study in zip(conditions, cond_study, strict=True):
        if row[1] == "II":
            key = cancer_area(row[2])
            if key not in cancer_keys:
                cancer_keys.append(key)
            cancer_codes.append(cancer_keys.index(key))
            cancer_studies.append(study)

    region_pairs = _pairs(site_study, site_region)
    collaboration_pairs = _region_pairs_per_study(*region_pairs)

    if connection.vendor == "postgresql":
        start_day = "start - DATE '0001-01-01' + 1"
        end_day = "\"end\" - DATE '0001-01-01' + 1"
    else:
        start_day = "CAST(julianday(start) - 1721424.5 AS INTEGER)"
        end_day = 'CAST(julianday("end") - 1721424.5 AS INTEGER)'
    span_sql = (
        f"SELECT study_id, status, {start_day}, COALESCE({end_day}, {FAR_FUTURE}), "
        "first_ongoing FROM studies_statusspan"
    )
    spans = _rows(span_sql)
    span_columns = list(zip(*spans, strict=True)) if spans else [()] * 5
    return Snapshot(
        version=version,
        study_pk=study_pk,
        published=published,
        staff_visible=staff_visible,
        study_type=_codes(columns[3], STUDY_TYPES),
        sponsor_type=_codes(columns[4], SPONSOR_TYPES),
        phase=_codes(columns[5], PHASES),
        region_pairs=region_pairs,
        provider_pairs=_pairs(site_study, site_provider),
        sites=(site_study, site_region, site_provider, site_unit),
        unit_pairs=_pairs(site_study, site_unit),
        chapter_pairs=_pairs(cond_study, cond_chapter),
        cancer_pairs=_pairs(np.asarray(cancer_studies, dtype=np.int64), np.asarray(cancer_codes)),
        collaboration_pairs=collaboration_pairs,
        measure_spans=_measure_spans(
            position(span_columns[0]),
            np.fromiter((STATUS_CODES[s] for s in span_columns[1]), dtype=np.int16),
            np.asarray(span_columns[2], dtype=np.int64),
            np.asarray(span_columns[3], dtype=np.int64),
            np.asarray(span_columns[4], dtype=bool),
        ),
        region_slugs=[slug for _pk, slug, _name in regions],
        region_names=[name for _pk, _slug, name in regions],
        provider_slugs=["", *(slug for _pk, slug in providers)],
        unit_names=["", *unit_names],
        cancer_keys=cancer_keys,
    )


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


def snapshot() -> Snapshot:
    """The loaded data, reloaded first when anything was written since it was loaded."""
    global _current
    version = _head()
    current = _current
    if current is not None and current.version == version:
        return current
    with _lock:
        if _current is not None and _current.version == version:
            return _current
        for _attempt in range(3):
            loaded = _load(version)
            after = _head()
            if after == version:
                _current = loaded
                return loaded
            version = after
        return loaded  # still changing: exact as of its load, not kept


def counted(snap: Snapshot, measure: str, start: date, end: date, scope) -> np.ndarray:
    """A mask over studies: those the measure counts in the period, within the scope."""
    if measure not in snap.measure_spans:
        raise ValueError(f"unknown measure {measure!r}")
    a, b = start.toordinal(), end.toordinal()
    studies, starts, ends = snap.measure_spans[measure]
    if measure in ("ongoing", "recruiting"):
        # Periods that began by the last day and had not ended before the first.
        stop = np.searchsorted(starts, b, side="right")
        selected = studies[:stop][ends[:stop] > a]
    else:
        # Periods that began within the days.
        selected = studies[np.searchsorted(starts, a) : np.searchsorted(starts, b, side="right")]
    hit = np.zeros(snap.size, dtype=bool)
    hit[selected] = True
    return hit & population(snap, scope)


def _in_regions(snap: Snapshot, region_positions: set[int]) -> np.ndarray:
    studies, regions = snap.region_pairs
    mask = np.zeros(snap.size, dtype=bool)
    mask[studies[np.isin(regions, list(region_positions))]] = True
    return mask


def population(snap: Snapshot, scope) -> np.ndarray:
    key = (
        scope.regions,
        scope.study_type,
        scope.sponsor_type,
        scope.phase,
        scope.unpublished_in_regions,
    )
    cached = snap._populations.get(key)
    if cached is not None:
        return cached
    region_position = {slug: i for i, slug in enumerate(snap.region_slugs)}
    mask = snap.published.copy()
    if scope.unpublished_in_regions is not None:
        pks = dict(Region.objects.values_list("pk", "slug"))
        own = {region_position[pks[pk]] for pk in scope.unpublished_in_regions if pk in pks}
        mask |= snap.staff_visible & _in_regions(snap, own)
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
    snap._populations[key] = mask
    return mask


def counts_by_value(snap: Snapshot, by: str, mask: np.ndarray, scope) -> dict[str, int]:
    """Counted studies per value of a dimension, keyed as the definitions key them."""
    if by in ("study_type", "sponsor_type", "phase"):
        values = getattr(snap, by)[mask]
        vocabulary = {"study_type": STUDY_TYPES, "sponsor_type": SPONSOR_TYPES, "phase": PHASES}
        counts = np.bincount(values, minlength=len(vocabulary[by]))
        return {vocabulary[by][i]: int(n) for i, n in enumerate(counts) if n}
    pairs, keys = {
        "region": (snap.region_pairs, snap.region_slugs),
        "care_provider": (snap.provider_pairs, snap.provider_slugs),
        "unit": (snap.unit_pairs, snap.unit_names),
        "condition_area": (snap.chapter_pairs, CHAPTERS),
        "cancer_area": (snap.cancer_pairs, snap.cancer_keys),
    }[by]
    studies, values = pairs
    if scope.regions and by in ("care_provider", "unit", "region"):
        studies, values = _pairs_within(snap, by, scope.regions)
    selected = mask[studies]
    counts = np.bincount(values[selected], minlength=len(keys))
    result = {keys[i]: int(n) for i, n in enumerate(counts) if n}
    if by == "condition_area":
        classified = np.zeros(snap.size, dtype=bool)
        classified[studies] = True
        unknown = int((mask & ~classified).sum())
        if unknown:
            result[""] = unknown
    return result


def _pairs_within(snap: Snapshot, by: str, regions: tuple[str, ...]):
    """Distinct (study, value) pairs over the sites in these regions only."""
    site_study, site_region, site_provider, site_unit = snap.sites
    wanted = np.isin(site_region, [snap.region_slugs.index(slug) for slug in regions])
    values = {"region": site_region, "care_provider": site_provider, "unit": site_unit}[by]
    return _pairs(site_study[wanted], values[wanted])


def collaboration_counts(snap: Snapshot, mask: np.ndarray) -> list[tuple[str, str, int]]:
    studies, codes = snap.collaboration_pairs
    counts = np.bincount(codes[mask[studies]], minlength=64 * 64) if len(codes) else []
    pairs = []
    for code in np.flatnonzero(counts):
        a, b = divmod(int(code), 64)
        names = sorted((snap.region_names[a], snap.region_names[b]))
        pairs.append((names[0], names[1], int(counts[code])))
    return pairs
