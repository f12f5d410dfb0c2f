"""Finding and deciding which local registrations and registry records are one study."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from functools import lru_cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from trialnode.audit.context import because
from trialnode.interop.models import StudyLink
from trialnode.organisations.models import Role
from trialnode.studies import search
from trialnode.studies.models import RegistrationState, Source, Study, StudySite

LINKED_IDENTIFIERS = ("nct_id", "eu_ct_number", "eudract_number")
SUGGEST_AT = 80
CANDIDATES = 20


def _title_similarity(local: Study, registry: Study) -> int:
    pairs = [
        (a, b)
        for a in (local.title_en, local.title_sv, local.acronym)
        for b in (registry.title_en, registry.title_sv, registry.acronym)
        if a and b
    ]
    return max((int(fuzz.token_set_ratio(a.casefold(), b.casefold())) for a, b in pairs), default=0)


def _score(local: Study, registry: Study) -> tuple[int, list[str]]:
    shared = [
        name
        for name in LINKED_IDENTIFIERS
        if getattr(local, name) and getattr(local, name) == getattr(registry, name)
    ]
    if shared:
        return 100, [f"same {name}" for name in shared]
    title = _title_similarity(local, registry)
    sponsor = (
        int(fuzz.token_set_ratio(local.sponsor_name.casefold(), registry.sponsor_name.casefold()))
        if local.sponsor_name and registry.sponsor_name
        else 50
    )
    score = round(0.75 * title + 0.25 * sponsor)
    if local.start_date and registry.start_date:
        months = abs((local.start_date - registry.start_date).days) / 30
        score -= min(10, int(months // 6))
    return max(0, min(99, score)), [f"title {title}%", f"sponsor {sponsor}%"]


def _local_registrations() -> QuerySet[Study]:
    return Study.objects.filter(source=Source.LOCAL).exclude(
        registration_state=RegistrationState.DRAFT
    )


def _loose(title: str) -> search.TextQuery | None:
    """Any of the title's words may match: a translated title shares few of them."""
    query = search.TextQuery.parse(title)
    spellings = tuple(w for group in query.alternatives for w in group)
    return search.TextQuery((spellings,)) if spellings else None


def _suggest(local: Study, candidates: Iterable[Study], known: set[int]) -> int:
    """Suggest the candidates that score high enough and were never suggested before."""
    created = 0
    for candidate in candidates:
        if candidate.pk in known:
            continue
        score, reasons = _score(local, candidate)
        if score >= SUGGEST_AT:
            StudyLink.objects.create(
                local=local, registry=candidate, score=score, reasons=", ".join(reasons)
            )
            known.add(candidate.pk)
            created += 1
    return created


def suggest_links(local_studies: Iterable[Study] | None = None) -> int:
    """Suggest links for local registrations (all of them by default); returns how many.

    Each local registration is compared with the registry records that share one of its
    identifiers and with the registry records its title finds. After an import, use
    ``suggest_links_for_registry`` with what the import wrote instead of this.
    """
    locals_ = local_studies if local_studies is not None else _local_registrations()
    registry = Study.objects.exclude(source=Source.LOCAL).filter(duplicate_of__isnull=True)
    created = 0
    for local in locals_:
        if link_same_identifiers(local):
            continue
        by_identifier = Q()
        for name in LINKED_IDENTIFIERS:
            if getattr(local, name):
                by_identifier |= Q(**{name: getattr(local, name)})
        candidates = list(registry.filter(by_identifier)) if by_identifier else []
        loose = _loose(local.title_en or local.title_sv)
        if loose:
            candidates += list(
                loose.filter(registry).annotate(rank=loose.rank()).order_by("-rank")[:CANDIDATES]
            )
        known = set(StudyLink.objects.filter(local=local).values_list("registry_id", flat=True))
        created += _suggest(local, {c.pk: c for c in candidates}.values(), known)
    return created


