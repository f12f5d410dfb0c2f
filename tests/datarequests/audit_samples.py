"""Samples of the health-data request models for ``tests/audit/test_every_model_is_audited``:
a new row, a field to change and its new value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone


def datarequest_samples(users) -> dict[str, Callable[[], tuple[Any, str, Any]]]:
    from trialnode.datarequests.models import (
        Attachment,
        DataRequest,
        DataRequestVersion,
        DeadlineNotice,
        HandbookPage,
        Review,
        StagePeriod,
        Variable,
    )
    from trialnode.organisations.models import CareProvider

    counter = iter(range(1, 1000))

    def case() -> DataRequest:
        return DataRequest.objects.create(
            reference=f"DU-PROV-{next(counter)}",
            applicant=users.registrant,
            applicant_organisation="UU",
            applicant_kind="university",
            data_holder=CareProvider.objects.get(slug="akademiska"),
            source="patient_records",
            title="Prov",
            purpose="Prov",
            legal_basis="epm",
            epm_dnr="2023-04512-01",
            output_kind="aggregated",
        )

    def period() -> StagePeriod:
        return StagePeriod.objects.create(
            request=case(), stage="submitted", started_at=timezone.now()
        )

    return {
        "datarequests.datarequest": lambda: (case(), "stage", "submitted"),
        "datarequests.stageperiod": lambda: (period(), "ended_at", timezone.now()),
        "datarequests.variable": lambda: (
            Variable.objects.create(
                request=case(),
                source="Journal",
                name="Diagnos",
                period_from=dt.date(2020, 1, 1),
                period_to=dt.date(2020, 12, 31),
            ),
            "name",
            "Vikt",
        ),
        "datarequests.attachment": lambda: (
            Attachment.objects.create(
                request=case(),
                kind="other",
                original_name="a.pdf",
                stored_name=f"{next(counter):032x}.pdf",
                size=1,
                sha256="0" * 64,
                uploaded_by=users.registrant,
            ),
            "kind",
            "consent",
        ),
        "datarequests.review": lambda: (
            Review.objects.create(
                request=case(),
                kind="legal",
                recommendation="approve",
                comment="ok",
                reviewer=users.superuser,
            ),
            "comment",
            "Ny",
        ),
        "datarequests.datarequestversion": lambda: (
            DataRequestVersion.objects.create(request=case(), version=1, content={}),
            "closed_outcome",
            "approved",
        ),
        "datarequests.deadlinenotice": lambda: (
            DeadlineNotice.objects.create(period=period(), kind="warning", due=dt.date(2026, 1, 5)),
            "kind",
            "escalation",
        ),
        "datarequests.handbookpage": lambda: (
            HandbookPage.objects.create(
                slug="prov", step="faq", title_sv="Prov", title_en="Test", body_sv="x", body_en="x"
            ),
            "title_sv",
            "Ny",
        ),
    }
