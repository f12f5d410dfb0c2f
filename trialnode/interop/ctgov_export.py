"""Studies in the shape of ClinicalTrials.gov API v2 records (``protocolSection``)."""

from __future__ import annotations

from typing import Any

from trialnode.studies.models import SponsorType, Study, StudyType

PHASES = {
    "EARLY_PHASE1": ["EARLY_PHASE1"],
    "PHASE1": ["PHASE1"],
    "PHASE1_PHASE2": ["PHASE1", "PHASE2"],
    "PHASE2": ["PHASE2"],
    "PHASE2_PHASE3": ["PHASE2", "PHASE3"],
    "PHASE3": ["PHASE3"],
    "PHASE4": ["PHASE4"],
    "NA": ["NA"],
}
SPONSOR_CLASSES: dict[str, str] = {SponsorType.INDUSTRY: "INDUSTRY", SponsorType.ACADEMIC: "OTHER"}


def _age(years: int | None) -> str | None:
    return None if years is None else f"{years} Years"


def _date(value) -> dict[str, str] | None:
    return {"date": value.isoformat()} if value else None


def ctgov_record(study: Study) -> dict[str, Any]:
    """One study as a ClinicalTrials.gov API v2 record (modules without values left out)."""
    secondary = [
        {"id": value, "type": kind}
        for value, kind in (
            (study.eudract_number, "EUDRACT_NUMBER"),
            (study.eu_ct_number, "CTIS"),
            (study.epm_dnr, "OTHER"),
            (study.isrctn, "REGISTRY"),
        )
        if value
    ]
    identification: dict[str, Any] = {
        "nctId": study.nct_id or None,
        "orgStudyIdInfo": {"id": study.local_id or study.reference},
        "briefTitle": study.title_en or study.title_sv,
        "acronym": study.acronym or None,
        "secondaryIdInfos": secondary or None,
    }
    enrolment = (
        {"count": study.actual_enrolment, "type": "ACTUAL"}
        if study.actual_enrolment is not None
        else {"count": study.planned_enrolment, "type": "ESTIMATED"}
        if study.planned_enrolment is not None
        else None
    )
    protocol = {
        "identificationModule": identification,
        "statusModule": {
            "overallStatus": study.status,
            "statusVerifiedDate": study.last_confirmed_at.isoformat()[:7]
            if study.last_confirmed_at
            else None,
            "startDateStruct": _date(study.start_date),
            "completionDateStruct": _date(study.completion_date),
        },
        "sponsorCollaboratorsModule": {
            "leadSponsor": {
                "name": study.sponsor_name,
                "class": SPONSOR_CLASSES.get(study.sponsor_type, "OTHER"),
            }
        }
        if study.sponsor_name
        else None,
        "descriptionModule": {"briefSummary": study.summary_en or study.summary_sv}
        if (study.summary_en or study.summary_sv)
        else None,
        "conditionsModule": {"conditions": [c.text for c in study.conditions.all()]},
        "designModule": {
            "studyType": study.study_type
            if study.study_type != StudyType.OTHER
            else "EXPANDED_ACCESS",
            "phases": PHASES.get(study.phase) if study.phase else None,
            "enrollmentInfo": enrolment,
        },
        "armsInterventionsModule": {
            "interventions": [{"type": i.type, "name": i.name} for i in study.interventions.all()]
        },
        "eligibilityModule": {
            "eligibilityCriteria": study.eligibility_criteria or None,
            "healthyVolunteers": study.healthy_volunteers,
            "sex": study.sex,
            "minimumAge": _age(study.min_age_years),
            "maximumAge": _age(study.max_age_years),
        },
        "contactsLocationsModule": {
            "centralContacts": [
                {
                    "name": c.name,
                    "role": c.role or None,
                    "email": c.email or None,
                    "phone": c.phone or None,
                }
                for c in study.contacts.all()
            ],
            "locations": [
                {
                    "facility": s.care_provider.name if s.care_provider else s.facility_name,
                    "city": s.city or (s.care_provider.city if s.care_provider else ""),
                    "country": "Sweden",
                    "status": s.recruitment_status or None,
                }
                for s in study.sites.all()
            ],
        },
    }
    return {"protocolSection": _without_empty(protocol)}


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value