def suggest_links_for_registry(
    registry_ids: Iterable[int], *, regions: frozenset[int] | None = None
) -> int:
    """Suggest links between the registry records an import created or changed and the
    local registrations; returns how many suggestions were made.

    A local registration sharing an NCT or EU CT number with a record is made one study
    with it, as ``suggest_links`` does (with ``regions``, the regions of an uploader, only
    one with a site there: another's is suggested to its own coordinators, since making
    it one study writes the record's numbers into it); the others sharing an identifier,
    and the
    ``CANDIDATES`` whose titles share most words with a record's title, are scored as
    there. The local titles are read once (one statement), and the records a few hundred
    at a time, so the work follows the size of the import, never one search per local
    registration.
    """
    ids = sorted(set(registry_ids))
    if not ids:
        return 0
    locals_ = _local_registrations()
    titles = _LocalTitles(locals_)
    if not titles.words:
        return 0
    created = 0
    registry = Study.objects.exclude(source=Source.LOCAL).filter(duplicate_of__isnull=True)
    for start in range(0, len(ids), 500):
        records = list(registry.filter(pk__in=ids[start : start + 500]))
        by_identifier = Q()
        for name in LINKED_IDENTIFIERS:
            values = {getattr(r, name) for r in records if getattr(r, name)}
            if values:
                by_identifier |= Q(**{f"{name}__in": values})
        sharing = list(locals_.filter(by_identifier)) if by_identifier else []
        found = {r.pk: titles.candidates(r.title_en or r.title_sv) for r in records}
        wanted = {pk for pks in found.values() for pk in pks}
        candidates = {s.pk: s for s in locals_.filter(pk__in=wanted)} if wanted else {}
        known = set(
            StudyLink.objects.filter(registry__in=records).values_list("registry_id", "local_id")
        )
        linkable = None if regions is None else in_regions([s.pk for s in sharing], regions)
        for record in records:
            same = [
                local
                for local in sharing
                if any(
                    getattr(local, n) and getattr(local, n) == getattr(record, n)
                    for n in LINKED_IDENTIFIERS
                )
            ]
            created += _suggest_for_record(
                record,
                same,
                [candidates[pk] for pk in found[record.pk] if pk in candidates],
                {local for registry_id, local in known if registry_id == record.pk},
                linkable,
            )
    return created


