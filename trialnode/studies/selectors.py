"""Reads with a rule on studies."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Q
from rapidfuzz import fuzz

from trialnode.studies.models import StatusSpan, Study
from trialnode.studies.search import TextQuery

TITLE_SIMILARITY = 90
SPONSOR_SIMILARITY = 80
DUPLICATE_CANDIDATES = 50


def find_possible_duplicates(
    *,
    title: str,
    sponsor_name: str,
    identifiers: Mapping[str, str],
    exclude_id: int | None = None,
) -> list[Study]:
    """Studies that share an identifier, or have a near-same title and sponsor."""
    registry_ids = {k: v for k, v in identifiers.items() if v and k != "local_id"}
    others = Study.objects.all() if exclude_id is None else Study.objects.exclude(pk=exclude_id)
    found: dict[int, Study] = {}
    if registry_ids:
        same_id = Q()
        for name, value in registry_ids.items():
            same_id |= Q(**{name: value})
        for study in others.filter(same_id)[:20]:
            found[study.pk] = study
    if title:
        query = TextQuery.parse(title)
        if query:
            candidates = (
                query.filter(others)
                .annotate(rank=query.rank())
                .order_by("-rank")[:DUPLICATE_CANDIDATES]
            )
            for study in candidates:
                same_title = max(
                    fuzz.token_sort_ratio(title.casefold(), t.casefold())
                    for t in (study.title_sv, study.title_en)
                    if t
                )
                same_sponsor = (
                    not sponsor_name
                    or not study.sponsor_name
                    or fuzz.token_set_ratio(sponsor_name.casefold(), study.sponsor_name.casefold())
                    >= SPONSOR_SIMILARITY
                )
                if same_title >= TITLE_SIMILARITY and same_sponsor:
                    found[study.pk] = study
    return list(found.values())


def status_periods(study: Study) -> list[StatusSpan]:
    """The study's overall status over time, as in force after every correction: the
    periods the statistics count from. The last one is the study's current status."""
    return list(study.status_spans.order_by("start"))
