"""Synthetic but plausible studies, for the demo without sample data and for benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from trialnode.organisations.models import CareProvider, Region
from trialnode.studies.models import (
    ConditionArea,
    InterventionalKind,
    InterventionType,
    Phase,
    RegistrationState,
    Sex,
    Source,
    SponsorType,
    Status,
    StatusSpan,
    Study,
    StudyCondition,
    StudyContact,
    StudyIntervention,
    StudyRow,
    StudySite,
    StudyStatusChange,
    StudyType,
)
from trialnode.studies.validators import icd10_chapter

CONDITIONS = [
    ("I50.9", "hjärtsvikt", "heart failure"),
    ("E11.9", "typ 2-diabetes", "type 2 diabetes"),
    ("E10.9", "typ 1-diabetes", "type 1 diabetes"),
    ("C50.9", "bröstcancer", "breast cancer"),
    ("C61", "prostatacancer", "prostate cancer"),
    ("C34.9", "lungcancer", "lung cancer"),
    ("J45.9", "astma", "asthma"),
    ("J44.9", "kroniskt obstruktiv lungsjukdom", "chronic obstructive pulmonary disease"),
    ("G35", "multipel skleros", "multiple sclerosis"),
    ("F32.9", "depression", "depression"),
    ("M05.9", "reumatoid artrit", "rheumatoid arthritis"),
    ("G30.9", "Alzheimers sjukdom", "Alzheimer's disease"),
    ("I48.9", "förmaksflimmer", "atrial fibrillation"),
    ("K50.9", "Crohns sjukdom", "Crohn's disease"),
    ("N18.9", "kronisk njursjukdom", "chronic kidney disease"),
    ("G40.9", "epilepsi", "epilepsy"),
    ("O24.4", "graviditetsdiabetes", "gestational diabetes"),
    ("C91.0", "akut lymfatisk leukemi", "acute lymphoblastic leukaemia"),
    ("L40.0", "psoriasis", "psoriasis"),
    ("I63.9", "stroke", "stroke"),
    ("U07.1", "covid-19", "COVID-19"),
    ("F90.0", "ADHD", "ADHD"),
    ("H35.3", "makuladegeneration", "macular degeneration"),
    ("M81.9", "benskörhet", "osteoporosis"),
    ("C18.9", "tjocktarmscancer", "colon cancer"),
    ("C43.9", "malignt melanom", "malignant melanoma"),
    ("C25.9", "bukspottkörtelcancer", "pancreatic cancer"),
    ("C71.9", "hjärntumör", "brain tumour"),
    ("C90.0", "myelom", "multiple myeloma"),
    ("D50.9", "järnbristanemi", "iron deficiency anaemia"),
    ("E66.9", "fetma", "obesity"),
    ("E03.9", "hypotyreos", "hypothyroidism"),
    ("F20.9", "schizofreni", "schizophrenia"),
    ("F31.9", "bipolär sjukdom", "bipolar disorder"),
    ("F84.0", "autism", "autism"),
    ("G20", "Parkinsons sjukdom", "Parkinson's disease"),
    ("G43.9", "migrän", "migraine"),
    ("H40.9", "glaukom", "glaucoma"),
    ("I10", "högt blodtryck", "hypertension"),
    ("I21.9", "hjärtinfarkt", "myocardial infarction"),
    ("J18.9", "lunginflammation", "pneumonia"),
    ("K51.9", "ulcerös kolit", "ulcerative colitis"),
    ("K74.6", "levercirros", "liver cirrhosis"),
    ("L20.9", "atopiskt eksem", "atopic dermatitis"),
    ("M16.9", "höftledsartros", "hip osteoarthritis"),
    ("M54.5", "ländryggssmärta", "low back pain"),
    ("N40", "prostataförstoring", "benign prostatic hyperplasia"),
    ("O14.9", "havandeskapsförgiftning", "pre-eclampsia"),
    ("P07.3", "för tidigt född", "preterm birth"),
    ("S72.0", "höftfraktur", "hip fracture"),
    ("A41.9", "sepsis", "sepsis"),
    ("B20", "hiv", "HIV"),
]
DRUGS = [
    ("metformin", "A10BA02"),
    ("empagliflozin", "A10BK03"),
    ("dapagliflozin", "A10BK01"),
    ("atorvastatin", "C10AA05"),
    ("paracetamol", "N02BE01"),
    ("sertralin", "N06AB06"),
    ("pembrolizumab", "L01FF02"),
    ("adalimumab", "L04AB04"),
    ("apixaban", "B01AF02"),
    ("insulin glargin", "A10AE04"),
]
NON_DRUG = [
    ("fysisk träning", "physical exercise", InterventionType.BEHAVIORAL),
    ("digital KBT", "internet-based CBT", InterventionType.BEHAVIORAL),
    ("robotassisterad kirurgi", "robot-assisted surgery", InterventionType.PROCEDURE),
    ("kontinuerlig glukosmätare", "continuous glucose monitor", InterventionType.DEVICE),
    ("kostrådgivning", "dietary counselling", InterventionType.BEHAVIORAL),
]
SPONSORS = [
    ("Uppsala universitet", SponsorType.ACADEMIC),
    ("Karolinska Institutet", SponsorType.ACADEMIC),
    ("Region Örebro län", SponsorType.ACADEMIC),
    ("Göteborgs universitet", SponsorType.ACADEMIC),
    ("Lunds universitet", SponsorType.ACADEMIC),
    ("AstraZeneca", SponsorType.INDUSTRY),
    ("Novo Nordisk", SponsorType.INDUSTRY),
    ("Pfizer", SponsorType.INDUSTRY),
    ("Bayer", SponsorType.INDUSTRY),
    ("Stiftelsen för klinisk forskning", SponsorType.OTHER),
]
STATUS_WEIGHTS = [
    (Status.RECRUITING, 30),
    (Status.NOT_YET_RECRUITING, 10),
    (Status.ACTIVE_NOT_RECRUITING, 20),
    (Status.ENROLLING_BY_INVITATION, 4),
    (Status.COMPLETED, 28),
    (Status.TERMINATED, 4),
    (Status.WITHDRAWN, 2),
    (Status.SUSPENDED, 2),
]
PHASES = [Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.PHASE4, Phase.PHASE2_PHASE3]


def _titles(
    rng: random.Random,
    condition: tuple[str, str, str],
    intervention: str,
    intervention_en: str,
    study_type: str,
) -> tuple[str, str]:
    _code, sv, en = condition
    if study_type == StudyType.OBSERVATIONAL:
        options = [
            (f"Registerstudie om {sv} i Sverige", f"Registry study of {en} in Sweden"),
            (
                f"Långtidsuppföljning av patienter med {sv}",
                f"Long-term follow-up of patients with {en}",
            ),
            (f"Biomarkörer vid {sv}", f"Biomarkers in {en}"),
        ]
    else:
        options = [
            (f"Effekt av {intervention} vid {sv}", f"Effect of {intervention_en} in {en}"),
            (
                f"Säkerhet och effekt av {intervention} hos patienter med {sv}",
                f"Safety and efficacy of {intervention_en} in patients with {en}",
            ),
            (
                f"Randomiserad studie av {intervention} jämfört med standardbehandling vid {sv}",
                f"Randomised trial of {intervention_en} versus standard care in {en}",
            ),
        ]
    return rng.choice(options)


class SyntheticStudyFactory:
    """Builds unsaved studies with their sites, conditions, interventions and contacts."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.regions = list(Region.objects.all())
        self.providers_by_region: dict[int, list[CareProvider]] = {}
        for provider in CareProvider.objects.all():
            self.providers_by_region.setdefault(provider.region_id, []).append(provider)
        self.statuses = [s for s, _w in STATUS_WEIGHTS]
        self.weights = [w for _s, w in STATUS_WEIGHTS]

    def build(self, number: int) -> tuple[Study, list[StudyRow]]:
        rng = self.rng
        condition = rng.choice(CONDITIONS)
        study_type = rng.choices(
            [StudyType.INTERVENTIONAL, StudyType.OBSERVATIONAL, StudyType.OTHER], [70, 25, 5]
        )[0]
        if study_type == StudyType.INTERVENTIONAL and rng.random() < 0.6:
            drug, atc = rng.choice(DRUGS)
            interventions = [StudyIntervention(type=InterventionType.DRUG, name=drug, atc_code=atc)]
            intervention_sv = intervention_en = drug
            kind = InterventionalKind.DRUG
        else:
            intervention_sv, intervention_en, itype = rng.choice(NON_DRUG)
            interventions = [StudyIntervention(type=itype, name=intervention_sv)]
            kind = (
                InterventionalKind.DEVICE
                if itype == InterventionType.DEVICE
                else InterventionalKind.OTHER_TREATMENT
            )
        title_sv, title_en = _titles(rng, condition, intervention_sv, intervention_en, study_type)
        sponsor, sponsor_type = rng.choice(SPONSORS)
        status = rng.choices(self.statuses, self.weights)[0]
        start = date(2015, 1, 1) + timedelta(days=rng.randrange(0, 3900))
        min_age = rng.choice([None, 0, 18, 18, 18, 40, 65])
        max_age = (
            rng.choice([None, None, 17, 75, 85])
            if min_age in (None, 0)
            else rng.choice([None, None, 75, 85])
        )
        if min_age is not None and max_age is not None and max_age < min_age:
            max_age = None
        year = start.year
        study = Study(
            title_sv=title_sv,
            title_en=title_en,
            epm_dnr=f"{max(year, 2021)}-{rng.randrange(0, 99999):05d}-{rng.randrange(1, 3):02d}",
            study_type=study_type,
            interventional_kind=kind if study_type == StudyType.INTERVENTIONAL else "",
            phase=rng.choice(PHASES)
            if kind == InterventionalKind.DRUG and study_type == StudyType.INTERVENTIONAL
            else "",
            sponsor_name=sponsor,
            sponsor_type=sponsor_type,
            status=status,
            start_date=start,
            planned_enrolment=rng.choice([20, 40, 60, 120, 300, 1000]),
            min_age_years=min_age,
            max_age_years=max_age,
            sex=rng.choices([Sex.ALL, Sex.FEMALE, Sex.MALE], [85, 10, 5])[0],
            healthy_volunteers=rng.random() < 0.1,
            summary_sv=(
                f"Studien undersöker {intervention_sv} för personer med {condition[1]}. "
                f"Deltagarna följs upp under studiens gång vid sin vanliga mottagning."
            ),
            source=Source.LOCAL,
            registration_state=RegistrationState.PUBLISHED,
            last_confirmed_at=date.today() - timedelta(days=rng.randrange(0, 500)),
        )
        regions = rng.sample(self.regions, rng.choices([1, 2, 3], [70, 20, 10])[0])
        children: list[StudyRow] = [
            StudyCondition(
                icd10_code=condition[0], text=condition[1], chapter=icd10_chapter(condition[0])
            ),
            *interventions,
            StudyContact(
                name=f"Studiekoordinator {number}",
                role="Forskningssjuksköterska",
                email=f"studie{number}@example.se",
            ),
            *_history(rng, status, start),
        ]
        for region in regions:
            providers = self.providers_by_region.get(region.pk, [])
            provider = rng.choice(providers) if providers else None
            children.append(
                StudySite(
                    region=region,
                    care_provider=provider,
                    facility_name=provider.name if provider else "",
                    recruitment_status=status if status == Status.RECRUITING else "",
                )
            )
        study.is_multicentre = len(regions) > 1
        return study, children


