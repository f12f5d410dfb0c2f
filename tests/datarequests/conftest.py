"""Staff of the data-release process, and an application ready to submit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from trialnode.datarequests import services
from trialnode.datarequests.clock import STOCKHOLM

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PASSWORD = "pw-caseofficer"


@pytest.fixture(autouse=True)
def _attachments_in_a_temporary_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


class Staff:
    def __init__(self) -> None:
        from trialnode.organisations.models import Node, Role, RoleAssignment, User

        def make(username: str, role: str, node: str) -> User:
            user = User.objects.create_user(
                username=username, email=f"{username}@example.se", password=f"pw-{username}"
            )
            RoleAssignment.objects.create(user=user, role=role, node=Node.objects.get(slug=node))
            return user

        self.officer = make("caseofficer", Role.CASE_OFFICER, "forum-mellansverige")
        self.legal = make("legal", Role.LEGAL_REVIEWER, "forum-mellansverige")
        self.engineer = make("engineer", Role.DATA_ENGINEER, "forum-mellansverige")
        self.second_engineer = make("engineer2", Role.DATA_ENGINEER, "forum-mellansverige")
        self.other_officer = make("caseofficer_soder", Role.CASE_OFFICER, "forum-soder")
        self.other_legal = make("legal_soder", Role.LEGAL_REVIEWER, "forum-soder")


@pytest.fixture
def staff(users) -> Staff:
    return Staff()


def application_fields(**overrides):
    from trialnode.organisations.models import CareProvider

    fields = {
        "applicant_organisation": "Uppsala universitet",
        "applicant_kind": "university",
        "data_holder": CareProvider.objects.get(slug="akademiska"),
        "source": "patient_records",
        "title": "Hjärtsvikt efter covid-19",
        "purpose": "Att beskriva hjärtsvikt efter covid-19.",
        "legal_basis": "epm",
        "epm_dnr": "2023-04512-01",
        "epm_decision_date": dt.date(2023, 9, 14),
        "cohort_description": "Vuxna med U07.1 och därefter I50.",
        "environment": "Universitetets säkra analysmiljö.",
        "output_kind": "pseudonymised",
    }
    fields.update(overrides)
    return fields


def pdf(name: str = "beslut.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def ready_application(applicant, **overrides):
    """A draft whose checklist is complete."""
    case = services.datarequest_create(by=applicant, fields=application_fields(**overrides))
    services.variables_replace(
        case=case,
        by=applicant,
        rows=[
            services.VariableRow(
                "Patientjournal", "Diagnoskod", dt.date(2020, 1, 1), dt.date(2024, 12, 31)
            )
        ],
    )
    services.attachment_add(case=case, by=applicant, kind="epm_application", upload=pdf("a.pdf"))
    services.attachment_add(case=case, by=applicant, kind="epm_decision", upload=pdf("b.pdf"))
    return case


@pytest.fixture
def draft(users):
    return ready_application(users.registrant)


@contextmanager
def at(day: dt.date, hour: int = 10) -> Iterator[None]:
    """Everything inside happens at ``hour`` o'clock on ``day`` in Stockholm."""
    moment = dt.datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM)
    with mock.patch("django.utils.timezone.now", return_value=moment.astimezone(dt.UTC)):
        yield


def run_to_decision(case, users, staff):
    case = services.datarequest_submit(case=case, by=users.registrant)
    case = services.datarequest_accept_complete(case=case, by=staff.officer)
    services.review_record(
        case=case, by=staff.legal, kind="legal", recommendation="approve", comment="OSL 25:1 ok"
    )
    services.review_record(
        case=case, by=staff.engineer, kind="technical", recommendation="approve", comment="Möjligt"
    )
    case.refresh_from_db()
    return case


def run_to_delivery(case, users, staff):
    case = run_to_decision(case, users, staff)
    case = services.datarequest_decide(
        case=case, by=staff.officer, outcome="approved", text="", password=PASSWORD
    )
    case = services.extraction_assign(
        case=case, by=staff.officer, engineer=staff.engineer, estimated_hours=16
    )
    case = services.extraction_complete(
        case=case, by=staff.engineer, output_description="Tre tabeller, celler under 5 dolda."
    )
    services.disclosure_review_record(
        case=case, by=staff.second_engineer, passed=True, comment="Inga små celler."
    )
    return services.datarequest_deliver(
        case=case, by=staff.engineer, checksum="a" * 64, row_count=1234
    )
