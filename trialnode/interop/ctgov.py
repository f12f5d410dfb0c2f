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

from django.utils.translation import gettext as _

from trialnode.interop import fields as f
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
# Django's choices build their value lists anew on every access: read once.
STATUSES = frozenset(Status.values)
SEXES = frozenset(Sex.values)
INTERVENTION_TYPES = frozenset(InterventionType.values)
AGE_RE = re.compile(r"^\s*(\d+)\s*(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)


def parse_age_years(value: Any) -> int | None:
    if not value:
        return None
    match = AGE_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise RecordError(_("unreadable age %(value)s") % {"value": f"{value!r:.40}"})
    number, unit = int(match.group(1)), match.group(2).lower()
    return min(number, 120) if unit == "year" else 0


def parse_partial_date(value: Any) -> date | None:
    """ClinicalTrials.gov dates are YYYY-MM-DD or YYYY-MM (taken as the first of the month)."""
    if not value:
        return None
    if not isinstance(value, str):
        raise RecordError(_("unreadable date %(value)s") % {"value": f"{value!r:.40}"})
    parts = value.split("-")
    try:
        if len(parts) == 2:
            return date(int(parts[0]), int(parts[1]), 1)
        return date.fromisoformat(value)
    except ValueError:
        raise RecordError(_("unreadable date %(value)s") % {"value": f"{value!r:.40}"}) from None


def _date(module: dict[str, Any], name: str) -> date | None:
    return parse_partial_date(f.obj(module.get(name), name).get("date"))


def mesh_terms(record: dict[str, Any]) -> str:
    """The MeSH descriptors of the conditions and their broader terms, one per line."""
    derived = f.obj(record.get("derivedSection"), "derivedSection")
    browse = f.obj(derived.get("conditionBrowseModule"), "conditionBrowseModule")
    terms: dict[str, None] = {}
    for key in ("meshes", "ancestors"):
        for entry in f.objs(browse.get(key), f"conditionBrowseModule.{key}"):
            term = f.text(entry.get("term"), f"conditionBrowseModule.{key}.term", 200)
            if term:
                terms[term] = None
    return "\n".join(terms)


def map_record(record: dict[str, Any], matcher: SiteMatcher) -> MappedStudy:
    """Map one API v2 study; raises RecordError naming what is wrong.

    Every Swedish location becomes a site: placed in its region (and at its care
    provider) when its facility or city tells, kept with its facility and city for a
    coordinator to place when not. A record with no location in Sweden is mapped as
    not conducted in Sweden (the import skips it unless it was stored before).
    """
    if not isinstance(record, dict):
        raise RecordError(_("a study must be a JSON object"))
    protocol = record.get("protocolSection")
    if not isinstance(protocol, dict):
        raise RecordError(_("no protocolSection"))
    ident = f.obj(protocol.get("identificationModule"), "identificationModule")
    nct_id = ident.get("nctId")
    if not isinstance(nct_id, str) or not NCT_RE.match(nct_id):
        if nct_id is None:
            raise RecordError(_("no nctId"))
        raise RecordError(_("invalid nctId %(value)s") % {"value": f"{nct_id!r:.40}"})
    status_module = f.obj(protocol.get("statusModule"), "statusModule")
    status = status_module.get("overallStatus")
    if not status:
        raise RecordError(_("no overallStatus (the record has no status module)"))
    if status not in STATUSES:
        raise RecordError(_("unknown overallStatus %(value)s") % {"value": f"{status!r:.40}"})
    design = f.obj(protocol.get("designModule"), "designModule")
    study_type = design.get("studyType")
    eligibility = f.obj(protocol.get("eligibilityModule"), "eligibilityModule")
    sponsors = f.obj(protocol.get("sponsorCollaboratorsModule"), "sponsorCollaboratorsModule")
    sponsor = f.obj(sponsors.get("leadSponsor"), "leadSponsor")
    enrollment = f.obj(design.get("enrollmentInfo"), "enrollmentInfo")
    phases = tuple(f.texts(design.get("phases"), "phases", 20))
    description = f.obj(protocol.get("descriptionModule"), "descriptionModule")

    secondary = {"eudract_number": "", "eu_ct_number": ""}
    for info in f.objs(ident.get("secondaryIdInfos"), "secondaryIdInfos"):
        value = f.text(info.get("id"), "secondaryIdInfos.id", 200)
        if EUDRACT_RE.match(value) and not secondary["eudract_number"]:
            secondary["eudract_number"] = value
        elif EU_CT_RE.match(value) and not secondary["eu_ct_number"]:
            secondary["eu_ct_number"] = value

    count = f.whole_number(enrollment.get("count"), "enrollmentInfo.count", maximum=10_000_000)
    min_age = parse_age_years(eligibility.get("minimumAge"))
    max_age = parse_age_years(eligibility.get("maximumAge"))
    if min_age is not None and max_age is not None and min_age > max_age:
        raise RecordError(
            _("minimum age %(minimum)d above maximum age %(maximum)d")
            % {"minimum": min_age, "maximum": max_age}
        )
    sex = eligibility.get("sex")
    study = Study(
        nct_id=nct_id,
        local_id=f.text(
            f.obj(ident.get("orgStudyIdInfo"), "orgStudyIdInfo").get("id"), "orgStudyId", 60
        ),
        title_en=f.text(ident.get("briefTitle") or ident.get("officialTitle"), "briefTitle", 600)
        or nct_id,
        acronym=f.text(ident.get("acronym"), "acronym", 60),
        status=status,
        study_type=study_type
        if study_type in ("INTERVENTIONAL", "OBSERVATIONAL")
        else StudyType.OTHER,
        phase=PHASES.get(phases, ""),
        sponsor_name=f.text(sponsor.get("name"), "leadSponsor.name", 300),
        sponsor_type=SPONSOR_CLASSES.get(sponsor.get("class") or "", SponsorType.OTHER),
        summary_en=f.text(description.get("briefSummary"), "briefSummary", 5000),
        start_date=_date(status_module, "startDateStruct"),
        primary_completion_date=_date(status_module, "primaryCompletionDateStruct"),
        completion_date=_date(status_module, "completionDateStruct"),
        planned_enrolment=count if enrollment.get("type") != "ACTUAL" else None,
        actual_enrolment=count if enrollment.get("type") == "ACTUAL" else None,
        min_age_years=min_age,
        max_age_years=max_age,
        sex=sex if isinstance(sex, str) and sex in SEXES else Sex.ALL,
        healthy_volunteers=f.flag(eligibility.get("healthyVolunteers"), "healthyVolunteers"),
        eligibility_criteria=f.text(
            eligibility.get("eligibilityCriteria"), "eligibilityCriteria", 20000
        ),
        mesh_terms=mesh_terms(record),
        source=Source.CTGOV,
        registration_state=RegistrationState.PUBLISHED,
        last_confirmed_at=parse_partial_date(status_module.get("statusVerifiedDate")),
        **secondary,
    )
    mapped = MappedStudy(study=study)
    mapped.status_date = parse_partial_date(
        f.obj(status_module.get("lastUpdatePostDateStruct"), "lastUpdatePostDateStruct").get("date")
        or status_module.get("statusVerifiedDate")
    )
    conditions = f.obj(protocol.get("conditionsModule"), "conditionsModule")
    for text in dict.fromkeys(f.texts(conditions.get("conditions"), "conditions", 300)):
        mapped.conditions.append(StudyCondition(text=text))
    arms = f.obj(protocol.get("armsInterventionsModule"), "armsInterventionsModule")
    for item in f.objs(arms.get("interventions"), "interventions"):
        kind = item.get("type")
        name = f.text(item.get("name"), "interventions.name", 300)
        if not name:
            continue
        mapped.interventions.append(
            StudyIntervention(
                type=kind if kind in INTERVENTION_TYPES else InterventionType.OTHER,
                name=name,
            )
        )
    contacts_module = f.obj(protocol.get("contactsLocationsModule"), "contactsLocationsModule")
    for contact in f.objs(contacts_module.get("centralContacts"), "centralContacts"):
        name = f.text(contact.get("name"), "centralContacts.name", 200)
        if not name:
            continue
        mapped.contacts.append(
            StudyContact(
                name=name,
                role=f.text(contact.get("role"), "centralContacts.role", 100),
                email=f.text(contact.get("email"), "centralContacts.email", 254),
                phone=f.text(contact.get("phone"), "centralContacts.phone", 40),
            )
        )
    locations = f.objs(contacts_module.get("locations"), "locations")
    for location in locations:
        if location.get("country") != "Sweden":
            continue
        facility = f.text(location.get("facility"), "locations.facility", 300)
        city = f.text(location.get("city"), "locations.city", 100)
        region_id, provider = matcher.match(facility, city)
        investigator = next(
            (
                f.text(c.get("name"), "locations.contacts.name", 200)
                for c in f.objs(location.get("contacts"), "locations.contacts")
                if "INVESTIGATOR" in str(c.get("role") or "")
            ),
            "",
        )
        site_status = location.get("status") or ""
        mapped.sites.append(
            StudySite(
                region_id=region_id,
                care_provider=provider,
                facility_name=facility,
                city=city,
                investigator=investigator,
                recruitment_status=site_status if site_status in STATUSES else "",
            )
        )
    study.conducted_in_sweden = bool(mapped.sites)
    study.is_multicentre = len(locations) > 1
    return mapped


def record_key(record: Any) -> str:
    return str(dig(record, "protocolSection", "identificationModule", "nctId", default="?"))


def maybe_in_sweden(record: dict[str, Any]) -> bool:
    """False only for a well-identified record whose locations are certainly all outside
    Sweden (a malformed one goes on to be mapped, and rejected with its reason)."""
    if not NCT_RE.match(record_key(record)):
        return True
    locations = dig(record, "protocolSection", "contactsLocationsModule", "locations")
    if locations is None:
        return False
    if not isinstance(locations, list):
        return True
    return any(not isinstance(loc, dict) or loc.get("country") == "Sweden" for loc in locations)


_RAW_NCT_ID = re.compile(rb'"nctId"\s*:\s*"([^"\\]{1,40})"')
# Byte searches of the raw record, as regular expressions: the regular expression engine
# looks for the first byte with memchr, where ``bytes.find`` stops at every "u", "n" or
# quote of the text (a few times faster on the world's records).
_RAW_SWEDEN = re.compile(rb"Sweden")
_RAW_ESCAPE = re.compile(rb"\\u")
_RAW_CT_ID = re.compile(rb"ctId")


def _nct_id_field_after(raw: bytes, position: int) -> bool:
    """Whether ``"nctId"`` occurs in ``raw`` from ``position`` on."""
    return any(
        raw[found.start() - 2 : found.end() + 1] == b'"nctId"'
        for found in _RAW_CT_ID.finditer(raw, position + 2)
    )


def outside_sweden_key(raw: bytes) -> str | None:
    """The NCT number of a raw JSON record that names no place in Sweden at all, read
    without parsing it; None when the record must be read whole (it may be in Sweden,
    it escapes characters, it is cut off, or its number is not found exactly once).

    A bulk file of the world's studies is mostly such records: they are counted as
    outside Sweden (or read whole if already stored) at the cost of a byte search.
    """
    if not raw.startswith(b"{") or not raw.endswith((b"}", b"}\n", b"}\r\n")):
        return None
    if _RAW_SWEDEN.search(raw) or _RAW_ESCAPE.search(raw):
        return None
    start = raw.find(b'"nctId"')
    if start < 0 or _nct_id_field_after(raw, start + 7):
        return None
    found = _RAW_NCT_ID.match(raw, start)
    key = found.group(1).decode("ascii", "replace") if found else ""
    return key if NCT_RE.match(key) else None


CTGOV = RegistryFormat(
    source=Source.CTGOV,
    key_field="nct_id",
    record_key=record_key,
    map_record=map_record,
    maybe_in_sweden=maybe_in_sweden,
    fields=frozenset(
        {
            "nct_id",
            "local_id",
            "eudract_number",
            "eu_ct_number",
            "title_en",
            "acronym",
            "status",
            "study_type",
            "phase",
            "sponsor_name",
            "sponsor_type",
            "summary_en",
            "start_date",
            "primary_completion_date",
            "completion_date",
            "planned_enrolment",
            "actual_enrolment",
            "min_age_years",
            "max_age_years",
            "sex",
            "healthy_volunteers",
            "eligibility_criteria",
            "mesh_terms",
            "source",
            "last_confirmed_at",
            "conducted_in_sweden",
            "is_multicentre",
        }
    ),
    outside_sweden_key=outside_sweden_key,
)


def import_records(records: Iterable[dict[str, Any]], **options: Any) -> ImportSummary:
    """Import ClinicalTrials.gov API v2 study records (see ``upsert.import_records``)."""
    return upsert.import_records(records, CTGOV, **options)
