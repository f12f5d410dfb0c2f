"""ClinicalTrials.gov API v2 records → trialnode studies.

The mapping covers identification, status, sponsor, design, conditions,
interventions, enrolment, eligibility, dates, contacts and the Swedish
locations (as sites placed in a region, linked to a known care provider when
its name matches).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from trialnode.interop import upsert
from trialnode.interop.upsert import (
    ImportSummary,
    MappedStudy,
    RecordError,
    RegistryFormat,
    SiteMatcher,
    Unreadable,
    dig,
)
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
    StudyType,
)
from trialnode.studies.validators import EU_CT_RE, EUDRACT_RE, NCT_RE

__all__ = ["ImportSummary", "RecordError", "SiteMatcher", "Unreadable", "import_records"]

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


def map_record(record: dict[str, Any], matcher: SiteMatcher) -> MappedStudy:
    """Map one API v2 study; raises RecordError naming what is wrong."""
    if not isinstance(record, dict):
        raise RecordError("a study must be a JSON object")
    protocol = record.get("protocolSection")
    if not isinstance(protocol, dict):
        raise RecordError("no protocolSection")
    nct_id = dig(protocol, "identificationModule", "nctId", default="")
    if not isinstance(nct_id, str) or not NCT_RE.match(nct_id):
        raise RecordError(f"missing or invalid nctId {nct_id!r}")
    status = dig(protocol, "statusModule", "overallStatus", default="")
    if not status:
        raise RecordError("no overallStatus (the record has no status module)")
    if status not in Status.values:
        raise RecordError(f"unknown overallStatus {status!r}")
    ident = protocol["identificationModule"]
    design = protocol.get("designModule") or {}
    study_type = design.get("studyType")
    eligibility = protocol.get("eligibilityModule") or {}
    sponsor = dig(protocol, "sponsorCollaboratorsModule", "leadSponsor", default={}) or {}
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
        local_id=str(dig(ident, "orgStudyIdInfo", "id", default=""))[:60],
        title_en=(ident.get("briefTitle") or ident.get("officialTitle") or nct_id)[:500],
        acronym=(ident.get("acronym") or "")[:60],
        status=status,
        study_type=study_type
        if study_type in ("INTERVENTIONAL", "OBSERVATIONAL")
        else StudyType.OTHER,
        phase=PHASES.get(phases, ""),
        sponsor_name=(sponsor.get("name") or "")[:300],
        sponsor_type=SPONSOR_CLASSES.get(sponsor.get("class", ""), SponsorType.OTHER),
        summary_en=(dig(protocol, "descriptionModule", "briefSummary", default="") or "")[:5000],
        start_date=parse_partial_date(dig(status_module, "startDateStruct", "date")),
        completion_date=parse_partial_date(dig(status_module, "completionDateStruct", "date")),
        planned_enrolment=count if enrollment.get("type") != "ACTUAL" else None,
        actual_enrolment=count if enrollment.get("type") == "ACTUAL" else None,
        min_age_years=min_age,
        max_age_years=max_age,
        sex=eligibility["sex"] if eligibility.get("sex") in Sex.values else Sex.ALL,
        healthy_volunteers=bool(eligibility.get("healthyVolunteers")),
        eligibility_criteria=(eligibility.get("eligibilityCriteria") or "")[:20000],
        source=Source.CTGOV,
        registration_state=RegistrationState.PUBLISHED,
        last_confirmed_at=parse_partial_date(status_module.get("statusVerifiedDate")),
        **secondary,
    )
    mapped = MappedStudy(study=study)
    mapped.status_date = parse_partial_date(
        dig(status_module, "lastUpdatePostDateStruct", "date")
        or status_module.get("statusVerifiedDate")
    )
    for text in dig(protocol, "conditionsModule", "conditions", default=[]) or []:
        mapped.conditions.append(StudyCondition(text=str(text)[:300]))
    for item in dig(protocol, "armsInterventionsModule", "interventions", default=[]) or []:
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


def record_key(record: Any) -> str:
    return str(dig(record, "protocolSection", "identificationModule", "nctId", default="?"))


CTGOV = RegistryFormat(
    source=Source.CTGOV, key_field="nct_id", record_key=record_key, map_record=map_record
)


def import_records(records: Iterable[dict[str, Any]], **options: Any) -> ImportSummary:
    """Import ClinicalTrials.gov API v2 study records (see ``upsert.import_records``)."""
    return upsert.import_records(records, CTGOV, **options)
