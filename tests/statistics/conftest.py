"""A known set of studies with status histories, and the numbers computed by hand."""

from datetime import date

import pytest

from trialnode.organisations.models import Region
from trialnode.studies.models import (
    RegistrationState,
    Source,
    Study,
    StudyCondition,
    StudySite,
    StudyStatusChange,
)


def _study(title, regions, history, *, state=RegistrationState.PUBLISHED, icd10="", **fields):
    study = Study.objects.create(
        title_sv=title, registration_state=state, status=history[-1][1], **fields
    )
    for slug in regions:
        StudySite.objects.create(study=study, region=Region.objects.get(slug=slug))
    if icd10:
        StudyCondition.objects.create(study=study, icd10_code=icd10, text=title)
    for day, status in history:
        StudyStatusChange.objects.create(study=study, status=status, effective_date=day)
    return study


@pytest.fixture
def known_studies(reference_data):
    """
    A  three regions, interventional, industry, phase 3, breast cancer: planned 2023-06-01,
       recruiting 2024-02-01, closed to recruitment 2024-09-15, completed 2025-03-01.
    B  Uppsala, observational, academic, heart attack: recruiting since 2022-01-10.
    C  Örebro, interventional, academic, phase 2: recruiting from 2024-12-31.
    D  Uppsala, interventional, industry: recruiting 2020-01-01, completed 2023-12-31.
    E  Uppsala, submitted (not published): recruiting from 2024-03-01.
    F  a registry record linked to B (counted through B): recruiting since 2021.
    """
    a = _study(
        "A",
        ["uppsala", "orebro", "dalarna"],
        [
            (date(2023, 6, 1), "NOT_YET_RECRUITING"),
            (date(2024, 2, 1), "RECRUITING"),
            (date(2024, 9, 15), "ACTIVE_NOT_RECRUITING"),
            (date(2025, 3, 1), "COMPLETED"),
        ],
        icd10="C50.9",
        study_type="INTERVENTIONAL",
        sponsor_type="INDUSTRY",
        phase="PHASE3",
    )
    b = _study(
        "B",
        ["uppsala"],
        [(date(2022, 1, 10), "RECRUITING")],
        icd10="I21.9",
        study_type="OBSERVATIONAL",
        sponsor_type="ACADEMIC",
    )
    c = _study(
        "C",
        ["orebro"],
        [(date(2024, 12, 31), "RECRUITING")],
        study_type="INTERVENTIONAL",
        sponsor_type="ACADEMIC",
        phase="PHASE2",
    )
    d = _study(
        "D",
        ["uppsala"],
        [(date(2020, 1, 1), "RECRUITING"), (date(2023, 12, 31), "COMPLETED")],
        study_type="INTERVENTIONAL",
        sponsor_type="INDUSTRY",
    )
    e = _study(
        "E",
        ["uppsala"],
        [(date(2024, 3, 1), "RECRUITING")],
        state=RegistrationState.SUBMITTED,
        study_type="INTERVENTIONAL",
    )
    f = _study(
        "F",
        ["uppsala"],
        [(date(2021, 1, 1), "RECRUITING")],
        study_type="OBSERVATIONAL",
        source=Source.CTGOV,
        nct_id="NCT01234567",
    )
    f.duplicate_of = b
    f.save()
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f}
