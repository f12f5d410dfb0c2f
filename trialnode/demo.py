"""``trialnode demo``: reference data, a user for every role, real and local studies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from trialnode.counts.demo import load_counts_demo
from trialnode.datarequests.demo import load_datarequests_demo
from trialnode.env import sample_data_dir
from trialnode.feasibility.demo import load_feasibility_demo
from trialnode.interop.ctgov import import_records
from trialnode.interop.files import import_ctis_paths, iter_path_records
from trialnode.interop.linking import suggest_links
from trialnode.organisations.models import CareProvider, Node, Region, Role, RoleAssignment, User
from trialnode.organisations.services import reference_data_load
from trialnode.studies import services
from trialnode.studies.models import Status, Study
from trialnode.studies.synthetic import synthetic_studies_create

DEMO_PASSWORD = "demo-trialnode-2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: Role | None
    scope: str
    superuser: bool = False


DEMO_USERS = [
    DemoUser("registrant", "Registrerare", "(demo)", Role.REGISTRANT, "provider:akademiska"),
    DemoUser("coordinator", "Nodsamordnare Uppsala", "(demo)", Role.COORDINATOR, "region:uppsala"),
    DemoUser(
        "coordinator-orebro", "Nodsamordnare Örebro", "(demo)", Role.COORDINATOR, "region:orebro"
    ),
    DemoUser("sponsor", "Sponsor", "(demo)", Role.SPONSOR, ""),
    DemoUser("caseofficer", "Handläggare", "(demo)", Role.CASE_OFFICER, "node:forum-mellansverige"),
    DemoUser("legal", "Jurist", "(demo)", Role.LEGAL_REVIEWER, "node:forum-mellansverige"),
    DemoUser("engineer", "Dataingenjör", "(demo)", Role.DATA_ENGINEER, "node:forum-mellansverige"),
    DemoUser(
        "nodeadmin", "Nodadministratör", "(demo)", Role.NODE_ADMIN, "node:forum-mellansverige"
    ),
    DemoUser("auditor", "Granskare", "(demo)", Role.AUDITOR, "node:forum-mellansverige"),
    DemoUser("admin", "Administratör", "(demo)", None, "", superuser=True),
]


def _scope(scope: str) -> dict[str, object]:
    if not scope:
        return {}
    kind, slug = scope.split(":")
    models: dict[str, type[CareProvider | Region | Node]] = {
        "provider": CareProvider,
        "region": Region,
        "node": Node,
    }
    model = models[kind]
    field = {"provider": "care_provider", "region": "region", "node": "node"}[kind]
    return {field: model.objects.get(slug=slug)}


def create_demo_users() -> list[DemoUser]:
    for spec in DEMO_USERS:
        user = User.objects.create_user(
            username=spec.username,
            email=f"{spec.username}@demo.trialnode.se",
            password=DEMO_PASSWORD,
            first_name=spec.first_name,
            last_name=spec.last_name,
            is_staff=spec.superuser,
            is_superuser=spec.superuser,
        )
        if spec.role:
            RoleAssignment.objects.create(user=user, role=spec.role, **_scope(spec.scope))
    return DEMO_USERS


def load_ctgov_sample(folder: Path) -> tuple[int, int]:
    """Import the real ClinicalTrials.gov records (those with a site in Sweden are kept);
    (imported, rejected)."""
    sweden = folder / "ctgov" / "sweden.json"
    bulk = folder / "ctgov" / "ctg-studies.zip"
    summary = import_records(iter_path_records(sweden if sweden.is_file() else bulk))
    return summary.created + summary.updated, len(summary.rejected)


LOCAL_STUDIES: list[dict[str, Any]] = [
    {
        # Registered locally and also in ClinicalTrials.gov: the linking queue pairs them.
        "state": "published",
        "fields": {
            "title_sv": "Allogen stamcellstransplantation för barn och ungdomar med akut "
            "lymfatisk leukemi",
            "title_en": "Allogeneic stem cell transplantation for children and adolescents "
            "with acute lymphoblastic leukaemia",
            "nct_id": "NCT01949129",
            "epm_dnr": "2013/1620-31/2",
            "study_type": "INTERVENTIONAL",
            "interventional_kind": "OTHER_TREATMENT",
            "phase": "PHASE2_PHASE3",
            "sponsor_name": "St. Anna Kinderkrebsforschung",
            "sponsor_type": "ACADEMIC",
            "status": "RECRUITING",
            "summary_sv": (
                "Studien jämför behandlingar vid stamcellstransplantation för barn och "
                "ungdomar med akut lymfatisk leukemi."
            ),
            "max_age_years": 18,
        },
        "conditions": [{"icd10_code": "C91.0", "text": "Akut lymfatisk leukemi"}],
        "interventions": [{"type": "PROCEDURE", "name": "Stamcellstransplantation"}],
        "sites": ["akademiska"],
    },
    {
        "state": "published",
        "fields": {
            "title_sv": "Fysisk träning efter sjukhusvård för hjärtsvikt",
            "title_en": "Exercise training after hospital care for heart failure",
            "acronym": "TRÄNA-HF",
            "epm_dnr": "2024-01234-01",
            "study_type": "INTERVENTIONAL",
            "interventional_kind": "OTHER_TREATMENT",
            "sponsor_name": "Uppsala universitet",
            "sponsor_type": "ACADEMIC",
            "status": "RECRUITING",
            "summary_sv": (
                "Vi undersöker om ett tolv veckors träningsprogram efter sjukhusvård minskar "
                "risken att behöva läggas in igen hos personer med hjärtsvikten. Du tränar "
                "två gånger i veckan med fysioterapeut."
            ),
            "summary_en": (
                "We study whether a twelve-week exercise programme after hospital care "
                "reduces readmissions in people with heart failure."
            ),
            "min_age_years": 18,
            "planned_enrolment": 240,
        },
        "conditions": [{"icd10_code": "I50.9", "text": "Hjärtsvikt"}],
        "interventions": [{"type": "BEHAVIORAL", "name": "Fysisk träning"}],
        "sites": ["akademiska", "uso"],
    },
    {
        "state": "published",
        "fields": {
            "title_sv": "Kontinuerlig glukosmätning hos barn med diabetes",
            "title_en": "Continuous glucose monitoring in children with diabetes",
            "epm_dnr": "2023-04567-01",
            "study_type": "INTERVENTIONAL",
            "interventional_kind": "DEVICE",
            "sponsor_name": "Region Uppsala",
            "sponsor_type": "ACADEMIC",
            "status": "RECRUITING",
            "summary_sv": (
                "Studien jämför två sätt att mäta blodsocker hos barn och ungdomar med typ "
                "1-diabetes. Barnet använder en sensor på armen under sex månader."
            ),
            "min_age_years": 6,
            "max_age_years": 17,
            "planned_enrolment": 80,
        },
        "conditions": [{"icd10_code": "E10.9", "text": "Typ 1-diabetes"}],
        "interventions": [{"type": "DEVICE", "name": "Kontinuerlig glukosmätare"}],
        "sites": ["akademiska"],
    },
    {
        "state": "stale",
        "fields": {
            "title_sv": "Uppföljning av höftfraktur hos äldre",
            "epm_dnr": "2019-03783",
            "study_type": "OBSERVATIONAL",
            "sponsor_name": "Region Uppsala",
            "sponsor_type": "ACADEMIC",
            "status": "ACTIVE_NOT_RECRUITING",
            "summary_sv": "Vi följer hur det går för äldre personer efter en höftfraktur.",
            "min_age_years": 65,
        },
        "conditions": [{"icd10_code": "S72.0", "text": "Höftfraktur"}],
        "interventions": [],
        "sites": ["akademiska"],
    },
    {
        "state": "submitted",
        "fields": {
            "title_sv": "Digital KBT vid depression i primärvården",
            "title_en": "Internet-based CBT for depression in primary care",
            "epm_dnr": "2025-00321-01",
            "study_type": "INTERVENTIONAL",
            "interventional_kind": "OTHER_TREATMENT",
            "sponsor_name": "Uppsala universitet",
            "sponsor_type": "ACADEMIC",
            "summary_sv": "Studien prövar digital kognitiv beteendeterapi vid lätt depression.",
            "min_age_years": 18,
        },
        "conditions": [{"icd10_code": "F32.9", "text": "Depression"}],
        "interventions": [{"type": "BEHAVIORAL", "name": "Digital KBT"}],
        "sites": ["akademiska"],
    },
    {
        "state": "returned",
        "fields": {
            "title_sv": "Metformin vid graviditetsdiabetes",
            "epm_dnr": "2025-01111-01",
            "study_type": "INTERVENTIONAL",
            "interventional_kind": "DRUG",
            "phase": "PHASE3",
            "sponsor_name": "Uppsala universitet",
            "sponsor_type": "ACADEMIC",
            "summary_sv": "Vi jämför metformin med insulin vid graviditetsdiabetes.",
            "sex": "FEMALE",
            "min_age_years": 18,
            "max_age_years": 45,
        },
        "conditions": [{"icd10_code": "O24.4", "text": "Graviditetsdiabetes"}],
        "interventions": [{"type": "DRUG", "name": "Metformin", "atc_code": "A10BA02"}],
        "sites": ["akademiska"],
    },
    {
        "state": "draft",
        "fields": {
            "title_sv": "Robotassisterad kirurgi vid prostatacancer",
            "study_type": "INTERVENTIONAL",
            "interventional_kind": "OTHER_TREATMENT",
            "sponsor_name": "Uppsala universitet",
            "sponsor_type": "ACADEMIC",
        },
        "conditions": [{"icd10_code": "C61", "text": "Prostatacancer"}],
        "interventions": [{"type": "PROCEDURE", "name": "Robotassisterad prostatektomi"}],
        "sites": ["akademiska"],
    },
]


def create_local_studies() -> int:
    """Locally registered studies in every workflow state, made through the services."""
    registrant = User.objects.get(username="registrant")
    coordinator = User.objects.get(username="coordinator")
    for spec in LOCAL_STUDIES:
        fields = dict(spec["fields"])
        status = fields.pop("status", None)
        sites = [
            {
                "care_provider": provider,
                "region": provider.region,
                "recruitment_status": status or "",
            }
            for provider in CareProvider.objects.filter(slug__in=spec["sites"])
        ]
        study = services.study_create(
            by=registrant,
            fields=fields,
            sites=sites,
            conditions=spec["conditions"],
            interventions=spec["interventions"],
            contacts=[
                {
                    "name": "Studiekontakt, Akademiska sjukhuset",
                    "role": "Forskningssjuksköterska",
                    "email": "registrant@demo.trialnode.se",
                    "phone": "018-611 00 00",
                }
            ],
            status=status or Status.NOT_YET_RECRUITING,
            status_date=timezone.localdate() - timedelta(days=120) if status else None,
            allow_duplicate=True,
        )
        state = spec["state"]
        if state == "draft":
            continue
        services.study_submit(study=study, by=registrant)
        if state == "submitted":
            continue
        if state == "returned":
            services.study_return(
                study=study,
                by=coordinator,
                comment="Ange EudraCT- eller EU CT-nummer för läkemedelsprövningen.",
            )
            continue
        services.study_publish(
            study=study,
            by=coordinator,
            password=DEMO_PASSWORD,
            reason="Validerad mot minimalt dataset",
        )
        if state == "stale":
            Study.objects.filter(pk=study.pk).update(
                last_confirmed_at=timezone.localdate() - timedelta(days=420)
            )
    return len(LOCAL_STUDIES)


@dataclass(frozen=True)
class DemoSummary:
    users: list[DemoUser]
    registry_studies: int
    rejected: int
    ctis_trials: int
    synthetic_studies: int
    local_studies: int
    sample_folder: Path | None


def load_demo(*, synthetic_count: int = 200) -> DemoSummary:
    """Fill an empty, migrated database with the demo content."""
    with transaction.atomic():
        reference_data_load()
        users = create_demo_users()
    folder = sample_data_dir()
    imported = rejected = synthetic = ctis_trials = 0
    if folder is not None and (folder / "ctgov").is_dir():
        imported, rejected = load_ctgov_sample(folder)
        if (folder / "ctis").is_dir():
            ctis_summary = import_ctis_paths(sorted((folder / "ctis").glob("*.json")))
            ctis_trials = ctis_summary.created + ctis_summary.updated
            rejected += len(ctis_summary.rejected)
    # The real records with a Swedish site are few: generated local registrations give the
    # statistics, the yearly report and the search something to show, with or without them.
    synthetic = synthetic_studies_create(synthetic_count)
    with transaction.atomic():
        local = create_local_studies()
        suggest_links()
    print(load_counts_demo(folder), flush=True)
    print(load_feasibility_demo(), flush=True)
    print(load_datarequests_demo(), flush=True)
    return DemoSummary(users, imported, rejected, ctis_trials, synthetic, local, folder)
