"""Upserting public registry records as studies, whatever the registry.

Each registry (ClinicalTrials.gov, CTIS) provides a ``RegistryFormat``: which
study field holds its identifier, how to read that identifier from a record and
how to map a record to a study with its rows. The pipeline here is shared: a
record identical to the one imported before is skipped, new records are written
in batches, changed ones replace the previous version (leaving audit events), and
a bad record is reported with its identifier and reason, never fatal.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import BooleanField, QuerySet, prefetch_related_objects
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.audit import trail
from trialnode.core.collection import rare_collections
from trialnode.core.copyinsert import copy_insert
from trialnode.core.labels import field_label
from trialnode.organisations.models import CareProvider, Locality, Region, normalise_name
from trialnode.studies import search, searchrows
from trialnode.studies.concepts import condition_areas_of_new
from trialnode.studies.models import (
    RegistrationState,
    Study,
    StudyCondition,
    StudyContact,
    StudyIntervention,
    StudyRow,
    StudySite,
    StudyStatusChange,
)
from trialnode.studies.services import replace_child_rows
from trialnode.studies.spans import spans_of_new
from trialnode.studies.validators import icd10_chapter


class RecordError(ValueError):
    """A record that cannot be imported; the message says why."""


class ReferenceDataMissing(RuntimeError):
    """The database has no regions and localities to place sites with: nothing is imported."""

    def __init__(self) -> None:
        super().__init__(
            "The database has no reference data (regions, care providers, localities), so "
            "no site could be placed. Run `trialnode manage load_reference_data` first; "
            "nothing was imported."
        )


def require_reference_data() -> None:
    if not (Region.objects.exists() and Locality.objects.exists()):
        raise ReferenceDataMissing


class SiteMatcher:
    """Places a registry location in a Swedish region and, when possible, at a care provider."""

    def __init__(self) -> None:
        self.providers = [
            (name, provider)
            for provider in CareProvider.objects.filter(is_active=True)
            for name in provider.match_names()
        ]
        self.localities = {loc.normalised_name: loc.region_id for loc in Locality.objects.all()}
        self.provider_regions = {p.pk: p.region_id for _n, p in self.providers}
        self.providers_by_key = {p.pk: p for _n, p in self.providers}
        self.matched: dict[tuple[str, str], tuple[int | None, CareProvider | None]] = {}
        """The places found so far: a bulk file names the same sites again and again."""

    MAX_MATCHED = 100_000

    def match(self, facility: str, city: str) -> tuple[int | None, CareProvider | None]:
        place = (facility, city)
        found = self.matched.get(place)
        if found is None:
            if len(self.matched) >= self.MAX_MATCHED:
                self.matched.clear()
            found = self.matched[place] = self.search(facility, city)
        return found

    def search(self, facility: str, city: str) -> tuple[int | None, CareProvider | None]:
        """``match`` without the places found before."""
        facility_norm = normalise_name(facility or "")
        city_norm = normalise_name(city or "")
        best: tuple[int, CareProvider] | None = None
        for name, provider in self.providers:
            if name and name in facility_norm and (best is None or len(name) > best[0]):
                best = (len(name), provider)
        if best:
            return best[1].region_id, best[1]
        return self.localities.get(city_norm), None


def dig(data: Any, *path: str | int, default: Any = None) -> Any:
    """``data[a][b]…`` through objects and lists, or ``default`` where a step is missing."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or len(data) <= key:
                return default
        elif not isinstance(data, dict):
            return default
        data = data[key] if isinstance(key, int) else data.get(key)
        if data is None:
            return default
    return data


