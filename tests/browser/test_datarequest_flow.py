"""A health-data request from application to delivery in a real browser, in Swedish, with
a return for supplement on the way; then the measures and the audit trail tell it."""

from __future__ import annotations

import json

import pytest
from openpyxl import Workbook

from tests.browser.test_public_pages import _serious_violations, browser  # noqa: F401
from tests.datarequests.conftest import PDF, Staff
from trialnode.audit.models import AuditEvent
from trialnode.datarequests import clock
from trialnode.datarequests.models import DataRequest, Stage

pytestmark = pytest.mark.browser


@pytest.fixture
def files(tmp_path):
    for name in ("epm-ansokan.pdf", "epm-beslut.pdf", "samtycke.pdf"):
        (tmp_path / name).write_bytes(PDF)
    book = Workbook()
    sheet = book.active
    sheet.append(["source", "variable", "period_from", "period_to", "comment"])
    sheet.append(["Patientjournal", "Diagnoskod ICD-10-SE", "2020-01-01", "2024-12-31", ""])
    sheet.append(["Patientjournal", "Ejektionsfraktion", "2021-01-01", "2024-12-31", "eko"])
    book.save(tmp_path / "variabler.xlsx")
    return tmp_path


@pytest.fixture
def world(live_server, transactional_db, users, settings, tmp_path):
    settings.LANGUAGE_CODE = "sv"
    settings.DATA_DIR = tmp_path
    return users, Staff()


