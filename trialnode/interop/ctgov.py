"""ClinicalTrials.gov API v2 records → trialnode studies.

The mapping covers identification, status, sponsor, design, conditions,
interventions, enrolment, eligibility, dates, contacts and the Swedish
locations (as sites placed in a region, linked to a known care provider when
its name matches).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from trialnode.audit import trail
from trialnode.organisations.models import CareProvider, Locality, normalise_name
from trialnode.studies import search
from trialnode.studies.models import (
    InterventionType,
    RegistrationState,
    Sex,
    Source,
    SponsorType,
    Status,
    Study,
    StudyCondition,
    StudyContact,
    StudyIntervention,
    StudySite,
    StudyStatusChange,
    StudyType,
)
from trialnode.studies.validators import EU_CT_RE, EUDRACT_RE, NCT_RE, icd10_chapter

SPONSOR_CLASSES = {
    "INDUSTRY": SponsorType.INDUSTRY,
    "NIH": SponsorType.ACADEMIC,
    "FED": SponsorType.ACADEMIC,
    "OTHER_GOV": SponsorType.ACADEMIC,
    "NETWORK": SponsorType.ACADEMIC,
    "OTHER": SponsorType.ACADEMIC,
}
PHASES = {
    ("EARLY_PHASE1",): "EARLY_PHASE1",
    ("PHASE1",): "PHASE1",
    ("PHASE1", "PHASE2"): "PHASE1_PHASE2",
    ("PHASE2",): "PHASE2",
    ("PHASE2", "PHASE3"): "PHASE2_PHASE3",
    ("PHASE3",): "PHASE3",
    ("PHASE4",): "PHASE4",
    ("NA",): "NA",
}
AGE_RE = re.compile(r"^\s*(\d+)\s*(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)


class RecordError(ValueError):
    """A record that cannot be imported; the message says why."""


def parse_age_years(value: str | None) -> int | None:
    if not value:
        return None
    match = AGE_RE.match(value)
    if not match:
        raise RecordError(f"unreadable age {value!r}")
    number, unit = int(match.group(1)), match.group(2).lower()
    return min(number, 120) if unit == "year" else 0


def parse_partial_date(value: str | None) -> date | None:
    """ClinicalTrials.gov dates are YYYY-MM-DD or YYYY-MM (taken as the first of the month)."""
    if not value:
        return None
    parts = value.split("-")
    try:
        if len(parts) == 2:
            return date(int(parts[0]), int(parts[1]), 1)
        return date.fromisoformat(value)
    except ValueError:
        raise RecordError(f"unreadable date {value!r}") from None


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

    def match(self, facility: str, city: str) -> tuple[int | None, CareProvider | None]:
        facility_norm = normalise_name(facility or "")
        city_norm = normalise_name(city or "")
        best: tuple[int, CareProvider] | None = None
        for name, provider in self.providers:
            if name and name in facility_norm and (best is None or len(name) > best[0]):
                best = (len(name), provider)
        if best:
            return best[1].region_id, best[1]
        return self.localities.get(city_norm), None


@dataclass
class MappedStudy:
    study: Study
    sites: list[StudySite] = field(default_factory=list)
    conditions: list[StudyCondition] = field(default_factory=list)
    interventions: list[StudyIntervention] = field(default_factory=list)
    contacts: list[StudyContact] = field(default_factory=list)
    status_date: date | None = None


def _get(data: dict[str, Any], *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return default
        data = data.get(key)
        if data is None:
            return default
    return data


def map_record(record: dict[str, Any], matcher: SiteMatcher) -> MappedStudy:
    """Map one API v2 study; raises RecordError naming what is wrong."""
    if not isinstance(record, dict):
        raise RecordError("a study must be a JSON object")
    protocol = record.get("protocolSection")
    if not isinstance(protocol, dict):
        raise RecordError("no protocolSection")
    nct_id = _get(protocol, "identificationModule", "nctId", default="")
    if not isinstance(nct_id, str) or not NCT_RE.match(nct_id):
        raise RecordError(f"missing or invalid nctId {nct_id!r}")
    status = _get(protocol, "statusModule", "overallStatus", default="")
    if not status:
        raise RecordError("no overallStatus (the record has no status module)")
    if status not in Status.values:
        raise RecordError(f"unknown overallStatus {status!r}")
    ident = protocol["identificationModule"]
    design = protocol.get("designModule") or {}
    study_type = design.get("studyType")
    eligibility = protocol.get("eligibilityModule") or {}
    sponsor = _get(protocol, "sponsorCollaboratorsModule", "leadSponsor", default={}) or {}
    enrollment = design.get("enrollmentInfo") or {}
    phases = tuple(design.get("phases") or ())
    status_module = protocol.get("statusModule") or {}

    secondary = {"eudract_number": "", "eu_ct_number": ""}
    for info in ident.get("secondaryIdInfos") or []:
        value = str(info.get("id", "")).strip()
        if EUDRACT_RE.match(value) and not secondary["eudract_number"]:
            secondary["eudract_number"] = value
        elif EU_CT_RE.match(value) and not secondary["eu_ct_number"]:
            secondary["eu_ct_number"] = value

    count = enrollment.get("count")
    min_age = parse_age_years(eligibility.get("minimumAge"))
    max_age = parse_age_years(eligibility.get("maximumAge"))
    if min_age is not None and max_age is not None and min_age > max_age:
        raise RecordError(f"minimum age {min_age} above maximum age {max_age}")
    study = Study(
        nct_id=nct_id,
        local_id=str(_get(ident, "orgStudyIdInfo", "id", default=""))[:60],
        title_en=(ident.get("briefTitle") or ident.get("officialTitle") or nct_id)[:500],
        acronym=(ident.get("acronym") or "")[:60],
        status=status,
        study_type=study_type
        if study_type in ("INTERVENTIONAL", "OBSERVATIONAL")
        else StudyType.OTHER,
        phase=PHASES.get(phases, ""),
        sponsor_name=(sponsor.get("name") or "")[:300],
        sponsor_type=SPONSOR_CLASSES.get(sponsor.get("class"), SponsorType.OTHER),
        summary_en=(_get(protocol, "descriptionModule", "briefSummary", default="") or "")[:5000],
        start_date=parse_partial_date(_get(status_module, "startDateStruct", "date")),
        completion_date=parse_partial_date(_get(status_module, "completionDateStruct", "date")),
        planned_enrolment=count if enrollment.get("type") != "ACTUAL" else None,
        actual_enrolment=count if enrollment.get("type") == "ACTUAL" else None,
        min_age_years=min_age,
        max_age_years=max_age,
        sex=eligibility.get("sex") if eligibility.get("sex") in Sex.values else Sex.ALL,
        healthy_volunteers=bool(eligibility.get("healthyVolunteers")),
        eligibility_criteria=(eligibility.get("eligibilityCriteria") or "")[:20000],
        source=Source.CTGOV,
        registration_state=RegistrationState.PUBLISHED,
        last_confirmed_at=parse_partial_date(status_module.get("statusVerifiedDate")),
        **secondary,
    )
    mapped = MappedStudy(study=study)
    mapped.status_date = parse_partial_date(
        _get(status_module, "lastUpdatePostDateStruct", "date")
        or status_module.get("statusVerifiedDate")
    )
    for text in _get(protocol, "conditionsModule", "conditions", default=[]) or []:
        mapped.conditions.append(StudyCondition(text=str(text)[:300]))
    for item in _get(protocol, "armsInterventionsModule", "interventions", default=[]) or []:
        kind = item.get("type")
        mapped.interventions.append(
            StudyIntervention(
                type=kind if kind in InterventionType.values else InterventionType.OTHER,
                name=(item.get("name") or "")[:300],
            )
        )
    contacts_module = protocol.get("contactsLocationsModule") or {}
    for contact in contacts_module.get("centralContacts") or []:
        mapped.contacts.append(
            StudyContact(
                name=(contact.get("name") or "")[:200],
                role=(contact.get("role") or "")[:100],
                email=(contact.get("email") or "")[:254],
                phone=(contact.get("phone") or "")[:40],
            )
        )
    swedish = [
        loc for loc in contacts_module.get("locations") or [] if loc.get("country") == "Sweden"
    ]
    for location in swedish:
        region_id, provider = matcher.match(location.get("facility", ""), location.get("city", ""))
        if region_id is None:
            continue
        site_contacts = location.get("contacts") or []
        investigator = next(
            (c.get("name", "") for c in site_contacts if "INVESTIGATOR" in (c.get("role") or "")),
            "",
        )
        site_status = location.get("status") or ""
        mapped.sites.append(
            StudySite(
                region_id=region_id,
                care_provider=provider,
                facility_name=(location.get("facility") or "")[:300],
                city=(location.get("city") or "")[:100],
                investigator=investigator[:200],
                recruitment_status=site_status if site_status in Status.values else "",
            )
        )
    study.is_multicentre = len(contacts_module.get("locations") or []) > 1
    return mapped


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.rejected)


class Unreadable(dict):
    """Stands in for input that is not a JSON record, so it is reported as rejected."""


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _save(mapped: MappedStudy, existing: Study | None) -> bool:
    """Insert or replace the record with this NCT number; True when it was new."""
    study = mapped.study
    created = existing is None
    if existing is not None:
        study.registration_state = existing.registration_state
        study.duplicate_of_id = existing.duplicate_of_id
    elif settings.TRIALNODE_IMPORT_REVIEW:
        study.registration_state = RegistrationState.SUBMITTED
        study.submitted_at = timezone.now()
    if existing is not None:
        # Save as a change of the existing row, so the trail records a diff, not a create.
        study.pk = existing.pk
        study._state.adding = False
        study._audit_loaded = trail.snapshot(existing)
        study.created_at = existing.created_at
        study.version = existing.version + 1
        for related in (StudySite, StudyCondition, StudyIntervention, StudyContact):
            related.objects.filter(study=existing).delete()
    study.save()
    if created or existing.status != study.status:
        StudyStatusChange.objects.create(
            study=study,
            status=study.status,
            effective_date=mapped.status_date or timezone.localdate(),
        )
    for rows in (mapped.sites, mapped.conditions, mapped.interventions, mapped.contacts):
        for row in rows:
            row.study = study
            row.save()
    return created


BATCH_SIZE = 250


def import_records(
    records: Iterable[dict[str, Any]],
    *,
    progress: Callable[[ImportSummary], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Import records in batches; a bad record is reported, never fatal.

    A record identical to the one imported before (same hash) is skipped: re-importing
    the same file changes nothing. New records of a batch are written together (with
    their audit events); if a batch fails as a whole, its records are retried one by
    one so that only the bad ones are rejected.
    """
    matcher = SiteMatcher()
    summary = ImportSummary()
    batch: list[dict[str, Any]] = []
    for record in records:
        if isinstance(record, Unreadable):
            summary.rejected.append((record["where"], record["error"]))
            continue
        batch.append(record)
        if len(batch) >= batch_size:
            _import_batch(batch, matcher, summary)
            batch = []
            if progress is not None:
                progress(summary)
    if batch:
        _import_batch(batch, matcher, summary)
    if progress is not None:
        progress(summary)
    return summary


