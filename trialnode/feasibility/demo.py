"""Demo content of feasibility inquiries: sponsor organisations, a directory of units at the
reference data's care providers, and inquiries in every state over two years, so the
measures show real-looking numbers. Deterministic (a fixed random seed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter

from django.db import transaction
from django.utils import timezone

from trialnode.audit.context import acting_as
from trialnode.feasibility.models import (
    AnswerLink,
    DirectoryEntry,
    Inquiry,
    InquiryKind,
    InquiryMessage,
    InquiryState,
    Recipient,
    RecruitmentChance,
    Response,
    SponsorMembership,
    SponsorOrganisation,
)
from trialnode.organisations.models import CareProvider, Region, Role, RoleAssignment, User

# Specialty, the ICD-10 chapters it takes inquiries in, and whether its head is counted as a
# leading expert for country inquiries.
UNITS = [
    ("Kardiologkliniken", "Kardiologi", ["IX"], True),
    ("Onkologiska kliniken", "Onkologi", ["II"], True),
    ("Neurologiska kliniken", "Neurologi", ["VI"], False),
    ("Endokrinologmottagningen", "Endokrinologi och diabetes", ["IV"], False),
    ("Lung- och allergikliniken", "Lungmedicin", ["X"], False),
    ("Reumatologiska kliniken", "Reumatologi", ["XIII"], False),
    ("Infektionskliniken", "Infektionssjukdomar", ["I"], False),
    ("Psykiatriska kliniken", "Psykiatri", ["V"], False),
]
SPONSORS = [
    ("Nordisk Läkemedel AB (demo)", SponsorOrganisation.Kind.INDUSTRY),
    ("Klinisk Forskning CRO AB (demo)", SponsorOrganisation.Kind.CRO),
    ("Akademiskt forskningskonsortium (demo)", SponsorOrganisation.Kind.ACADEMIC),
]
TITLES = {
    "IX": ["Ny antikoagulantia efter förmaksflimmer", "Läkemedel vid hjärtsvikt med bevarad EF"],
    "II": ["Immunterapi vid icke-småcellig lungcancer", "CAR-T vid återfall i lymfom"],
    "VI": ["Antikropp mot tidig Alzheimers sjukdom", "Behandling av migrän hos vuxna"],
    "IV": ["GLP-1-analog vid typ 2-diabetes", "Veckoinsulin vid typ 1-diabetes"],
    "X": ["Biologiskt läkemedel vid svår astma", "Inhalation vid KOL-exacerbationer"],
    "XIII": ["JAK-hämmare vid reumatoid artrit", "Vaccin mot bältros vid reumatisk sjukdom"],
    "I": ["Antiviralt läkemedel vid RS-virus", "Förkortad antibiotikabehandling vid pneumoni"],
    "V": ["Digital KBT vid depression", "Ketamin vid behandlingsresistent depression"],
}
DECLINE_REASONS = [
    "Konkurrerande studie i samma population",
    "Saknar resurser under perioden",
    "För få patienter som uppfyller kriterierna",
]


def _sponsors() -> list[SponsorOrganisation]:
    organisations = []
    for index, (name, kind) in enumerate(SPONSORS):
        organisation, _ = SponsorOrganisation.objects.get_or_create(name=name, kind=kind)
        organisations.append(organisation)
        username = "sponsor" if index == 0 else f"sponsor-{kind}"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                email=f"{username}@example.se",
                first_name="Sponsor",
                last_name=f"({kind}, demo)",
                password="demo-trialnode-2026",
            )
            RoleAssignment.objects.create(user=user, role=Role.SPONSOR)
        SponsorMembership.objects.get_or_create(user=user, defaults={"organisation": organisation})
    return organisations


def _directory() -> list[DirectoryEntry]:
    entries = []
    for provider in CareProvider.objects.filter(is_active=True).order_by("name"):
        units = UNITS if provider.kind == CareProvider.Kind.UNIVERSITY_HOSPITAL else UNITS[:5]
        if provider.kind == CareProvider.Kind.PRIMARY_CARE:
            units = [UNITS[3], UNITS[7]]
        for unit, specialty, chapters, expert in units:
            entry, _ = DirectoryEntry.objects.get_or_create(
                care_provider=provider,
                unit_name=unit,
                defaults={
                    "investigator": f"Prövare {specialty.split()[0].lower()} (demo)",
                    "email": f"{provider.slug}.{chapters[0].lower()}@example.se",
                    "phone": "010-000 00 00",
                    "specialty": specialty,
                    "therapy_areas": chapters,
                    "is_expert": expert and provider.kind == CareProvider.Kind.UNIVERSITY_HOSPITAL,
                },
            )
            entries.append(entry)
    return entries


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(8 + rng.randrange(9), 0)))


def load_feasibility_demo(*, count: int = 84, seed: int = 11) -> str:
    """Create the demo inquiries (once); returns a line for the demo's output."""
    if Inquiry.objects.exists():
        return "Feasibility inquiries: already loaded."
    rng = random.Random(seed)
    coordinator = User.objects.filter(username="coordinator").first()
    with acting_as(via="demo"), transaction.atomic():
        organisations = _sponsors()
        entries = _directory()
        if coordinator is None or not entries:
            return "Feasibility inquiries: no coordinator or care providers, none created."
        regions = list(Region.objects.order_by("slug"))
        uppsala = Region.objects.get(slug="uppsala")
        today = timezone.localdate()
        states: Counter[str] = Counter()
        link_line = ""
        for number in range(count):
            area = rng.choice(list(TITLES))
            kind = InquiryKind.COUNTRY if rng.random() < 0.2 else InquiryKind.SITE
            organisation = organisations[0 if rng.random() < 0.55 else 1 + (rng.random() < 0.5)]
            recent = rng.random() < 0.25
            submitted = today - dt.timedelta(
                days=rng.randrange(1, 50) if recent else rng.randrange(3, 700)
            )
            age = (today - submitted).days
            all_sweden = kind == InquiryKind.COUNTRY or rng.random() < 0.4
            chosen = rng.sample(regions, rng.randint(1, 3)) if not all_sweden else []
            if chosen and rng.random() < 0.4:
                chosen.append(uppsala)
            reply_by = submitted + dt.timedelta(days=28)
            inquiry = Inquiry.objects.create(
                organisation=organisation,
                created_by=organisation.memberships.first().user,  # type: ignore[union-attr]
                kind=kind,
                title=rng.choice(TITLES[area]),
                therapy_area=area,
                product=f"Prövningsläkemedel {chr(65 + number % 26)}-{100 + number}",
                planned_start=submitted + dt.timedelta(days=180)
                if kind == InquiryKind.COUNTRY
                else None,
                is_atmp=(area == "II" and rng.random() < 0.5)
                if kind == InquiryKind.COUNTRY
                else None,
                indication_purpose="Effekt och säkerhet jämfört med standardbehandling.",
                phase=rng.choice(["PHASE2", "PHASE3", "PHASE3", "PHASE4"]),
                inclusion_criteria="Vuxna 18–80 år med fastställd diagnos.",
                exclusion_criteria="Graviditet, svår njursvikt.",
                timeline="Rekrytering under 12 månader.",
                target_enrolment=rng.choice([20, 40, 60, 120]),
                reply_by=reply_by,
                sponsor_contact_name="Studieansvarig (demo)",
                sponsor_contact_email=f"kontakt{number}@example.se",
                all_sweden=all_sweden,
                submitted_at=_at(submitted, rng),
                stage_since=_at(submitted, rng),
            )
            if chosen:
                inquiry.target_regions.set(chosen)
            state = _progress(inquiry, age, entries, coordinator, rng)
            states[state] += 1
            if state == InquiryState.DISPATCHED and not link_line:
                link_line = _demo_link(inquiry)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    return f"Feasibility inquiries: {count} ({summary}). {link_line}".strip()