class Session:
    def __init__(self, browser, live_server, username: str, width: int = 1280) -> None:  # noqa: F811
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, bypass_csp=True
        )
        self.page = self.context.new_page()
        self.base = live_server.url
        self.page.goto(self.base + "/accounts/login/")
        self.page.locator("main input[name=username]").fill(username)
        self.page.locator("main input[name=password]").fill(f"pw-{username}")
        self.page.locator("main button[type=submit]").click()
        self.page.wait_for_load_state()

    def open_case(self, case: DataRequest) -> None:
        self.page.goto(f"{self.base}/datauttag/{case.pk}/")

    def step(self, button: str, **fields: str) -> None:
        for name, value in fields.items():
            field = self.page.locator(f"[name='{name}']")
            if field.evaluate("el => el.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        self.page.get_by_role("button", name=button).click()
        self.page.wait_for_load_state()
        assert "Klart:" in self.page.content(), self.page.content()[:3000]

    def close(self) -> None:
        self.context.close()


def test_a_case_runs_from_application_to_delivery_with_a_return_for_supplement(
    browser,  # noqa: F811
    live_server,
    world,
    files,
):
    _users, staff = world
    applicant = Session(browser, live_server, "registrant", width=375)
    page = applicant.page
    page.goto(live_server.url + "/datauttag/ny/")
    assert _serious_violations(page) == []
    page.get_by_label("Projekttitel").fill("Hjärtsvikt efter covid-19")
    page.get_by_label("Projektets syfte").fill("Att beskriva hjärtsvikt efter covid-19.")
    page.get_by_label("Sökandes organisation").fill("Uppsala universitet")
    page.get_by_label("Sökande arbetar inom").select_option("university")
    page.get_by_label("Rättslig grund").select_option("epm")
    page.get_by_label("EPM-diarienummer").fill("2023-04512-01")
    page.get_by_label("Datum för EPM-beslutet").fill("2023-09-14")
    page.get_by_label("Datahållare (vårdgivaren som beslutar)").select_option(
        label="Akademiska sjukhuset"
    )
    page.get_by_label("Datakälla").select_option("patient_records")
    page.get_by_label("Urvalet beskrivet i ord").fill("Vuxna med U07.1 och därefter I50.")
    page.get_by_label("Miljö där data ska bearbetas").fill("Universitetets säkra analysmiljö.")
    page.get_by_label("Önskade utdata").select_option("pseudonymised")
    page.get_by_role("button", name="Spara utkastet").click()
    page.wait_for_url("**/datauttag/*/")
    case = DataRequest.objects.get()
    assert "Minst en variabel i variabellistan" in page.content()
    page.locator("input[name=variables-file]").set_input_files(str(files / "variabler.xlsx"))
    page.get_by_role("button", name="Ladda upp variabellistan").click()
    page.wait_for_load_state()
    assert "2 variabler är sparade" in page.content()
    for kind, name in (("epm_application", "epm-ansokan.pdf"), ("epm_decision", "epm-beslut.pdf")):
        page.locator("select[name=attachment-kind]").select_option(kind)
        page.locator("input[name=attachment-file]").set_input_files(str(files / name))
        page.get_by_role("button", name="Lägg till bilagan").click()
        page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert _serious_violations(page) == []
    applicant.step("Skicka in ansökan")
    assert "Kompletthetskontroll" in page.content() and "väntas klart" in page.content()

    officer = Session(browser, live_server, "caseofficer")
    officer.open_case(case)
    officer.step("Återsänd för komplettering", **{"return-reason": "Bifoga samtyckesblanketten."})

    applicant.open_case(case)
    assert "klockan står still" in page.content()
    page.locator("select[name=attachment-kind]").select_option("consent")
    page.locator("input[name=attachment-file]").set_input_files(str(files / "samtycke.pdf"))
    page.get_by_role("button", name="Lägg till bilagan").click()
    page.wait_for_load_state()
    applicant.step("Skicka in ansökan", **{"submit-reason": "Samtycket bifogat."})

    officer.open_case(case)
    officer.step("Ansökan är komplett")
    legal = Session(browser, live_server, "legal")
    legal.open_case(case)
    legal.step(
        "Registrera din bedömning",
        **{
            "review-kind": "legal",
            "review-recommendation": "approve",
            "review-comment": "OSL 25:1",
        },
    )
    engineer = Session(browser, live_server, "engineer")
    engineer.open_case(case)
    engineer.step(
        "Registrera din bedömning",
        **{"review-kind": "technical", "review-recommendation": "approve", "review-comment": "Ok"},
    )
    officer.open_case(case)
    assert "Säkra personer" in officer.page.content()  # the Five Safes before signing
    officer.page.get_by_role("button", name="Besluta och signera").click()
    officer.page.wait_for_load_state()
    assert "lösenord" in officer.page.content().lower()  # no signature, no decision
    case.refresh_from_db()
    assert case.stage == Stage.DECISION
    officer.step(
        "Besluta och signera",
        **{"decide-outcome": "approved", "decide-password": "pw-caseofficer"},
    )
    officer.step(
        "Fördela uttaget",
        **{"assign-engineer": str(staff.engineer.pk), "assign-estimated_hours": "16"},
    )
    engineer.open_case(case)
    engineer.step("Uttaget är klart", **{"extraction-done-output_description": "Tre tabeller."})
    second = Session(browser, live_server, "engineer2")
    second.open_case(case)
    second.step(
        "Röjandekontroll av utdata",
        **{"disclosure-passed": "yes", "disclosure-comment": "Inga celler under 5."},
    )
    second.step("Lämna ut", **{"deliver-checksum": "c" * 64, "deliver-row_count": "2041"})

    applicant.open_case(case)
    assert "2041" in page.content()
    applicant.step("Bekräfta mottagandet")
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED

    periods = list(case.periods.order_by("started_at", "id"))
    assert [p.stage for p in periods] == [
        "draft", "submitted", "supplement", "submitted", "prequalification", "decision",
        "extraction", "disclosure_review", "delivered", "closed",
    ]  # fmt: skip
    measures = applicant.page.request.get(
        f"{live_server.url}/api/v1/datarequests/measures?year={clock.local_date(case.submitted_at).year}"
    ).json()
    assert measures["cases"] == 1 and measures["delivered"] == 1
    assert measures["by_stage"]["closed"] == 1
    lead = clock.lead_time(periods)
    assert lead == sum(
        clock.period_working_days(p) for p in periods if p.stage in clock.CLOCK_STAGES
    )
    assert measures["lead_time_working_days"] == {"median": float(lead), "p90": float(lead)}

    story = [
        json.loads(event.payload)
        for event in AuditEvent.objects.filter(
            action="transition", object_type="datarequests.datarequest", object_id=str(case.pk)
        ).order_by("seq")
    ]
    assert [(e["from_state"], e["to_state"], e["actor"]["name"]) for e in story] == [
        ("draft", "submitted", "registrant"),
        ("submitted", "supplement", "caseofficer"),
        ("supplement", "submitted", "registrant"),
        ("submitted", "prequalification", "caseofficer"),
        ("prequalification", "decision", "engineer"),
        ("decision", "extraction", "caseofficer"),
        ("extraction", "disclosure_review", "engineer"),
        ("disclosure_review", "delivered", "engineer2"),
        ("delivered", "closed", "registrant"),
    ]
    assert story[1]["reason"] == "Bifoga samtyckesblanketten."
    assert AuditEvent.objects.filter(action="signature", object_id=str(case.pk)).count() == 1
    for session in (applicant, officer, legal, engineer, second):
        session.close()
