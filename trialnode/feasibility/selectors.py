"""Reads with a rule: the measures of the service (one definition for the dashboard, the
yearly report and the API), the competing studies of an inquiry, and what a page shows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from trialnode.feasibility.models import (
    POSITIVE_RESPONSES,
    Inquiry,
    InquiryState,
    Recipient,
)
from trialnode.organisations.models import Node, Region
from trialnode.studies.models import ONGOING_STATUSES, Study


def _days(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 86400


def _spread(values: list[float]) -> dict[str, float | None]:
    """Median and 90th percentile (linear interpolation), in days to one decimal."""
    if not values:
        return {"median": None, "p90": None}
    import numpy as np  # here, not at start-up: every command loads this module

    return {
        "median": round(float(np.percentile(values, 50)), 1),
        "p90": round(float(np.percentile(values, 90)), 1),
    }


@dataclass(frozen=True)
class Measures:
    """The measures of the inquiries submitted in a year, in a scope of regions.

    An inquiry counts in a region's scope when it asks that region (or all of Sweden) or
    was sent to a unit there; "dispatched", the times and the answers count only the units
    in the scope, so a node's figures are its own work and the country's are everyone's.
    """

    year: int
    inquiries: int
    dispatched: int
    with_positive_answer: int
    days_to_dispatch: dict[str, float | None]
    days_to_first_answer: dict[str, float | None]
    recipients: int
    answered_recipients: int
    by_kind: dict[str, int] = field(default_factory=dict)
    by_sponsor_type: dict[str, int] = field(default_factory=dict)
    by_therapy_area: dict[str, int] = field(default_factory=dict)

    @property
    def dispatch_rate(self) -> float:
        return round(self.dispatched / self.inquiries, 4) if self.inquiries else 0.0

    @property
    def answer_rate(self) -> float:
        return round(self.answered_recipients / self.recipients, 4) if self.recipients else 0.0

    @property
    def positive_share(self) -> float:
        return round(self.with_positive_answer / self.inquiries, 4) if self.inquiries else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "inquiries": self.inquiries,
            "dispatched": self.dispatched,
            "dispatch_rate": self.dispatch_rate,
            "with_positive_answer": self.with_positive_answer,
            "days_to_dispatch": self.days_to_dispatch,
            "days_to_first_answer": self.days_to_first_answer,
            "recipients": self.recipients,
            "answered_recipients": self.answered_recipients,
            "answer_rate": self.answer_rate,
            "by_kind": self.by_kind,
            "by_sponsor_type": self.by_sponsor_type,
            "by_therapy_area": self.by_therapy_area,
        }


def measures(year: int, region_ids: frozenset[int] | None = None) -> Measures:
    """The measures for ``year``; ``region_ids`` None is the whole country."""
    inquiries = Inquiry.objects.filter(submitted_at__year=year)
    recipients = Recipient.objects.filter(inquiry__submitted_at__year=year)
    if region_ids is not None:
        concerned = (
            Q(all_sweden=True)
            | Q(target_regions__in=region_ids)
            | Q(target_providers__region_id__in=region_ids)
            | Q(recipients__region_id__in=region_ids)
        )
        inquiries = inquiries.filter(
            pk__in=Inquiry.objects.filter(concerned, submitted_at__year=year).values("pk")
        )
        recipients = recipients.filter(region_id__in=region_ids)
    rows = list(
        inquiries.values_list("pk", "kind", "therapy_area", "organisation__kind", "submitted_at")
    )
    submitted = {pk: at for pk, _k, _t, _s, at in rows}
    first_dispatch: dict[int, dt.datetime] = {}
    first_answer: dict[int, dt.datetime] = {}
    positive: set[int] = set()
    count = answered = 0
    for inquiry_id, dispatched_at, answered_at, response in recipients.values_list(
        "inquiry_id", "dispatched_at", "first_answered_at", "response"
    ):
        if inquiry_id not in submitted:
            continue
        count += 1
        if inquiry_id not in first_dispatch or dispatched_at < first_dispatch[inquiry_id]:
            first_dispatch[inquiry_id] = dispatched_at
        if answered_at is not None:
            answered += 1
            if inquiry_id not in first_answer or answered_at < first_answer[inquiry_id]:
                first_answer[inquiry_id] = answered_at
        if response in POSITIVE_RESPONSES:
            positive.add(inquiry_id)
    return Measures(
        year=year,
        inquiries=len(rows),
        dispatched=len(first_dispatch),
        with_positive_answer=len(positive),
        days_to_dispatch=_spread([_days(at - submitted[pk]) for pk, at in first_dispatch.items()]),
        days_to_first_answer=_spread(
            [_days(at - submitted[pk]) for pk, at in first_answer.items()]
        ),
        recipients=count,
        answered_recipients=answered,
        by_kind=dict(sorted(Counter(kind for _p, kind, *_r in rows).items())),
        by_sponsor_type=dict(sorted(Counter(row[3] for row in rows).items())),
        by_therapy_area=dict(sorted(Counter(row[2] for row in rows).items())),
    )


def region_ids_of(slugs: tuple[str, ...]) -> frozenset[int] | None:
    """The scope of a list of region slugs (empty: the whole country)."""
    if not slugs:
        return None
    return frozenset(Region.objects.filter(slug__in=slugs).values_list("pk", flat=True))


def node_measures(year: int) -> list[tuple[Node, Measures]]:
    """Each node's measures for the year."""
    nodes = Node.objects.prefetch_related("regions").order_by("name")
    return [(node, measures(year, frozenset(r.pk for r in node.regions.all()))) for node in nodes]


def competing_studies(inquiry: Inquiry, region_ids: frozenset[int] | None = None):
    """Ongoing published studies in the same therapy area at sites in the inquiry's regions:
    they compete for the same patients."""
    regions = inquiry.region_ids() if region_ids is None else region_ids
    return (
        Study.objects.published()
        .filter(
            status__in=ONGOING_STATUSES,
            condition_areas__chapter=inquiry.therapy_area,
            sites__region_id__in=regions,
        )
        .distinct()
        .order_by("title_sv", "title_en")
    )


def inquiry_answers(inquiry: Inquiry):
    """The recipients and their answers, region by region."""
    return inquiry.recipients.select_related("entry__care_provider", "region").order_by(
        "region__name", "entry__care_provider__name", "entry__unit_name"
    )


QUEUE_STATES = (
    InquiryState.SUBMITTED,
    InquiryState.AWAITING_SPONSOR,
    InquiryState.TRIAGED,
    InquiryState.DISPATCHED,
)
