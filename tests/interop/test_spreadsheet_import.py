"""A coordinator imports studies from a spreadsheet: preview first, nothing written before."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from trialnode.audit.models import AuditEvent
from trialnode.studies.models import Study

HEADER = (
    "title_sv,study_type,sponsor_name,sponsor_type,epm_dnr,summary_sv,conditions,"
    "care_providers,contact_name\n"
)


def _csv(*lines: str) -> io.BytesIO:
    upload = io.BytesIO((HEADER + "\n".join(lines)).encode("utf-8"))
    upload.name = "studies.csv"
    return upload


def test_the_preview_shows_each_row_and_writes_nothing(client, users):
    client.force_login(users.coordinator)
    events = AuditEvent.objects.count()
    response = client.post(
        "/koppling/kalkylark/",
        {
            "file": _csv(
                "Astma hos vuxna,OBSERVATIONAL,Region Uppsala,ACADEMIC,2024-00011-01,Vi följer astma.,"
                "J45.9 Astma,akademiska,Studiekontakt",
                "Felaktig,INTERVENTIONAL,X,ACADEMIC,2024-1,Text,,akademiska,Studiekontakt",
            )
        },
    )
    page = response.content.decode()
    assert "Will be created as a draft" in page
    assert "is not an Ethical Review Authority reference number" in page
    assert not Study.objects.exists()
    assert AuditEvent.objects.count() == events


def test_confirming_creates_the_valid_rows(client, users):
    client.force_login(users.coordinator)
    client.post(
        "/koppling/kalkylark/",
        {
            "file": _csv(
                "Astma hos vuxna,OBSERVATIONAL,Region Uppsala,ACADEMIC,2024-00011-01,Vi följer astma.,"
                "J45.9 Astma,akademiska,Studiekontakt",
                "Felaktig,INTERVENTIONAL,X,ACADEMIC,2024-1,Text,,akademiska,Studiekontakt",
            )
        },
    )
    client.post("/koppling/kalkylark/", {"confirm": "1"})
    study = Study.objects.get()
    assert study.title_sv == "Astma hos vuxna"
    assert study.conditions.get().icd10_code == "J45.9"
    assert study.sites.get().care_provider.slug == "akademiska"
    assert study.owner == users.coordinator


def test_a_row_matching_an_existing_study_updates_it(client, users, make_study):
    existing = make_study(title_sv="Gammal titel", epm_dnr="2024-00011-01")
    client.force_login(users.coordinator)
    client.post(
        "/koppling/kalkylark/",
        {
            "file": _csv(
                "Ny titel,OBSERVATIONAL,Region Uppsala,ACADEMIC,2024-00011-01,Text,J45.9 Astma,"
                "akademiska,Studiekontakt"
            )
        },
    )
    client.post("/koppling/kalkylark/", {"confirm": "1"})
    existing.refresh_from_db()
    assert existing.title_sv == "Ny titel"
    assert Study.objects.count() == 1


def test_an_xlsx_with_missing_columns_is_refused_as_a_whole(client, users):
    workbook = Workbook()
    workbook.active.append(["title_sv", "sponsor_name"])
    workbook.active.append(["Astma", "Region Uppsala"])
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)
    data.name = "studies.xlsx"
    client.force_login(users.coordinator)
    response = client.post("/koppling/kalkylark/", {"file": data})
    assert response.status_code == 400
    assert "Columns missing: study_type, care_providers" in response.content.decode()


def test_the_template_has_every_column(client, users):
    from trialnode.interop.spreadsheet import COLUMNS

    client.force_login(users.coordinator)
    sheet = load_workbook(io.BytesIO(client.get("/koppling/kalkylark/mall.xlsx").content)).active
    assert [cell.value for cell in next(sheet.iter_rows())] == COLUMNS


def test_only_coordinators_import(client, users):
    client.force_login(users.registrant)
    assert client.get("/koppling/kalkylark/").status_code == 403


def _upload(client, name: str, content: bytes):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post("/koppling/kalkylark/", {"file": upload})


ROW = (
    "Astma hos vuxna,OBSERVATIONAL,Region Uppsala,ACADEMIC,2024-00011-01,Vi följer astma.,"
    "J45.9 Astma,akademiska,Studiekontakt"
)


def test_a_semicolon_separated_file_from_swedish_excel_reads_the_same(client, users):
    client.force_login(users.coordinator)
    text = "\ufeff" + HEADER.replace(",", ";") + ROW.replace(",", ";") + "\n"
    page = _upload(client, "studies.csv", text.encode()).content.decode()
    assert "Will be created as a draft" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"title_sv\nEn studie\n", "Columns missing: study_type, care_providers"),
        (b"just one column\nx\n", "names none of the"),
        (b"", "The file is empty."),
        (
            (HEADER + ROW.replace("Vi följer astma.", "x" * 200_000) + "\n").encode(),
            "cannot be read",
        ),
    ],
)
def test_a_file_that_cannot_be_read_gets_a_clear_message_and_changes_nothing(
    client, users, content, message
):
    client.force_login(users.coordinator)
    events = AuditEvent.objects.count()
    response = _upload(client, "studies.csv", content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert AuditEvent.objects.count() == events


def test_control_characters_are_removed_from_the_cells(client, users):
    client.force_login(users.coordinator)
    _upload(client, "studies.csv", (HEADER + ROW.replace("Astma hos", "Astma\x00 hos")).encode())
    client.post("/koppling/kalkylark/", {"confirm": "1"})
    assert Study.objects.get().title_sv == "Astma hos vuxna"


def test_the_preview_waits_on_disk_and_the_session_keeps_only_its_key(client, users):
    client.force_login(users.coordinator)
    rows = "\n".join(
        ROW.replace("Astma hos vuxna", f"Studie {n}").replace("2024-00011-01", f"2024-00{n:03d}-01")
        for n in range(200)
    )
    _upload(client, "studies.csv", (HEADER + rows).encode())
    key = client.session["spreadsheet_preview"]
    assert len(key) == 32 and len(client.session.encode(dict(client.session))) < 2_000
    client.post("/koppling/kalkylark/", {"confirm": "1"})
    assert Study.objects.count() == 200
    assert "spreadsheet_preview" not in client.session
    # A second confirmation finds nothing to confirm.
    response = client.post("/koppling/kalkylark/", {"confirm": "1"}, follow=True)
    assert "the preview has expired" in response.content.decode()
    assert Study.objects.count() == 200


def test_a_coordinator_registers_no_study_of_another_region_from_a_spreadsheet(client, users):
    client.force_login(users.other_coordinator)
    page = _upload(client, "studies.csv", (HEADER + ROW + "\n").encode()).content.decode()
    assert "None of the care providers is in your regions." in page


def test_an_xlsx_that_unpacks_to_too_much_is_refused_before_it_is_read(client, users):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (60 * 1024 * 1024) + b"/>")
    client.force_login(users.coordinator)
    response = _upload(client, "bomb.xlsx", buffer.getvalue())
    assert response.status_code == 400
    assert "unpacks to more than 50 MB" in response.content.decode()
