"""Reads with a rule: a count request's result per region and in total.

The total is the one function every page, the API and other apps (a study plan, a
feasibility inquiry) use, so the figure is the same wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trialnode.counts.models import CountRequest, RegionResult


@dataclass(frozen=True)
class RegionRow:
    region: str
    node: str
    state: str
    state_label: str
    persons: int | str | None
    low: int | None
    high: int | None
    message: str
    attrition: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.state == RegionResult.State.ANSWERED

    @property
    def below_threshold(self) -> int | None:
        """The threshold when the region released "fewer than N", else None."""
        if isinstance(self.persons, str) and self.persons.startswith("<"):
            digits = self.persons[1:]
            return int(digits) if digits.isdigit() else None
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "node": self.node,
            "state": self.state,
            "persons": self.persons,
            "interval": [self.low, self.high] if self.answered else None,
            "message": self.message,
            "attrition": self.attrition,
        }


@dataclass(frozen=True)
class Summary:
    rows: list[RegionRow]
    low: int
    high: int
    answered: int
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "regions": [row.as_dict() for row in self.rows],
            "total": {"interval": [self.low, self.high], "complete": self.complete},
            "missing": self.missing,
        }


def request_summary(request: CountRequest) -> Summary:
    """Per region what it released; the total as the sum of the answered intervals."""
    rows = []
    low = high = 0
    missing = []
    results = request.results.select_related("peer__region").order_by(
        "peer__region__name", "peer__name"
    )
    for result in results:
        released = result.released or {}
        answered = result.state == RegionResult.State.ANSWERED
        interval = released.get("interval") if answered else None
        if answered and interval:
            low += int(interval[0])
            high += int(interval[1])
        else:
            missing.append(result.peer.region.name)
        rows.append(
            RegionRow(
                region=result.peer.region.name,
                node=result.peer.name,
                state=result.state,
                state_label=str(RegionResult.State(result.state).label),
                persons=released.get("persons") if answered else None,
                low=int(interval[0]) if interval else None,
                high=int(interval[1]) if interval else None,
                message=result.message,
                attrition=list(released.get("attrition") or []) if answered else [],
            )
        )
    return Summary(
        rows=rows, low=low, high=high, answered=len(rows) - len(missing), missing=missing
    )


def attached_to(target_type: str, target_id: Any) -> list[tuple[CountRequest, Summary]]:
    """Every count attached to a record, with its released results: for the record's own
    page, whose view has checked that the reader may see the record."""
    requests = CountRequest.objects.for_target(target_type, target_id).order_by("-created_at")
    return [(request, request_summary(request)) for request in requests]


def requests_for(target_type: str, target_id: Any, user) -> list[tuple[CountRequest, Summary]]:
    """The counts attached to a record (``"studies.study"``, pk) that ``user`` may see,
    with their results: the seam for other apps' pages."""
    requests = (
        CountRequest.objects.visible_to(user)
        .for_target(target_type, target_id)
        .order_by("-created_at")
    )
    return [(request, request_summary(request)) for request in requests]