@dataclass
class MappedStudy:
    study: Study
    sites: list[StudySite] = field(default_factory=list)
    conditions: list[StudyCondition] = field(default_factory=list)
    interventions: list[StudyIntervention] = field(default_factory=list)
    contacts: list[StudyContact] = field(default_factory=list)
    status_date: date | None = None
    texts: tuple[str, str] | None = None
    """A new study's search document (``search.document_texts``) and its words, made
    where it was mapped (see ``premap``)."""
    words: set[str] = field(default_factory=set)
    entered_here: dict[str, list[Any]] = field(default_factory=dict)
    """The stored study's rows that were entered here, by kind: a new version of the
    record keeps them (see ``replace_child_rows``)."""


@dataclass(frozen=True)
class RegistryFormat:
    """How one registry's records become studies.

    ``maybe_in_sweden`` is a cheap look at a raw record: False when it certainly has no
    site in Sweden, so that a bulk file of the world's studies is skipped through fast.
    """

    source: str
    key_field: str
    record_key: Callable[[Any], str]
    map_record: Callable[[dict[str, Any], SiteMatcher], MappedStudy]
    maybe_in_sweden: Callable[[dict[str, Any]], bool]
    fields: frozenset[str]
    """The study's columns its records set (attribute names). A new version of a record
    writes those that changed and leaves the others as they are: a Swedish title or an
    EPM number that the node added, its review and its publication."""
    outside_sweden_key: Callable[[bytes], str | None] | None = None
    """An even cheaper look at a record's raw JSON: its key when it is certainly outside
    Sweden, read without parsing it (see ``Unparsed``)."""


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    outside_sweden: int = 0
    unplaced_sites: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    written: list[int] = field(default_factory=list, repr=False, compare=False)
    """The studies created or changed, for what follows an import (links, merges)."""

    @property
    def seen(self) -> int:
        return (
            self.created + self.updated + self.unchanged + self.outside_sweden + len(self.rejected)
        )

    def add(self, other: ImportSummary) -> None:
        """Count ``other``'s records in this summary too."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.outside_sweden += other.outside_sweden
        self.unplaced_sites += other.unplaced_sites
        self.rejected.extend(other.rejected)
        self.written.extend(other.written)


class Unreadable(dict):
    """Stands in for input that is not a JSON record, so it is reported as rejected."""


class Unparsed(dict):
    """A record not parsed because its raw JSON shows it is outside Sweden
    (``RegistryFormat.outside_sweden_key``): counted as such, or read whole when a study
    with its key is already stored (it is then updated, as any stored record is)."""

    def __init__(self, key: str, raw: bytes) -> None:
        super().__init__(key=key)
        self.raw = raw


def not_json(exc: orjson.JSONDecodeError) -> str:
    """Why a line or record is not JSON, with where in it (the decoder's own words)."""
    return _("not JSON at character %(position)d (%(error)s)") % {
        "position": exc.pos + 1,
        "error": exc.msg,
    }


def _key(record: dict[str, Any], registry: RegistryFormat) -> str:
    return record["key"] if isinstance(record, Unparsed) else registry.record_key(record)


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


# The columns an import writes besides a registry's own ``fields``.
IMPORT_FIELDS = ("source_hash", "version")


def _save(mapped: MappedStudy, existing: Study | None, registry: RegistryFormat) -> bool:
    """Insert or replace the record with this registry number; True when it was new.

    A changed record is saved as a change of the stored one, so the trail records a diff:
    only the registry's ``fields`` that changed are written, the node's are kept; its
    rows are replaced as an edit replaces them: unchanged rows are kept.
    """
    study = mapped.study
    created = existing is None
    if existing is not None:
        written = {*registry.fields, *IMPORT_FIELDS}
        for name in _attnames():
            if name not in written:
                setattr(study, name, getattr(existing, name))
        study._state.adding = False
        study._audit_loaded = trail.snapshot(existing)
        study.version = existing.version + 1
        changed = [name for name in written if getattr(study, name) != getattr(existing, name)]
        study.save(update_fields=[*changed, "updated_at"])
    else:
        if settings.TRIALNODE_IMPORT_REVIEW:
            study.registration_state = RegistrationState.SUBMITTED
            study.submitted_at = timezone.now()
        study.save()
    if existing is None or existing.status != study.status:
        StudyStatusChange.objects.create(
            study=study,
            status=study.status,
            effective_date=mapped.status_date or timezone.localdate(),
        )
    mapped.entered_here = replace_child_rows(
        study,
        {
            "sites": mapped.sites,
            "conditions": mapped.conditions,
            "interventions": mapped.interventions,
            "contacts": mapped.contacts,
        },
        from_registry=True,
    )
    # The rows read for the comparison (``_read_child_rows``) are no longer the stored ones;
    # dropped from both studies, they are freed at once (each refers back to its study).
    study.__dict__.pop("_prefetched_objects_cache", None)
    if existing is not None:
        existing.__dict__.pop("_prefetched_objects_cache", None)
    return created


CHILD_ROWS = ("sites", "conditions", "interventions", "contacts")


def _read_child_rows(changed: list[tuple[MappedStudy, Study]]) -> None:
    """The stored child rows of the changed studies, read for all of them at once (one
    statement per kind of row, not per study) for ``replace_child_rows`` to compare the
    record's rows with."""
    prefetch_related_objects([previous for _mapped, previous in changed], *CHILD_ROWS)
    for mapped, previous in changed:
        mapped.study._prefetched_objects_cache = {  # type: ignore[attr-defined]
            name: previous._prefetched_objects_cache[name]  # type: ignore[attr-defined]
            for name in CHILD_ROWS
        }


@cache
def _attnames() -> tuple[str, ...]:
    return tuple(f.attname for f in Study._meta.concrete_fields)


BATCH_SIZE = 250
MAPPING_PROCESS_AFTER = 500
"""Records read before the rest of a file is read and mapped in a second process
(``interop.mapping``): a short import does without one."""


@dataclass(frozen=True)
class Context:
    """What stays the same for every record of one import."""

    registry: RegistryFormat
    matcher: SiteMatcher
    regions: frozenset[int] | None
    """The regions whose studies the importing user may create or change; None for any
    (the command line, the registry sync, a national role)."""


Progress = Callable[[ImportSummary, float], None]


def import_records(
    records: Iterable[dict[str, Any]],
    registry: RegistryFormat,
    *,
    regions: frozenset[int] | None = None,
    progress: Progress | None = None,
    position: Callable[[], float] | None = None,
    batch_size: int = BATCH_SIZE,
    mapping_process_after: int | None = MAPPING_PROCESS_AFTER,
) -> ImportSummary:
    """Import records in batches; a bad record is reported, never fatal.

    A record identical to the one imported before (same hash) is skipped: re-importing
    the same file changes nothing. New records of a batch are written together (with
    their audit events); if a batch fails as a whole, its records are retried one by
    one, each in its own transaction, so that only the bad ones are rejected and each
    record is written whole or not at all. With ``regions``, a record may create or
    change a study only when both the stored study (if any) and the record have a site
    in one of them; the others are rejected and listed.

    After ``mapping_process_after`` records (None: never), the rest are read, parsed and
    mapped in a second process while this one writes (see ``interop.mapping``).
    ``progress`` is called after each batch with the summary so far and ``position()``,
    the share of the input read.
    """
    require_reference_data()
    # Records are large trees of short-lived objects (see core.collection).
    with rare_collections():
        context = Context(registry=registry, matcher=SiteMatcher(), regions=regions)
        summary = ImportSummary()
        writes = _Writes()
        where = position or (lambda: 0.0)
        read_share = 0.0

        def batch_done(fraction: float) -> None:
            nonlocal read_share
            read_share = fraction
            if len(writes.prepared) >= batch_size:
                _write(writes, context, summary)
            if progress is not None:
                progress(summary, fraction)

        batch: list[dict[str, Any]] = []
        iterator = iter(records)
        for read, record in enumerate(iterator, start=1):
            batch.append(record)
            if len(batch) < batch_size:
                continue
            _prepare_batch(batch, context, summary, writes)
            batch = []
            batch_done(where())
            if mapping_process_after is not None and read >= mapping_process_after:
                mapping_process_after = None  # asked once
                if _map_the_rest_elsewhere(
                    iterator, context, where, batch_size, summary, writes, batch_done
                ):
                    break
        if batch:
            _prepare_batch(batch, context, summary, writes)
        _write(writes, context, summary)
        search.analyze_after_new_studies(summary.created)
        if progress is not None:
            # After the mapping process, this process's ``position`` is where it stopped reading.
            progress(summary, max(read_share, where()))
        return summary


def _map_the_rest_elsewhere(
    records: Iterator[dict[str, Any]],
    context: Context,
    position: Callable[[], float],
    batch_size: int,
    summary: ImportSummary,
    writes: _Writes,
    batch_done: Callable[[float], None],
) -> bool:
    """Read and map the rest of ``records`` in the mapping process and place them here,
    calling ``batch_done`` after each batch; False (nothing read) when this import may
    not fork one."""
    from trialnode.interop import mapping

    if not mapping.available(context):
        return False
    batches = mapping.mapped_elsewhere(records, context, position, batch_size)
    with closing(batches):
        for mapped in batches:
            summary.outside_sweden += mapped.outside_sweden
            summary.unchanged += mapped.unchanged
            _place_batch(mapped.items, mapped.blobs, context, summary, writes)
            batch_done(mapped.fraction)
    return True


@dataclass
class _Writes:
    """What the records read so far will write, gathered until there is a batch of it
    (in a file of the world's studies most records write nothing)."""

    retries: list[dict[str, Any] | bytes] = field(default_factory=list)
    """Each record again, to be imported alone if its batch fails: as read, or as its
    ``Premapped`` pickled when it was mapped in the mapping process."""
    prepared: list[tuple[MappedStudy, Study | None]] = field(default_factory=list)


MAPPED, OUTSIDE, UNCHANGED, REJECTED = "mapped", "outside", "unchanged", "rejected"


@dataclass
class Premapped:
    """One record read, checked and mapped without the database (in this process or in
    the mapping process): its study with rows when ``outcome`` is MAPPED, else how it is
    counted (OUTSIDE Sweden, UNCHANGED, REJECTED with its ``reason``)."""

    key: str
    outcome: str
    mapped: MappedStudy | None = None
    reason: str = ""


def premap(
    record: dict[str, Any],
    registry: RegistryFormat,
    matcher: SiteMatcher,
    stored: Mapping[str, str],
) -> Premapped:
    """Read and map one record, knowing the registry numbers already stored and their
    records' hashes (``stored``)."""
    if isinstance(record, Unreadable):
        return Premapped(record["where"], REJECTED, reason=record["error"])
    key = _key(record, registry)
    known = key in stored
    if isinstance(record, Unparsed):
        if not known:
            return Premapped(key, OUTSIDE)
        try:
            record = orjson.loads(record.raw)
        except orjson.JSONDecodeError as exc:
            return Premapped(key, REJECTED, reason=not_json(exc))
    if not known and not registry.maybe_in_sweden(record):
        return Premapped(key, OUTSIDE)
    try:
        digest = record_hash(record)
        if known and stored[key] == digest:
            return Premapped(key, UNCHANGED)
        mapped = registry.map_record(record, matcher)
        if not known and not mapped.study.conducted_in_sweden:
            return Premapped(key, OUTSIDE)
        mapped.study.source_hash = digest
        mapped.study.full_clean(validate_unique=False, validate_constraints=False)
    except (RecordError, ValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return Premapped(key, REJECTED, reason=_message(exc))
    if not known:
        # A stored study's document is made when it is saved (with the node's own fields).
        _new_study_texts(mapped)
    return Premapped(key, MAPPED, mapped)


def _place(
    item: Premapped, previous: Study | None, context: Context, summary: ImportSummary
) -> tuple[MappedStudy, Study | None] | None:
    """What a premapped record writes, given the study now stored with its number; None
    when it writes nothing (counted: unchanged, outside Sweden or rejected). A stored
    record that no longer has a site in Sweden is updated and kept."""
    if item.outcome == REJECTED:
        summary.rejected.append((item.key, item.reason))
        return None
    if item.outcome == OUTSIDE:
        summary.outside_sweden += 1
        return None
    mapped = item.mapped
    if item.outcome == UNCHANGED or mapped is None:
        summary.unchanged += 1
        return None
    # Mapped in the mapping process, the record was compared with the stored ones as they
    # were when the import began: compared again with what is stored now.
    if previous is not None and previous.source_hash == mapped.study.source_hash:
        summary.unchanged += 1
        return None
    if previous is None and not mapped.study.conducted_in_sweden:
        summary.outside_sweden += 1
        return None
    if previous is not None:
        _keep_placements_and_codes(mapped, previous, context.matcher)
    try:
        _check_regions(mapped, previous, context.regions)
    except RecordError as exc:
        summary.rejected.append((item.key, str(exc)))
        return None
    summary.unplaced_sites += sum(1 for site in mapped.sites if site.region_id is None)
    return mapped, previous


def _keep_placements_and_codes(mapped: MappedStudy, previous: Study, matcher: SiteMatcher) -> None:
    """A site the registry lists again stays where the node placed it: the care provider
    (and so the region) a coordinator named where the import found none, and the unit. A
    condition it lists again keeps the ICD-10-SE code the node gave it."""
    coded = {c.text: c.icd10_code for c in previous.conditions.all() if c.icd10_code}
    for condition in mapped.conditions:
        if not condition.icd10_code and condition.text in coded:
            condition.icd10_code = coded[condition.text]
    placed = {
        (site.facility_name, site.city): site
        for site in previous.sites.all()
        if site.care_provider_id is not None or site.unit_id is not None
    }
    for site in mapped.sites:
        stored = placed.get((site.facility_name, site.city))
        if stored is None:
            continue
        if site.care_provider_id is None and stored.care_provider_id is not None:
            provider = matcher.providers_by_key.get(stored.care_provider_id)
            if provider is not None:
                site.care_provider = provider
            else:  # no longer active: kept all the same
                site.care_provider_id = stored.care_provider_id
            site.region_id = stored.region_id
        if site.unit_id is None:
            site.unit_id = stored.unit_id


def _check_regions(
    mapped: MappedStudy, previous: Study | None, regions: frozenset[int] | None
) -> None:
    if regions is None:
        return
    # In the language of the job page the uploading coordinator reads them on.
    if previous is not None and not {s.region_id for s in previous.sites.all()} & regions:
        raise RecordError(
            _(
                "the stored study has no site in your regions; its coordinators or the "
                "registry sync update it"
            )
        )
    if not {site.region_id for site in mapped.sites} & regions:
        raise RecordError(_("the record has no site in your regions"))


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            # Field labels, not column names: the reasons are read by coordinators.
            return "; ".join(
                (f"{field_label(Study, name)}: " if name != NON_FIELD_ERRORS else "")
                + " ".join(str(m) for m in messages)
                for name, messages in exc.message_dict.items()
            )
        return "; ".join(str(m) for m in exc.messages)
    return str(exc)


def _existing(keys: Iterable[str], context: Context) -> dict[str, Study]:
    """The stored studies with these registry numbers, by number."""
    registry = context.registry
    wanted = sorted(set(keys))
    found = Study.objects.filter(source=registry.source)
    if connection.vendor == "postgresql":
        # One array parameter instead of a list of hundreds, most of them not stored.
        column = next(f.column for f in Study._meta.concrete_fields if f.name == registry.key_field)
        found = found.filter(
            RawSQL(f'"studies_study"."{column}" = ANY(%s)', [wanted], output_field=BooleanField())
        )
    else:
        found = found.filter(**{f"{registry.key_field}__in": wanted})
    # The sites: to check the regions of an upload, and to keep where the node placed them;
    # the conditions: to keep the codes the node gave them.
    found = found.prefetch_related("sites", "conditions")
    return {getattr(study, registry.key_field): study for study in found}


def _hashes(existing: dict[str, Study]) -> dict[str, str]:
    return {key: study.source_hash for key, study in existing.items()}


def _prepare_batch(
    records: list[dict[str, Any]], context: Context, summary: ImportSummary, writes: _Writes
) -> None:
    """Map the records of one read batch; those that write something join ``writes``, the
    others are counted (unchanged, outside Sweden, rejected)."""
    registry = context.registry
    existing = _existing(
        (_key(record, registry) for record in records if not isinstance(record, Unreadable)),
        context,
    )
    stored = _hashes(existing)
    for record in records:
        item = premap(record, registry, context.matcher, stored)
        prepared = _place(item, existing.get(item.key), context, summary)
        if prepared is not None:
            writes.retries.append(record)
            writes.prepared.append(prepared)


def _place_batch(
    items: list[Premapped],
    blobs: list[bytes],
    context: Context,
    summary: ImportSummary,
    writes: _Writes,
) -> None:
    """``_prepare_batch`` for records premapped in the mapping process (``blobs``: each
    pickled, to be read again if its batch fails)."""
    existing = _existing((item.key for item in items if item.outcome == MAPPED), context)
    for item, blob in zip(items, blobs, strict=True):
        prepared = _place(item, existing.get(item.key), context, summary)
        if prepared is not None:
            writes.retries.append(blob)
            writes.prepared.append(prepared)


def _write(writes: _Writes, context: Context, summary: ImportSummary) -> None:
    """Write the gathered records in one transaction; if that fails, each record again in
    its own, so that only the bad ones are rejected."""
    registry = context.registry
    retries, prepared = writes.retries, writes.prepared
    writes.retries, writes.prepared = [], []
    if not prepared:
        return
    new = [mapped for mapped, previous in prepared if previous is None]
    changed = [(mapped, previous) for mapped, previous in prepared if previous is not None]
    try:
        if len({getattr(mapped.study, registry.key_field) for mapped in new}) != len(new):
            raise ValueError("the same registry number twice in one batch")
        with transaction.atomic():
            _create_many(new)
            # Each study's search row is rewritten once, not after each of its saves, and
            # the chain advances once for all their events.
            with trail.appends_gathered(), searchrows.refreshes_deferred():
                _read_child_rows(changed)
                for mapped, previous in changed:
                    _save(mapped, previous, registry)
                search.reindex_studies(
                    [mapped.study for mapped, _previous in changed],
                    texts=[_texts(mapped) for mapped, _previous in changed],
                )
            search.index_new_studies(
                [mapped.study for mapped in new],
                texts=[_new_study_texts(mapped) for mapped in new],
                vocabulary=set().union(*(mapped.words for mapped in new)),
            )
    except (DatabaseError, ValidationError, ValueError):
        # Counted again, one by one, as they are now.
        summary.unplaced_sites -= sum(
            1 for mapped, _previous in prepared for site in mapped.sites if site.region_id is None
        )
        for retry in retries:
            _import_one(retry, context, summary)
        return
    summary.created += len(new)
    summary.updated += len(changed)
    summary.written.extend(mapped.study.pk for mapped, _previous in prepared)


def _texts(mapped: MappedStudy) -> tuple[str, str]:
    """The study's search document, from the rows in hand: those the database now holds
    (``replace_child_rows`` keeps a stored row where it equals the record's, and those
    entered here)."""
    kept = mapped.entered_here
    return search.document_texts(
        mapped.study,
        conditions=[*mapped.conditions, *kept.get("conditions", [])],
        interventions=[*mapped.interventions, *kept.get("interventions", [])],
        sites=[*mapped.sites, *kept.get("sites", [])],
    )


def _new_study_texts(mapped: MappedStudy) -> tuple[str, str]:
    """A new study's search texts, made once (where it was mapped, or now), with their
    words in ``mapped.words``."""
    if mapped.texts is None:
        mapped.texts = _texts(mapped)
        mapped.words = search.vocabulary_of(*mapped.texts)
    return mapped.texts


def _import_one(retry: dict[str, Any] | bytes, context: Context, summary: ImportSummary) -> None:
    """One record in its own transaction (the fallback when its batch could not be saved):
    read again as it came (a record, or a record premapped in the mapping process)."""
    registry = context.registry
    counted = ImportSummary()
    if isinstance(retry, bytes):
        item: Premapped = pickle.loads(retry)
        existing = _existing([item.key], context)
    else:
        existing = _existing([_key(retry, registry)], context)
        item = premap(retry, registry, context.matcher, _hashes(existing))
    prepared = _place(item, existing.get(item.key), context, counted)
    if prepared is None:
        summary.add(counted)
        return
    mapped, previous = prepared
    try:
        with transaction.atomic(), trail.appends_gathered(), searchrows.refreshes_deferred():
            created = _save(mapped, previous, registry)
            search.index_studies([mapped.study.pk])
    except (DatabaseError, ValidationError, ValueError) as exc:
        summary.rejected.append((getattr(mapped.study, registry.key_field), _message(exc)))
        return
    if created:
        counted.created += 1
    else:
        counted.updated += 1
    counted.written.append(mapped.study.pk)
    summary.add(counted)


def _create_many(new: list[MappedStudy]) -> None:
    """Insert new registry studies, their rows, status periods and condition areas with
    one statement per table, and their audit events with one advance of the chain."""
    if not new:
        return
    today = timezone.localdate()
    for mapped in new:
        if settings.TRIALNODE_IMPORT_REVIEW:
            mapped.study.registration_state = RegistrationState.SUBMITTED
            mapped.study.submitted_at = timezone.now()
    events = insert_audited([mapped.study for mapped in new])
    rows: dict[type[StudyRow], list[Any]] = {}
    for mapped in new:
        study = mapped.study
        rows.setdefault(StudyStatusChange, []).append(
            StudyStatusChange(
                study=study, status=study.status, effective_date=mapped.status_date or today
            )
        )
        children: list[StudyRow] = [
            *mapped.sites,
            *mapped.conditions,
            *mapped.interventions,
            *mapped.contacts,
        ]
        for child in children:
            child.study = study
            if isinstance(child, StudyCondition):
                child.chapter = icd10_chapter(child.icd10_code) if child.icd10_code else ""
            rows.setdefault(type(child), []).append(child)
    for instances in rows.values():
        events += insert_audited(instances)
    trail.append(events)
    changes = {change.study_id: change for change in rows[StudyStatusChange]}
    insert_derived(
        spans_of_new((m.study, [(changes[m.study.pk].effective_date, m.study.status)]) for m in new)
    )
    insert_derived(condition_areas_of_new((m.study, m.conditions) for m in new))


def insert_audited(instances: list[Any]) -> list[trail.Entry]:
    """Insert rows of one audited model (COPY on PostgreSQL) and return their creation
    events, for the caller to append with the rest of its batch (in its transaction)."""
    if not instances:
        return []
    insert_derived(instances)
    return trail.created_entries(instances)


def insert_derived(instances: list[Any]) -> None:
    """Insert rows of one model without events: derived rows, or audited rows whose
    events the caller appends (``insert_audited``)."""
    if not instances:
        return
    if connection.vendor == "postgresql":
        copy_insert(instances)
    else:
        # The plain queryset: the events are the caller's (see insert_audited).
        QuerySet(type(instances[0])).bulk_create(instances, batch_size=500)
