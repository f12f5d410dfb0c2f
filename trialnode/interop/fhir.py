"""Studies as FHIR R4B ``ResearchStudy`` resources, validated with ``fhir.resources``."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.researchstudy import ResearchStudy

from trialnode.studies.models import Phase, Status, Study

CTGOV_STATUS_EXTENSION = "https://trialnode.se/fhir/StructureDefinition/ctgov-overall-status"
IDENTIFIER_SYSTEMS = {
    "nct_id": "https://clinicaltrials.gov",
    "eu_ct_number": "https://euclinicaltrials.eu",
    "eudract_number": "https://www.clinicaltrialsregister.eu",
    "epm_dnr": "https://etikprovningsmyndigheten.se/diarienummer",
    "isrctn": "https://www.isrctn.com",
    "local_id": "urn:trialnode:local-id",
}
SYSTEM_FIELDS = {system: field for field, system in IDENTIFIER_SYSTEMS.items()}
REFERENCE_SYSTEM = "urn:trialnode:study"

# ClinicalTrials.gov overall status → R4 ResearchStudy.status; the exact value travels in
# an extension so nothing is lost on the way back.
STATUS_R4: dict[str, str] = {
    Status.RECRUITING: "active",
    Status.ENROLLING_BY_INVITATION: "active",
    Status.NOT_YET_RECRUITING: "approved",
    Status.ACTIVE_NOT_RECRUITING: "closed-to-accrual",
    Status.SUSPENDED: "temporarily-closed-to-accrual",
    Status.TEMPORARILY_NOT_AVAILABLE: "temporarily-closed-to-accrual",
    Status.TERMINATED: "administratively-completed",
    Status.COMPLETED: "completed",
    Status.NO_LONGER_AVAILABLE: "completed",
    Status.APPROVED_FOR_MARKETING: "completed",
    Status.WITHDRAWN: "withdrawn",
    Status.WITHHELD: "withdrawn",
    Status.UNKNOWN: "active",
    Status.AVAILABLE: "active",
}
PHASE_CODES: dict[str, str] = {
    Phase.NA: "n-a",
    Phase.EARLY_PHASE1: "early-phase-1",
    Phase.PHASE1: "phase-1",
    Phase.PHASE1_PHASE2: "phase-1-phase-2",
    Phase.PHASE2: "phase-2",
    Phase.PHASE2_PHASE3: "phase-2-phase-3",
    Phase.PHASE3: "phase-3",
    Phase.PHASE4: "phase-4",
}
PHASE_SYSTEM = "http://terminology.hl7.org/CodeSystem/research-study-phase"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"


def research_study(study: Study, *, base_url: str) -> dict[str, Any]:
    """One study as a validated R4B ResearchStudy (as JSON-ready data)."""
    identifiers = [{"system": REFERENCE_SYSTEM, "value": study.reference}]
    identifiers += [
        {"system": IDENTIFIER_SYSTEMS[name], "value": value}
        for name, value in study.identifiers().items()
    ]
    resource: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": str(study.pk),
        "meta": {"lastUpdated": study.updated_at.isoformat()},
        "identifier": identifiers,
        "title": study.title_en or study.title_sv,
        "status": STATUS_R4[study.status],
        "extension": [{"url": CTGOV_STATUS_EXTENSION, "valueCode": study.status}],
    }
    if study.title_sv and study.title_en:
        resource["title__ext"] = None
    description = study.summary_en or study.summary_sv
    if description:
        resource["description"] = description
    if study.phase:
        resource["phase"] = {"coding": [{"system": PHASE_SYSTEM, "code": PHASE_CODES[study.phase]}]}
    conditions = []
    for condition in study.conditions.all():
        concept: dict[str, Any] = {"text": condition.text}
        if condition.icd10_code:
            concept["coding"] = [{"system": ICD10_SYSTEM, "code": condition.icd10_code}]
        conditions.append(concept)
    if conditions:
        resource["condition"] = conditions
    if study.sponsor_name:
        resource["sponsor"] = {"display": study.sponsor_name}
    if study.start_date or study.completion_date:
        resource["period"] = {
            key: value.isoformat()
            for key, value in (("start", study.start_date), ("end", study.completion_date))
            if value
        }
    sites = [{"display": site.display_name} for site in study.sites.all()]
    if sites:
        resource["site"] = sites
        resource["location"] = [
            {"coding": [{"system": "urn:iso:std:iso:3166", "code": "SE"}], "text": "Sweden"}
        ]
    contacts = [
        {
            "name": contact.name,
            "telecom": [
                {"system": system, "value": value}
                for system, value in (("email", contact.email), ("phone", contact.phone))
                if value
            ],
        }
        for contact in study.contacts.all()
    ]
    if contacts:
        resource["contact"] = contacts
    resource.pop("title__ext", None)
    return ResearchStudy.model_validate(resource).model_dump(mode="json", exclude_none=True)


def search_bundle(
    studies: list[Study], *, total: int, base_url: str, links: dict[str, str]
) -> dict:
    """A searchset Bundle; ``links`` maps relations (self, first, previous, next, last)
    to the URLs of the pages."""
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links.items()],
        "entry": [
            {
                "fullUrl": f"{base_url}/fhir/ResearchStudy/{study.pk}",
                "resource": research_study(study, base_url=base_url),
                "search": {"mode": "match"},
            }
            for study in studies
        ],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


R5_STATE_SYSTEM = "http://hl7.org/fhir/research-study-state"
R5_STATES: dict[str, str] = {
    Status.NOT_YET_RECRUITING: "not-yet-recruiting",
    Status.RECRUITING: "recruiting",
    Status.ENROLLING_BY_INVITATION: "enrolling-by-invitation",
    Status.ACTIVE_NOT_RECRUITING: "active-but-not-recruiting",
    Status.SUSPENDED: "temporarily-closed-to-accrual",
    Status.TERMINATED: "terminated",
    Status.COMPLETED: "completed",
    Status.WITHDRAWN: "withdrawn",
}


def research_study_r5(study: Study, *, base_url: str) -> dict[str, Any]:
    """The same study as an R5 ResearchStudy: the study state in ``progressStatus``."""
    from fhir.resources.researchstudy import ResearchStudy as ResearchStudyR5

    r4 = research_study(study, base_url=base_url)
    resource: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": r4["id"],
        "meta": r4["meta"],
        "identifier": r4["identifier"],
        "title": r4["title"],
        "status": "active",
        "extension": r4["extension"],
        "progressStatus": [
            {
                "state": {
                    "coding": [
                        {
                            "system": R5_STATE_SYSTEM,
                            "code": R5_STATES.get(study.status, study.status.lower()),
                        }
                    ],
                    "text": study.get_status_display(),
                },
                "actual": True,
            }
        ],
    }
    for key in ("description", "phase", "condition", "period"):
        if key in r4:
            resource[key] = r4[key]
    if study.sponsor_name:
        resource["associatedParty"] = [
            {
                "name": study.sponsor_name,
                "role": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/research-study-party-role",
                            "code": "sponsor",
                        }
                    ]
                },
            }
        ]
    return ResearchStudyR5.model_validate(resource).model_dump(mode="json", exclude_none=True)


def study_fields_from_r4b(resource: dict[str, Any]) -> dict[str, Any]:
    """Read the study's own fields back from an R4B ResearchStudy (the inverse of export)."""
    validated = ResearchStudy.model_validate(resource)
    fields: dict[str, Any] = {}
    for identifier in validated.identifier or []:
        name = SYSTEM_FIELDS.get(identifier.system or "")
        if name:
            fields[name] = identifier.value
    status = next(
        (e.valueCode for e in validated.extension or [] if e.url == CTGOV_STATUS_EXTENSION), None
    )
    fields["status"] = status or next(k for k, v in STATUS_R4.items() if v == validated.status)
    fields["title"] = validated.title or ""
    if validated.phase and validated.phase.coding:
        code = validated.phase.coding[0].code
        fields["phase"] = next(k for k, v in PHASE_CODES.items() if v == code)
    fields["description"] = validated.description or ""
    fields["conditions"] = [
        (c.coding[0].code if c.coding else "", c.text or "") for c in validated.condition or []
    ]
    fields["sponsor_name"] = validated.sponsor.display if validated.sponsor else ""
    if validated.period:
        fields["start_date"] = validated.period.start
        fields["completion_date"] = validated.period.end
    return fields


SEARCH_PARAMETER_DOCS = {
    "identifier": ("token", "An identifier, with or without its system (NCT, EU CT, EPM…)"),
    "status": ("token", "The study's status in FHIR R4 terms (active, completed…)"),
    "_lastUpdated": ("date", "When the record last changed, with prefixes eq, gt, ge, lt, le"),
    "_count": ("number", "Results per page, 1–100 (20 by default)"),
    "_page": ("number", "The page, from 1"),
}


def capability_statement(*, base_url: str, software_version: str) -> dict:
    """What this server offers: read and search of ResearchStudy, in FHIR R4B JSON."""
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "trialnode", "version": software_version},
        "implementation": {
            "description": "Clinical studies in Swedish healthcare",
            "url": f"{base_url}/fhir",
        },
        "fhirVersion": "4.3.0",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "ResearchStudy",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": name, "type": kind, "documentation": text}
                            for name, (kind, text) in SEARCH_PARAMETER_DOCS.items()
                        ],
                    }
                ],
            }
        ],
    }
    return CapabilityStatement.model_validate(statement).model_dump(mode="json", exclude_none=True)