def _progress(inquiry: Inquiry, age: int, entries, coordinator: User, rng: random.Random) -> str:
    """Take a demo inquiry as far as its age allows, with real-looking delays."""
    submitted = inquiry.submitted_at
    now = timezone.now()
    if age < 4 or rng.random() < 0.05:
        if rng.random() < 0.4:
            InquiryMessage.objects.create(
                inquiry=inquiry,
                kind=InquiryMessage.Kind.QUESTION,
                author=coordinator,
                text="Bifoga gärna synopsis och ange planerat antal patienter i Sverige.",
                created_at=submitted + dt.timedelta(days=1),
            )
            return _set(inquiry, InquiryState.AWAITING_SPONSOR)
        return inquiry.state
    triaged = submitted + dt.timedelta(days=rng.uniform(0.5, 4))
    dispatched = triaged + dt.timedelta(days=rng.uniform(0.2, 6))
    if rng.random() < 0.06 or dispatched > now:
        inquiry.triaged_at = triaged
        inquiry.save(update_fields=["triaged_at"])
        return _set(inquiry, InquiryState.TRIAGED)
    regions = inquiry.region_ids()
    candidates = [
        e
        for e in entries
        if e.care_provider.region_id in regions
        and inquiry.therapy_area in e.therapy_areas
        and (inquiry.kind == InquiryKind.SITE or e.is_expert)
    ]
    if not candidates:
        inquiry.triaged_at = triaged
        inquiry.closed_at = triaged
        inquiry.save(update_fields=["triaged_at", "closed_at"])
        return _set(inquiry, InquiryState.CLOSED)
    for entry in rng.sample(candidates, min(len(candidates), rng.randint(3, 9))):
        recipient = Recipient(
            inquiry=inquiry,
            entry=entry,
            region_id=entry.care_provider.region_id,
            dispatched_at=dispatched,
            dispatched_by=coordinator,
        )
        answered = dispatched + dt.timedelta(days=rng.uniform(0.5, 20))
        if answered < now and rng.random() < 0.72:
            roll = rng.random()
            recipient.response = (
                Response.INTERESTED
                if roll < 0.35
                else Response.MORE_INFORMATION
                if roll < 0.55
                else Response.DECLINES
            )
            if recipient.response == Response.DECLINES:
                recipient.decline_reason = rng.choice(DECLINE_REASONS)
            else:
                recipient.eligible_per_year = rng.choice([3, 5, 8, 12, 20, 35])
            if inquiry.kind == InquiryKind.COUNTRY:
                recipient.population_exists = "yes"
                recipient.recruitment_chance = rng.choice(RecruitmentChance.values)
                recipient.standard_of_care = "yes"
            recipient.first_answered_at = recipient.answered_at = answered
        recipient.save()
    inquiry.triaged_at = triaged
    inquiry.dispatched_at = dispatched
    inquiry.save(update_fields=["triaged_at", "dispatched_at"])
    compiled = inquiry.reply_by + dt.timedelta(days=rng.randint(1, 7))
    if compiled >= timezone.localdate():
        return _set(inquiry, InquiryState.DISPATCHED, since=dispatched)
    inquiry.compiled_answer = "Sammanställning av klinikernas svar (demo)."
    inquiry.answered_at = timezone.make_aware(dt.datetime.combine(compiled, dt.time(10)))
    inquiry.save(update_fields=["compiled_answer", "answered_at"])
    if (timezone.localdate() - compiled).days > 30:
        inquiry.closed_at = inquiry.answered_at + dt.timedelta(days=30)
        inquiry.save(update_fields=["closed_at"])
        return _set(inquiry, InquiryState.CLOSED)
    return _set(inquiry, InquiryState.ANSWERED)


def _set(inquiry: Inquiry, state: str, since: dt.datetime | None = None) -> str:
    inquiry.state = state
    inquiry.stage_since = since or timezone.now()
    inquiry.save(update_fields=["state", "stage_since"])
    return state


def _demo_link(inquiry: Inquiry) -> str:
    """A known answer link for one waiting unit, printed so the recipient page can be tried."""
    recipient = inquiry.recipients.filter(response="").first()
    if recipient is None:
        return ""
    token = f"demo-{inquiry.pk}-{recipient.pk}"
    AnswerLink.objects.create(
        recipient=recipient,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=timezone.make_aware(
            dt.datetime.combine(inquiry.reply_by + dt.timedelta(days=1), dt.time.min)
        ),
    )
    return f"A recipient's answer link: /forfragningar/svar/{recipient.pk}/{token}/"