def _nct(record: Any) -> str:
    return str(_get(record, "protocolSection", "identificationModule", "nctId", default="?"))


def _prepare(
    record: dict[str, Any],
    matcher: SiteMatcher,
    existing: dict[str, Study],
    summary: ImportSummary,
) -> tuple[MappedStudy, Study | None] | None:
    """Map and validate one record; None when it is unchanged or rejected (counted)."""
    nct_id = _nct(record)
    try:
        digest = record_hash(record)
        previous = existing.get(nct_id)
        if previous is not None and previous.source_hash == digest:
            summary.unchanged += 1
            return None
        mapped = map_record(record, matcher)
        mapped.study.source_hash = digest
        mapped.study.full_clean(validate_unique=False, validate_constraints=False)
    except (RecordError, ValidationError, ValueError, TypeError, KeyError) as exc:
        message = "; ".join(exc.messages) if hasattr(exc, "messages") else str(exc)
        summary.rejected.append((nct_id, message))
        return None
    return mapped, previous


def _existing(records: list[dict[str, Any]]) -> dict[str, Study]:
    return {
        study.nct_id: study
        for study in Study.objects.filter(
            source=Source.CTGOV, nct_id__in={_nct(record) for record in records}
        )
    }


def _import_batch(
    records: list[dict[str, Any]], matcher: SiteMatcher, summary: ImportSummary
) -> None:
    counted = ImportSummary()
    existing = _existing(records)
    prepared = [p for r in records if (p := _prepare(r, matcher, existing, counted))]
    new = [mapped for mapped, previous in prepared if previous is None]
    changed = [(mapped, previous) for mapped, previous in prepared if previous is not None]
    try:
        if len({mapped.study.nct_id for mapped in new}) != len(new):
            raise ValueError("the same NCT number twice in one batch")
        with transaction.atomic():
            _create_many(new)
            for mapped, previous in changed:
                _save(mapped, previous)
            search.index_studies([mapped.study.pk for mapped, _previous in prepared])
    except (IntegrityError, ValidationError, ValueError):
        for record in records:
            _import_one(record, matcher, summary)
        return
    summary.created += len(new)
    summary.updated += len(changed)
    summary.unchanged += counted.unchanged
    summary.rejected.extend(counted.rejected)


