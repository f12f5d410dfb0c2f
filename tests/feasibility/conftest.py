"""Fixtures of the feasibility tests: a sponsor organisation, a directory in two regions."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from trialnode.feasibility import services
from trialnode.feasibility.models import DirectoryEntry, SponsorMembership, SponsorOrganisation
from trialnode.organisations.models import CareProvider, Region, Role, RoleAssignment, User


@pytest.fixture(autouse=True)
def _synopses_in_a_temporary_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def pdf(name: str = "synopsis.pdf", size: int = 2000) -> SimpleUploadedFile:
    body = b"%PDF-1.4\n" + b"0" * max(0, size - 15) + b"\n%%EOF"
    return SimpleUploadedFile(name, body, content_type="application/pdf")


@pytest.fixture
def organisation(users) -> SponsorOrganisation:
    organisation = SponsorOrganisation.objects.create(name="Läkemedel AB", kind="industry")
    SponsorMembership.objects.create(organisation=organisation, user=users.sponsor)
    return organisation


@pytest.fixture
def other_sponsor(users) -> User:
    user = User.objects.create_user(
        username="other_sponsor", email="other_sponsor@example.se", password="pw-other_sponsor"
    )
    RoleAssignment.objects.create(user=user, role=Role.SPONSOR)
    organisation = SponsorOrganisation.objects.create(name="Annan CRO AB", kind="cro")
    SponsorMembership.objects.create(organisation=organisation, user=user)
    return user


@pytest.fixture
def directory(reference_data) -> dict[str, DirectoryEntry]:
    """Cardiology units in Uppsala (Akademiska) and Örebro, a lung unit in Uppsala."""
    orebro = CareProvider.objects.filter(region__slug="orebro").first()
    assert orebro is not None
    akademiska = CareProvider.objects.get(slug="akademiska")

    def entry(provider, unit, areas, expert=False):
        return DirectoryEntry.objects.create(
            care_provider=provider,
            unit_name=unit,
            investigator=f"Prövare {unit}",
            email=f"{provider.slug}.{unit.lower()}@example.se",
            specialty=unit,
            therapy_areas=areas,
            is_expert=expert,
        )

    return {
        "uppsala_heart": entry(akademiska, "Kardiologi", ["IX"], expert=True),
        "uppsala_lung": entry(akademiska, "Lungmedicin", ["X"]),
        "orebro_heart": entry(orebro, "Kardiologi", ["IX"], expert=True),
    }


@pytest.fixture
def national_coordinator(users) -> User:
    from trialnode.organisations.models import Node

    user = User.objects.create_user(
        username="national", email="national@example.se", password="pw-national"
    )
    for node in Node.objects.all():
        RoleAssignment.objects.create(user=user, role=Role.COORDINATOR, node=node)
    return user


SITE_FIELDS = {
    "title": "Ny behandling vid hjärtsvikt",
    "therapy_area": "IX",
    "indication_purpose": "Hjärtsvikt med bevarad ejektionsfraktion",
    "phase": "PHASE3",
    "inclusion_criteria": "Vuxna över 40 år",
    "sponsor_contact_name": "Studieansvarig",
    "sponsor_contact_email": "studie@example.se",
}


def submit_site(sponsor, *, regions=("uppsala", "orebro"), **overrides):
    fields = {**SITE_FIELDS, "reply_by": dt.date.today() + dt.timedelta(days=20), **overrides}
    return services.inquiry_submit(
        by=sponsor,
        kind="site",
        fields=fields,
        all_sweden=False,
        regions=Region.objects.filter(slug__in=regions),
    )


def submit_country(sponsor, **overrides):
    fields = {
        "title": "Kan studien göras i Sverige?",
        "therapy_area": "IX",
        "product": "Läkemedel X",
        "planned_start": dt.date.today() + dt.timedelta(days=200),
        "is_atmp": False,
        "sponsor_contact_name": "Studieansvarig",
        "sponsor_contact_email": "studie@example.se",
        "reply_by": dt.date.today() + dt.timedelta(days=20),
        **overrides,
    }
    return services.inquiry_submit(
        by=sponsor, kind="country", fields=fields, all_sweden=True, synopsis=pdf()
    )


__all__ = ["io", "pdf", "submit_country", "submit_site"]
