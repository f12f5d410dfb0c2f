"""A coordinator imports studies from a spreadsheet: preview first, nothing written before."""

import io

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