def _import_one(record: dict[str, Any], matcher: SiteMatcher, summary: ImportSummary) -> None:
    """One record in its own transaction (the fallback when its batch could not be saved)."""
    prepared = _prepare(record, matcher, _existing([record]), summary)
    if prepared is None:
        return
    mapped, previous = prepared
    try:
        with transaction.atomic():
            created = _save(mapped, previous)
            search.index_studies([mapped.study.pk])
    except (IntegrityError, ValidationError, ValueError) as exc:
        message = "; ".join(exc.messages) if hasattr(exc, "messages") else str(exc)
        summary.rejected.append((mapped.study.nct_id, message))
        return
    if created:
        summary.created += 1
    else:
        summary.updated += 1


def _create_many(new: list[MappedStudy]) -> None:
    """Insert new registry studies and their rows with one statement per table."""
    if not new:
        return
    today = timezone.localdate()
    for mapped in new:
        if settings.TRIALNODE_IMPORT_REVIEW:
            mapped.study.registration_state = RegistrationState.SUBMITTED
            mapped.study.submitted_at = timezone.now()
    Study.objects.bulk_create([mapped.study for mapped in new])
    rows: dict[type, list[Any]] = {}
    for mapped in new:
        study = mapped.study
        rows.setdefault(StudyStatusChange, []).append(
            StudyStatusChange(
                study=study, status=study.status, effective_date=mapped.status_date or today
            )
        )
        for child in (*mapped.sites, *mapped.conditions, *mapped.interventions, *mapped.contacts):
            child.study = study
            if isinstance(child, StudyCondition):
                child.chapter = icd10_chapter(child.icd10_code) if child.icd10_code else ""
            rows.setdefault(type(child), []).append(child)
    for model, instances in rows.items():
        model.objects.bulk_create(instances, batch_size=1000)