class _LocalTitles:
    """The words (stems) of the local registrations' titles, to find for a record the
    local titles that share most of their words with its own."""

    def __init__(self, locals_: QuerySet[Study]) -> None:
        self.words: dict[int, frozenset[str]] = {}
        self.postings: dict[str, list[int]] = {}
        for pk, title_en, title_sv, acronym in locals_.values_list(
            "pk", "title_en", "title_sv", "acronym"
        ):
            words = _title_words(f"{title_en} {title_sv} {acronym}")
            if words:
                self.words[pk] = words
                for word in words:
                    self.postings.setdefault(word, []).append(pk)
        # Words in one title of twenty ("study", "patients") find nothing in particular;
        # they only count for the titles that rarer words found.
        self.common = max(50, len(self.words) // 20)

    def candidates(self, title: str) -> list[int]:
        words = _title_words(title)
        shared: dict[int, int] = {}
        for word in words:
            posting = self.postings.get(word, ())
            if len(posting) <= self.common:
                for pk in posting:
                    shared[pk] = shared.get(pk, 0) + 1
        if not shared:
            return []
        for word in words:
            posting = self.postings.get(word, ())
            if len(posting) > self.common:
                for pk in posting:
                    if pk in shared:
                        shared[pk] += 1
        # The share of the shorter title's words found in the other, as the title
        # similarity (token set ratio) rewards.
        size = len(words)
        return heapq.nsmallest(
            CANDIDATES,
            shared,
            key=lambda pk: (-shared[pk] / min(size, len(self.words[pk])), pk),
        )


def _title_words(text: str) -> frozenset[str]:
    return frozenset(stem for word in search.words(text) for stem in _stems(word))


@lru_cache(maxsize=200_000)
def _stems(word: str) -> tuple[str, ...]:
    return tuple(stem for stem in search.stems(word).split() if len(stem) > 1)


def in_regions(study_ids: Iterable[int], regions: frozenset[int]) -> set[int]:
    """The studies among these with a site in one of the regions."""
    return set(
        StudySite.objects.filter(study_id__in=list(study_ids), region_id__in=regions)
        .values_list("study_id", flat=True)
        .distinct()
    )


def _suggest_for_record(
    registry: Study,
    sharing: list[Study],
    found: list[Study],
    known: set[int],
    linkable: set[int] | None = None,
) -> int:
    # As in suggest_links: a local registration made one study with a record by its
    # number gets no suggestions in that round. ``linkable``: the local registrations
    # that may be made one study with it here (None: any).
    linked = {
        local.pk
        for local in sharing
        if (linkable is None or local.pk in linkable)
        and any(
            getattr(local, n) and getattr(local, n) == getattr(registry, n) for n in IDENTIFYING
        )
        and link_same_identifiers(local)
    }
    if linked:
        registry.refresh_from_db(fields=["duplicate_of"])
        if registry.duplicate_of_id is not None:
            return 0
    candidates = {local.pk: local for local in [*sharing, *found] if local.pk not in linked}
    created = 0
    for local in candidates.values():
        if local.pk not in known:
            created += _suggest(local, [registry], set())
    return created


def merge_registry_duplicates(
    study_ids: Iterable[int] | None = None, *, regions: frozenset[int] | None = None
) -> int:
    """A CTIS record of a trial that is also in ClinicalTrials.gov is counted through that record.

    The registries name each other's numbers (the EU CT number among the secondary ids
    of ClinicalTrials.gov, the NCT number in CTIS), so a shared number is proof enough and
    no coordinator needs to confirm it. With ``study_ids`` (what an import wrote), only
    the CTIS records among them or sharing a number with them are looked at. With
    ``regions`` (an uploader's), only records that both have a site there are merged: an
    uploaded record cannot hide another region's. Returns how many records were merged.
    """
    unmerged = Study.objects.filter(source=Source.CTIS, duplicate_of__isnull=True)
    if study_ids is None:
        return _merge(unmerged, regions)
    ids = sorted(set(study_ids))
    merged = 0
    for start in range(0, len(ids), 500):
        written = Study.objects.filter(pk__in=ids[start : start + 500])
        numbers = Q(pk__in=written.filter(source=Source.CTIS).values("pk"))
        numbers |= Q(
            eu_ct_number__in=written.filter(source=Source.CTGOV)
            .exclude(eu_ct_number="")
            .values("eu_ct_number")
        )
        numbers |= Q(
            nct_id__in=written.filter(source=Source.CTGOV).exclude(nct_id="").values("nct_id")
        )
        merged += _merge(unmerged.filter(numbers), regions)
    return merged


def _merge(unmerged: QuerySet[Study], regions: frozenset[int] | None = None) -> int:
    merged = 0
    ctgov = Study.objects.filter(source=Source.CTGOV)
    for record in unmerged:
        shared = Q(eu_ct_number=record.eu_ct_number)
        if record.nct_id:
            shared |= Q(nct_id=record.nct_id)
        twin = ctgov.filter(shared).order_by("pk").first()
        if twin is None:
            continue
        if regions is not None and in_regions([record.pk, twin.pk], regions) != {
            record.pk,
            twin.pk,
        }:
            continue
        with because(
            _("Same trial as %(reference)s in ClinicalTrials.gov") % {"reference": twin.nct_id}
        ):
            record.duplicate_of_id = twin.duplicate_of_id or twin.pk
            record.save(update_fields=["duplicate_of", "updated_at"])
        merged += 1
    return merged


def may_link(user) -> bool:
    """Coordinators (and superusers) decide links and place unmatched sites."""
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.COORDINATOR))


def links_for(user) -> QuerySet[StudyLink]:
    """Suggestions whose local study lies in a coordinator's regions."""
    if not may_link(user):
        return StudyLink.objects.none()
    editable = Study.objects.editable_by(user).values("pk")
    if not user.is_superuser:
        editable = editable.filter(
            Exists(
                StudySite.objects.filter(
                    study=OuterRef("pk"), region_id__in=user.region_ids_for(Role.COORDINATOR)
                )
            )
        )
    return StudyLink.objects.filter(state=StudyLink.State.SUGGESTED, local__in=editable)


def _require(user, link: StudyLink) -> None:
    if not links_for(user).filter(pk=link.pk).exists():
        raise PermissionDenied(_("Only a coordinator of the study's region decides this link."))


@transaction.atomic
def link_confirm(*, link: StudyLink, by) -> StudyLink:
    """The two records are one study: the registry record is counted through the local one,
    which takes over the registry identifiers it lacks."""
    _require(by, link)
    link = StudyLink.objects.select_for_update().get(pk=link.pk)
    registry = link.registry
    with because(
        _("Confirmed as the same study as %(reference)s")
        % {"reference": registry.nct_id or registry.eu_ct_number or registry.reference}
    ):
        _make_one(link, by)
    return link