def _history(rng: random.Random, status: str, start: date) -> list[StudyStatusChange]:
    """A plausible dated history ending in ``status``: planned, recruiting, closed, ended."""
    if status in (Status.NOT_YET_RECRUITING, Status.WITHDRAWN):
        return [StudyStatusChange(status=status, effective_date=start)]
    planned = start - timedelta(days=rng.randrange(30, 200))
    steps: list[tuple[date, str]] = [
        (planned, Status.NOT_YET_RECRUITING),
        (start, Status.RECRUITING),
    ]
    closed = start + timedelta(days=rng.randrange(120, 900))
    if status != Status.RECRUITING and closed < date.today():
        steps.append((closed, Status.ACTIVE_NOT_RECRUITING))
        ended = closed + timedelta(days=rng.randrange(60, 700))
        if status not in (Status.ACTIVE_NOT_RECRUITING,) and ended < date.today():
            steps.append((ended, status))
    if steps[-1][1] != status:
        steps.append((max(steps[-1][0], date.today() - timedelta(days=30)), status))
    return [StudyStatusChange(status=s, effective_date=d) for d, s in steps]


def synthetic_studies_create(count: int, *, seed: int = 1, batch_size: int = 2000) -> int:
    """Insert ``count`` synthetic published studies in batches, each in one transaction
    with its audit events (one advance of the chain), search documents and rows, status
    periods and condition areas: the registry import's write path.

    The next batch is built in a second thread while one is written (the database's
    work on one batch overlaps the building of the next); the studies are the same as
    when built one batch after the other.
    """
    from concurrent.futures import ThreadPoolExecutor

    from trialnode.studies.concepts import condition_areas_of_new
    from trialnode.studies.search import analyze_after_new_studies, document_texts
    from trialnode.studies.spans import periods

    factory = SyntheticStudyFactory(seed)
    sizes = [min(batch_size, count - start) for start in range(0, count, batch_size)]

    def build(first: int, size: int) -> _Batch:
        built = [factory.build(first + i + 1) for i in range(size)]
        texts = [
            document_texts(
                study,
                conditions=[c for c in children if isinstance(c, StudyCondition)],
                interventions=[c for c in children if isinstance(c, StudyIntervention)],
                sites=[c for c in children if isinstance(c, StudySite)],
            )
            for study, children in built
        ]
        # The periods and condition areas too, to be given their study's key when it has one.
        spans = [
            periods(
                study,
                [
                    (c.effective_date, c.status)
                    for c in children
                    if isinstance(c, StudyStatusChange)
                ],
            )
            for study, children in built
        ]
        areas = [
            condition_areas_of_new(
                [(study, [c for c in children if isinstance(c, StudyCondition)])]
            )
            for study, children in built
        ]
        return _Batch(built, texts, spans, areas)

    created = 0
    with ThreadPoolExecutor(max_workers=1) as builder:
        pending = builder.submit(build, 0, sizes[0]) if sizes else None
        for index, size in enumerate(sizes):
            assert pending is not None
            batch = pending.result()
            if index + 1 < len(sizes):
                pending = builder.submit(build, created + size, sizes[index + 1])
            _write_batch(batch)
            created += size
    analyze_after_new_studies(created)
    return created


