"""Samples of the feasibility models for ``tests/audit/test_every_model_is_audited.py``:
a new row, a field to change and its new value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any


def feasibility_samples(users) -> dict[str, Callable[[], tuple[Any, str, Any]]]:
    from trialnode.feasibility.models import (
        AnswerLink,
        DirectoryEntry,
        Inquiry,
        InquiryMessage,
        Recipient,
        SponsorMembership,
        SponsorOrganisation,
    )
    from trialnode.organisations.models import CareProvider

    def organisation():
        number = SponsorOrganisation.objects.count() + 1
        return SponsorOrganisation.objects.create(name=f"Prov AB {number}", kind="industry")

    def entry():
        return DirectoryEntry.objects.create(
            care_provider=CareProvider.objects.get(slug="akademiska"),
            unit_name="Provklinik",
            investigator="Prövare",
            email="prov@example.se",
            specialty="Prov",
            therapy_areas=["IX"],
        )

    def inquiry():
        return Inquiry.objects.create(
            organisation=organisation(),
            created_by=users.sponsor,
            kind="site",
            title="Prov",
            therapy_area="IX",
            reply_by=dt.date(2030, 1, 1),
            sponsor_contact_name="Prov",
            sponsor_contact_email="prov@example.se",
        )

    def recipient():
        return Recipient.objects.create(
            inquiry=inquiry(),
            entry=entry(),
            region=CareProvider.objects.get(slug="akademiska").region,
            dispatched_by=users.coordinator,
        )

    return {
        "feasibility.sponsororganisation": lambda: (organisation(), "name", "Ny AB"),
        "feasibility.sponsormembership": lambda: (
            SponsorMembership.objects.create(organisation=organisation(), user=users.sponsor),
            "organisation",
            organisation(),
        ),
        "feasibility.directoryentry": lambda: (entry(), "investigator", "Ny prövare"),
        "feasibility.inquiry": lambda: (inquiry(), "state", "triaged"),
        "feasibility.inquirymessage": lambda: (
            InquiryMessage.objects.create(
                inquiry=inquiry(), kind="question", author=users.coordinator, text="?"
            ),
            "text",
            "Ny fråga",
        ),
        "feasibility.recipient": lambda: (recipient(), "response", "interested"),
        "feasibility.answerlink": lambda: (
            AnswerLink.objects.create(
                recipient=recipient(),
                token_hash="0" * 64,
                expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            ),
            "replaced_at",
            dt.datetime(2029, 1, 1, tzinfo=dt.UTC),
        ),
    }
