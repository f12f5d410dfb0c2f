"""Demo cases in every stage, run through the real services at realistic past dates (one
returned for supplement, one over its deadline), and the handbook's first pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings

from trialnode.audit.context import acting_as
from trialnode.datarequests import services
from trialnode.datarequests.clock import STOCKHOLM, is_working_day, today
from trialnode.datarequests.models import DataRequest, HandbookPage, Review
from trialnode.organisations.models import CareProvider, User

DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

HANDBOOK = [
    ("sa-ansoker-du", "general", "Så ansöker du om hälsodata", "How to apply for health data",
     "Du som forskar vid ett universitet eller i hälso- och sjukvården och har ett projekt "
     "som godkänts av Etikprövningsmyndigheten kan ansöka. Fyll i formuläret steg för steg; "
     "utkastet sparas och checklistan visar vad som saknas innan du skickar in.",
     "Researchers at a university or in healthcare with a project approved by the Swedish "
     "Ethical Review Authority may apply. Fill in the form step by step; the draft is saved "
     "and the checklist shows what is missing before you submit."),
    ("projekt-och-syfte", "project", "Projekt och syfte", "Project and purpose",
     "Beskriv projektets syfte så att den som gör sekretessprövningen förstår varför varje "
     "variabel behövs. Skriv aldrig personnummer eller namn i ansökan.",
     "Describe the purpose so that the secrecy assessment can see why each variable is "
     "needed. Never write personal identity numbers or names in the application."),
    ("etikprovning", "ethics", "Etikprövning och rättslig grund", "Ethical review and legal basis",
     "Ange Etikprövningsmyndighetens diarienummer, till exempel 2024-01234-01, och bifoga "
     "ansökan med alla ändringar samt beslutet som PDF.",
     "Give the Ethical Review Authority's reference number, for example 2024-01234-01, and "
     "attach the application with all amendments and the decision as PDF."),
    ("variabellistan", "data", "Datakällor och variabellista", "Data sources and variable list",
     "Ladda ner mallen, fyll i en rad per variabel med källa, variabel och period, och ladda "
     "upp den igen. Be bara om de variabler projektet behöver.",
     "Download the template, fill in one row per variable with source, variable and period, "
     "and upload it again. Ask only for the variables the project needs."),
    ("miljo-och-utdata", "environment", "Miljö och utdata", "Environment and output",
     "Beskriv var data ska lagras och bearbetas och vem som har åtkomst. Aggregerade tabeller "
     "granskas så att små celler undertrycks innan de lämnas ut.",
     "Describe where the data will be stored and processed and who has access. Aggregated "
     "tables are reviewed so that small cells are suppressed before release."),
    ("bilagor", "attachments", "Bilagor", "Attachments",
     "Bilagor laddas upp som PDF, högst 20 MB per fil: EPM-ansökan med ändringar, "
     "EPM-beslutet samt forskningspersonsinformation och samtyckesblankett.",
     "Attachments are PDF, at most 20 MB each: the EPM application with amendments, the EPM "
     "decision, and the patient information and consent forms."),
    ("efter-inskick", "process", "Vad händer efter inskick?", "What happens after submission?",
     "Handläggaren kontrollerar att ansökan är komplett inom 5 arbetsdagar. Därefter gör en "
     "jurist och en dataingenjör förhandsbedömningen parallellt inom 15 arbetsdagar. "
     "Vårdgivaren fattar beslut inom 3 månader från komplett ansökan. Klockan står still "
     "medan ansökan är hos dig för komplettering.",
     "The case officer checks completeness within 5 working days. A legal reviewer and a "
     "data engineer then pre-qualify the case in parallel within 15 working days. The care "
     "provider decides within 3 months of a complete application. The clock stops while the "
     "application is with you for a supplement."),
    ("vanliga-fragor", "faq", "Vanliga frågor", "Frequently asked questions",
     "Kan jag få personnummer? Nej, data lämnas ut pseudonymiserade eller aggregerade.\n\n"
     "Hur lång tid tar det? Du ser på ditt ärende vilket steg det är i, sedan när, och när "
     "steget väntas vara klart.",
     "Can I get personal identity numbers? No, data are released pseudonymised or "
     "aggregated.\n\nHow long does it take? Your case shows its stage, since when, and when "
     "the stage is expected to be done."),
]  # fmt: skip


@contextmanager
def _at(moment: dt.datetime) -> Iterator[None]:
    """Run the services as if it were ``moment`` (the trail gets the same time, in UTC as
    ``timezone.now`` gives it)."""
    with mock.patch("django.utils.timezone.now", return_value=moment.astimezone(dt.UTC)):
        yield


def _day(working_days_ago: int, hour: int = 10) -> dt.datetime:
    """The working day ``working_days_ago`` before today, at ``hour`` in Stockholm."""
    day = today()
    while working_days_ago > 0:
        day -= dt.timedelta(days=1)
        if is_working_day(day):
            working_days_ago -= 1
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM)


def _fields(holder: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "applicant_organisation": "Uppsala universitet",
        "applicant_kind": "university",
        "data_holder": CareProvider.objects.get(slug=holder),
        "source": "patient_records",
        "title": "Hjärtsvikt efter covid-19",
        "purpose": "Att beskriva förekomst och behandling av hjärtsvikt efter covid-19.",
        "legal_basis": "epm",
        "epm_dnr": "2023-04512-01",
        "epm_decision_date": dt.date(2023, 9, 14),
        "cohort_description": "Vuxna med diagnos U07.1 och därefter I50 under 2020–2024.",
        "environment": "Universitetets säkra analysmiljö; åtkomst för projektets två forskare.",
        "output_kind": "pseudonymised",
    }
    fields.update(overrides)
    return fields


def _prepare(case: DataRequest, by: User) -> None:
    services.variables_replace(
        case=case,
        by=by,
        rows=[
            services.VariableRow("Patientjournal", "Diagnoskod ICD-10-SE", dt.date(2020, 1, 1), dt.date(2024, 12, 31)),
            services.VariableRow("Patientjournal", "Ordinerade läkemedel (ATC)", dt.date(2020, 1, 1), dt.date(2024, 12, 31)),
            services.VariableRow("Patientjournal", "Ejektionsfraktion (ekokardiografi)", dt.date(2020, 1, 1), dt.date(2024, 12, 31)),
        ],
    )  # fmt: skip
    for kind in ("epm_application", "epm_decision"):
        upload = SimpleUploadedFile(f"{kind}.pdf", DEMO_PDF, content_type="application/pdf")
        services.attachment_add(case=case, by=by, kind=kind, upload=upload)


class _Run:
    """One demo case taken through its steps, each at its own moment."""

    def __init__(self, users: dict[str, User], holder: str, **fields: Any) -> None:
        self.users = users
        self.holder = holder
        self.fields = fields
        self.case: DataRequest | None = None

    def at(self, when: dt.datetime, step: Callable[[DataRequest, dict[str, User]], Any]) -> _Run:
        with _at(when), acting_as(actor=None, via="demo"):
            if self.case is None:
                self.case = step(None, self.users)  # type: ignore[arg-type]
            else:
                step(DataRequest.objects.get(pk=self.case.pk), self.users)
        return self


def _create(holder: str, **fields: Any) -> Callable[[Any, dict[str, User]], DataRequest]:
    def step(_case: Any, users: dict[str, User]) -> DataRequest:
        case = services.datarequest_create(by=users["registrant"], fields=_fields(holder, **fields))
        _prepare(case, users["registrant"])
        return case

    return step


def _submit(case: DataRequest, users: dict[str, User]) -> Any:
    return services.datarequest_submit(case=case, by=users["registrant"])


def _return(case: DataRequest, users: dict[str, User]) -> Any:
    return services.datarequest_return_for_supplement(
        case=case,
        by=users["caseofficer"],
        reason="Bifoga forskningspersonsinformationen och samtyckesblanketten.",
    )


def _supplement(case: DataRequest, users: dict[str, User]) -> Any:
    upload = SimpleUploadedFile("samtycke.pdf", DEMO_PDF, content_type="application/pdf")
    services.attachment_add(case=case, by=users["registrant"], kind="consent", upload=upload)
    return services.datarequest_submit(
        case=case, by=users["registrant"], reason="Samtyckesmaterialet bifogat."
    )


def _accept(case: DataRequest, users: dict[str, User]) -> Any:
    return services.datarequest_accept_complete(case=case, by=users["caseofficer"])


def _legal(case: DataRequest, users: dict[str, User]) -> Any:
    return services.review_record(
        case=case,
        by=users["legal"],
        kind=Review.Kind.LEGAL,
        recommendation=Review.Recommendation.APPROVE,
        comment="Etikgodkännandet täcker variablerna; utlämnande kan ske enligt OSL 25:1.",
    )


def _technical(case: DataRequest, users: dict[str, User]) -> Any:
    return services.review_record(
        case=case,
        by=users["engineer"],
        kind=Review.Kind.TECHNICAL,
        recommendation=Review.Recommendation.APPROVE_WITH_CONDITIONS,
        comment="Uttaget är möjligt ur journalsystemet; ejektionsfraktion finns från 2021.",
    )


def _decide(outcome: str, text: str = "") -> Callable[[DataRequest, dict[str, User]], Any]:
    def step(case: DataRequest, users: dict[str, User]) -> Any:
        from trialnode.demo import DEMO_PASSWORD

        return services.datarequest_decide(
            case=case, by=users["caseofficer"], outcome=outcome, text=text, password=DEMO_PASSWORD
        )

    return step


def _assign(case: DataRequest, users: dict[str, User]) -> Any:
    return services.extraction_assign(
        case=case, by=users["caseofficer"], engineer=users["engineer"], estimated_hours=24
    )


def _extracted(case: DataRequest, users: dict[str, User]) -> Any:
    return services.extraction_complete(
        case=case,
        by=users["engineer"],
        output_description="Pseudonymiserad fil, 3 tabeller; celler under 5 undertryckta.",
    )


def _disclosure(case: DataRequest, users: dict[str, User]) -> Any:
    return services.disclosure_review_record(
        case=case, by=users["caseofficer"], passed=True, comment="Inga celler under 5; inga id."
    )


def _deliver(rows: int) -> Callable[[DataRequest, dict[str, User]], Any]:
    def step(case: DataRequest, users: dict[str, User]) -> Any:
        return services.datarequest_deliver(
            case=case, by=users["engineer"], checksum=f"{case.pk:064x}", row_count=rows
        )

    return step


def _confirm(case: DataRequest, users: dict[str, User]) -> Any:
    return services.datarequest_confirm_receipt(case=case, by=users["registrant"])


def _withdraw(case: DataRequest, users: dict[str, User]) -> Any:
    return services.datarequest_withdraw(
        case=case, by=users["registrant"], reason="Projektet avbröts i brist på finansiering."
    )


def _amend(case: DataRequest, users: dict[str, User]) -> Any:
    return services.datarequest_amend(
        case=case, by=users["registrant"], reason="Uppföljningen förlängs till och med 2025."
    )


def load_datarequests_demo() -> str:
    """Seed the handbook and a dozen cases; returns a line for the console."""
    users = {
        name: User.objects.get(username=name)
        for name in ("registrant", "caseofficer", "legal", "engineer")
    }
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        for position, (slug, step, title_sv, title_en, body_sv, body_en) in enumerate(HANDBOOK):
            HandbookPage.objects.create(
                slug=slug, step=step, title_sv=title_sv, title_en=title_en,
                body_sv=body_sv, body_en=body_en, position=position,
            )  # fmt: skip
        d = _day
        # A full run with a return for supplement on the way, delivered and closed.
        (
            _Run(users, "akademiska")
            .at(d(140), _create("akademiska"))
            .at(d(139), _submit)
            .at(d(136), _return)
            .at(d(128), _supplement)
            .at(d(126), _accept)
            .at(d(118), _legal)
            .at(d(113), _technical)
            .at(d(95), _decide("approved"))
            .at(d(94), _assign)
            .at(d(80), _extracted)
            .at(d(77), _disclosure)
            .at(d(76), _deliver(4812))
            .at(d(74), _confirm)
        )
        # Delivered cases of other data holders and sources.
        (
            _Run(users, "uso")
            .at(
                d(120),
                _create(
                    "uso",
                    title="Strokevård i Örebro län",
                    source="quality_registry",
                    output_kind="aggregated",
                ),
            )
            .at(d(119), _submit)
            .at(d(116), _accept)
            .at(d(106), _technical)
            .at(d(104), _legal)
            .at(
                d(80),
                _decide(
                    "approved_with_conditions", "Endast aggregerade tabeller med minst 5 per cell."
                ),
            )
            .at(d(79), _assign)
            .at(d(60), _extracted)
            .at(d(57), _disclosure)
            .at(d(56), _deliver(212))
            .at(d(50), _confirm)
        )
        (
            _Run(users, "vastmanlands-sjukhus")
            .at(
                d(70),
                _create(
                    "vastmanlands-sjukhus",
                    title="Antibiotikaresistens i slutenvården",
                    source="laboratory",
                ),
            )
            .at(d(69), _submit)
            .at(d(65), _accept)
            .at(d(55), _legal)
            .at(d(52), _technical)
            .at(d(40), _decide("approved"))
            .at(d(39), _assign)
            .at(d(8), _extracted)
            .at(d(5), _disclosure)
            .at(d(3), _deliver(15230))
        )
        # Cases at every other stage.
        (
            _Run(users, "akademiska")
            .at(
                d(45),
                _create(
                    "akademiska", title="Diabetes typ 2 och njurfunktion", source="administrative"
                ),
            )
            .at(d(44), _submit)
            .at(d(41), _accept)
            .at(d(30), _legal)
            .at(d(28), _technical)
            .at(d(12), _decide("approved"))
            .at(d(11), _assign)
            .at(d(2), _extracted)
        )
        (
            _Run(users, "uso")
            .at(d(50), _create("uso", title="Höftfrakturer hos äldre"))
            .at(d(49), _submit)
            .at(d(46), _accept)
            .at(d(35), _legal)
            .at(d(33), _technical)
            .at(d(15), _decide("approved_with_conditions", "Utdata endast i säker miljö."))
            .at(d(14), _assign)
        )
        (
            _Run(users, "akademiska")
            .at(d(40), _create("akademiska", title="Graviditetsdiabetes och barnets vikt"))
            .at(d(39), _submit)
            .at(d(36), _accept)
            .at(d(25), _legal)
            .at(d(20), _technical)
        )
        # Over its deadline: pre-qualification began 25 working days ago (target 15).
        (
            _Run(users, "falu-lasarett")
            .at(d(29), _create("falu-lasarett", title="Sepsis på akutmottagningen"))
            .at(d(28), _submit)
            .at(d(25), _accept)
            .at(d(12), _legal)
        )
        # Returned for supplement: the clock is stopped.
        (
            _Run(users, "akademiska")
            .at(d(14), _create("akademiska", title="Astma hos barn och luftföroreningar"))
            .at(d(13), _submit)
            .at(d(10), _return)
        )
        (
            _Run(users, "uso")
            .at(d(3), _create("uso", title="Depression efter hjärtinfarkt"))
            .at(d(2), _submit)
        )
        (
            _Run(users, "akademiska")
            .at(
                d(60),
                _create("akademiska", title="Genetisk screening utan samtycke", source="other"),
            )
            .at(d(59), _submit)
            .at(d(56), _accept)
            .at(d(45), _legal)
            .at(d(44), _technical)
            .at(
                d(30),
                _decide(
                    "rejected", "Den rättsliga grunden saknas för genetiska data utan samtycke."
                ),
            )
        )
        (
            _Run(users, "akademiska")
            .at(d(35), _create("akademiska", title="Sömnapné och trafikolyckor"))
            .at(d(34), _submit)
            .at(d(20), _withdraw)
        )
        # Closed, then amended: version 2 is back with the applicant as a draft.
        (
            _Run(users, "akademiska")
            .at(d(200), _create("akademiska", title="Förmaksflimmer och antikoagulantia"))
            .at(d(199), _submit)
            .at(d(196), _accept)
            .at(d(186), _legal)
            .at(d(185), _technical)
            .at(d(170), _decide("approved"))
            .at(d(169), _assign)
            .at(d(150), _extracted)
            .at(d(148), _disclosure)
            .at(d(147), _deliver(9120))
            .at(d(145), _confirm)
            .at(d(5), _amend)
        )
        # A draft with gaps in its checklist.
        with _at(d(1)), acting_as(actor=None, via="demo"):
            services.datarequest_create(
                by=users["registrant"],
                fields=_fields("akademiska", title="Långtidsuppföljning av cancerbehandling", cohort_description=""),
            )  # fmt: skip
    total = DataRequest.objects.count()
    return f"Health-data requests: {total} demo cases in every stage, handbook with {len(HANDBOOK)} pages."