@dataclass
class _Batch:
    built: list[tuple[Study, list[StudyRow]]]
    texts: list[tuple[str, str]]
    """Each study's search document texts."""
    spans: list[list[StatusSpan]]
    """Each study's status periods."""
    areas: list[list[ConditionArea]]
    """Each study's condition areas."""


def _write_batch(batch: _Batch) -> None:
    from django.db import connection, transaction

    from trialnode.audit import trail
    from trialnode.interop.upsert import insert_audited, insert_derived
    from trialnode.studies import search

    built = batch.built
    studies = [study for study, _c in built]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Generated data, made again if lost: the commit need not wait for the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        events = insert_audited(studies)
        by_model: dict[type[StudyRow], list[Any]] = {}
        for study, children in built:
            for child in children:
                child.study = study
                by_model.setdefault(type(child), []).append(child)
        for rows in by_model.values():
            events += insert_audited(rows)
        trail.append(events)
        search.index_new_studies(studies, texts=batch.texts)
        for study, spans, areas in zip(studies, batch.spans, batch.areas, strict=True):
            for span in spans:
                span.study_id = study.pk
            for area in areas:
                area.study_id = study.pk
        insert_derived([span for spans in batch.spans for span in spans])
        insert_derived([area for areas in batch.areas for area in areas])
