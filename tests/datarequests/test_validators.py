"""Bad input: personal identity numbers never stored, EPM numbers checked, attachments
PDF only, the variable list read bounded and row by row."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from tests.datarequests.conftest import application_fields, pdf
from trialnode.datarequests import services
from trialnode.datarequests.models import Attachment, DataRequest, Variable
from trialnode.datarequests.validators import identity_numbers_in, luhn_valid
from trialnode.datarequests.variables import read_variables, template_bytes

# Skatteverket's published test personal identity numbers.
TEST_PNR = ["19640823-3234", "196408233234", "640823-3234", "19701063-2391"]


@pytest.mark.parametrize("number", TEST_PNR)
def test_a_personal_identity_number_is_found_by_its_luhn_check(number):
    assert identity_numbers_in(f"Patient {number} ska ingå") == [number]


def test_numbers_that_fail_the_luhn_check_or_are_no_date_are_not_taken_for_one():
    assert luhn_valid("6408233234")
    assert identity_numbers_in("19640823-3235") == []
    assert identity_numbers_in("EPM 2022-01051-01, 2024-12-31") == []
    assert identity_numbers_in("19641323-3234") == []


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["title", "purpose", "cohort_description", "environment"])
def test_a_case_never_stores_a_personal_identity_number(users, field):
    fields = application_fields(**{field: "Bland annat 19640823-3234."})
    with pytest.raises(ValidationError) as caught:
        services.datarequest_create(by=users.registrant, fields=fields)
    assert field in caught.value.message_dict
    assert not DataRequest.objects.exists()


@pytest.mark.django_db
def test_reasons_and_reviews_are_checked_too(users, staff, draft):
    case = services.datarequest_submit(case=draft, by=users.registrant)
    with pytest.raises(ValidationError):
        services.datarequest_return_for_supplement(
            case=case, by=staff.officer, reason="Gäller 196408233234"
        )
    case.refresh_from_db()
    assert case.stage == "submitted"


@pytest.mark.django_db
@pytest.mark.parametrize("dnr", ["2022-1051-01", "22-01051-01", "2022-01051-1", "abc"])
def test_an_epm_number_in_a_wrong_format_is_refused(users, dnr):
    with pytest.raises(ValidationError) as caught:
        services.datarequest_create(by=users.registrant, fields=application_fields(epm_dnr=dnr))
    assert "epm_dnr" in caught.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("dnr", ["2022-01051-01", "2019-03783", "2013/1620-31/2"])
def test_epm_numbers_of_every_era_are_accepted(users, dnr):
    case = services.datarequest_create(by=users.registrant, fields=application_fields(epm_dnr=dnr))
    assert case.epm_dnr == dnr


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, content",
    [
        ("beslut.docx", b"%PDF-1.4 not really"),
        ("beslut.pdf", b"MZ\x90\x00 an executable"),
        ("beslut.pdf", b"<html>hej</html>"),
    ],
)
def test_only_pdf_files_are_attached(users, name, content):
    case = services.datarequest_create(by=users.registrant, fields=application_fields())
    with pytest.raises(ValidationError):
        services.attachment_add(
            case=case, by=users.registrant, kind="epm_decision", upload=pdf(name, content)
        )
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_a_too_large_attachment_is_refused(users, monkeypatch):
    monkeypatch.setenv("TRIALNODE_DATAREQUEST_MAX_ATTACHMENT_MB", "1")
    case = services.datarequest_create(by=users.registrant, fields=application_fields())
    big = pdf("stor.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1))
    with pytest.raises(ValidationError, match="larger"):
        services.attachment_add(case=case, by=users.registrant, kind="other", upload=big)
    assert not Attachment.objects.exists()


def _xlsx(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_template_reads_back_as_its_example_row():
    rows = read_variables("mall.xlsx", template_bytes())
    assert [(r.source, r.name) for r in rows] == [
        ("Patientjournal (Cosmic)", "Diagnoskod ICD-10-SE")
    ]


def test_a_filled_template_with_bad_rows_is_refused_naming_each_row():
    data = _xlsx(
        [
            ["source", "variable", "period_from", "period_to", "comment"],
            ["Journal", "Diagnos", "2020-01-01", "2024-12-31", ""],
            ["Journal", "", "2020-01-01", "2024-12-31", ""],
            ["Journal", "Vikt", "i fjol", "2024-12-31", ""],
        ]
    )
    with pytest.raises(ValidationError) as caught:
        read_variables("lista.xlsx", data)
    assert any("Row 3" in m for m in caught.value.messages)
    assert any("Row 4" in m for m in caught.value.messages)


def test_the_reader_is_bounded():
    header = "source,variable,period_from,period_to\n"
    too_many = header + "J,V,2020-01-01,2020-12-31\n" * 501
    with pytest.raises(ValidationError, match="500"):
        read_variables("lista.csv", too_many.encode())
    with pytest.raises(ValidationError, match="2 MB"):
        read_variables("lista.csv", b"x" * (2 * 1024 * 1024 + 1))
    with pytest.raises(ValidationError):
        read_variables("lista.txt", header.encode())
    with pytest.raises(ValidationError):
        read_variables("lista.xlsx", b"PK not a zip")


@pytest.mark.django_db
def test_a_variable_list_with_a_bad_row_writes_nothing(users, draft):
    rows = [
        services.VariableRow("Journal", "Diagnos", "2020-01-01", "2024-12-31"),
        services.VariableRow("Journal", "19640823-3234", "2020-01-01", "2024-12-31"),
    ]
    before = list(Variable.objects.values_list("pk", flat=True))
    with pytest.raises(ValidationError, match="Row 2"):
        services.variables_replace(case=draft, by=users.registrant, rows=rows)
    assert list(Variable.objects.values_list("pk", flat=True)) == before
