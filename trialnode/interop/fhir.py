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
STATUS_R4 = {
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
PHASE_CODES = {
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


def search_bundle(studies: list[Study], *, total: int, base_url: str, self_url: str) -> dict:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": self_url}],
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