def _conflicting(local: Study, registry: Study) -> list[str]:
    return [
        name
        for name in LINKED_IDENTIFIERS
        if getattr(registry, name)
        and getattr(local, name)
        and getattr(local, name) != getattr(registry, name)
    ]


def _make_one(link: StudyLink, by) -> None:
    """Count the registry record through the local one (in the caller's transaction)."""
    local, registry = link.local, link.registry
    conflicting = _conflicting(local, registry)
    if conflicting:
        raise ValidationError(
            _("The records have different %(fields)s; correct one of them first.")
            % {"fields": ", ".join(conflicting)}
        )
    missing = {
        name: getattr(registry, name)
        for name in LINKED_IDENTIFIERS
        if getattr(registry, name) and not getattr(local, name)
    }
    registry.duplicate_of = local
    registry.save(update_fields=["duplicate_of", "updated_at"])
    for name, value in missing.items():
        setattr(local, name, value)
    if missing:
        local.save(update_fields=[*missing, "updated_at"])
    link.state = StudyLink.State.CONFIRMED
    link.decided_by = by
    link.decided_at = timezone.now()
    link.save()
    StudyLink.objects.filter(registry=registry, state=StudyLink.State.SUGGESTED).exclude(
        pk=link.pk
    ).update(state=StudyLink.State.REJECTED, decided_by=by, decided_at=link.decided_at)
    search.index_studies([local.pk])


IDENTIFYING = ("nct_id", "eu_ct_number")
"""A local registration and a registry record sharing one of these are one study: the
registries assign them, so no coordinator needs to confirm it."""


def link_same_identifiers(local: Study) -> int:
    """Make a local registration one study with the registry records that carry its NCT or
    EU CT number (their other identifiers agreeing); returns how many were linked."""
    shared = Q()
    for name in IDENTIFYING:
        if getattr(local, name):
            shared |= Q(**{name: getattr(local, name)})
    if not shared or local.registration_state == RegistrationState.DRAFT:
        return 0
    linked = 0
    twins = Study.objects.exclude(source=Source.LOCAL).filter(shared, duplicate_of__isnull=True)
    for registry in twins:
        if _conflicting(local, registry):
            continue
        with (
            transaction.atomic(),
            because(
                _("Same study as %(reference)s: the same registry number")
                % {"reference": registry.nct_id or registry.eu_ct_number}
            ),
        ):
            link, _created = StudyLink.objects.get_or_create(
                local=local,
                registry=registry,
                defaults={"score": 100, "reasons": "same registry number"},
            )
            _make_one(link, None)
        linked += 1
    return linked


@transaction.atomic
def link_reject(*, link: StudyLink, by) -> StudyLink:
    _require(by, link)
    link = StudyLink.objects.select_for_update().get(pk=link.pk)
    with because(_("Not the same study")):
        link.state = StudyLink.State.REJECTED
        link.decided_by = by
        link.decided_at = timezone.now()
        link.save()
    return link


def unmatched_sites_for(user):
    """Imported sites at no known care provider: those placed by city in the user's
    regions, and for every coordinator those whose region is not known at all (the first
    coordinator who recognises one places it at a provider of their regions)."""
    sites = (
        StudySite.objects.filter(care_provider__isnull=True)
        .exclude(study__source=Source.LOCAL)
        .select_related("study", "region")
    )
    if user.is_superuser:
        return sites
    if not may_link(user):
        return sites.none()
    return sites.filter(
        Q(region_id__in=user.region_ids_for(Role.COORDINATOR)) | Q(region__isnull=True)
    )


@transaction.atomic
def site_assign_provider(*, site, provider, by):
    """A coordinator names the care provider of an imported site; it moves to its region."""
    if not unmatched_sites_for(by).filter(pk=site.pk).exists():
        raise PermissionDenied(_("Only a coordinator of the site's region assigns it."))
    if (
        provider.region_id != site.region_id
        and provider.region_id not in by.region_ids_for("coordinator")
        and not by.is_superuser
    ):
        raise PermissionDenied(_("The care provider is outside your regions."))
    with because(_("Care provider named by a coordinator")):
        site.care_provider = provider
        site.region_id = provider.region_id
        site.save(update_fields=["care_provider", "region"])
    search.index_studies([site.study_id])
    return site
