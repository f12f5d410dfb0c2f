"""Reading the statistics' parameters (period, measure, dimension, filters) strictly.

The dashboard, the API, the downloads and the report take the same parameters, so
the same URL query gives the same numbers everywhere. A bad value raises
``FilterError`` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from trialnode.organisations.models import Region
from trialnode.statistics.definitions import Dimension, Measure, Period, Scope
from trialnode.studies.filters import FilterError
from trialnode.studies.models import Phase, SponsorType, StudyType

FIRST_YEAR = 2000


@dataclass(frozen=True)
class StatisticsQuery:
    day: date
    year: int
    measure: str = Measure.ONGOING
    by: str = Dimension.STUDY_TYPE
    scope: Scope = field(default_factory=Scope)
    explicit_day: bool = False

    @property
    def period(self) -> Period:
        """The breakdown's period: the day when one was given, else the year."""
        return Period.day(self.day) if self.explicit_day else Period.year(self.year)

    def items(self) -> list[tuple[str, str]]:
        """The query as URL parameters (without measure and dimension)."""
        items = [("year", str(self.year))]
        if self.explicit_day:
            items.append(("date", self.day.isoformat()))
        items += [("region", slug) for slug in self.scope.regions]
        for name in ("study_type", "sponsor_type", "phase"):
            if getattr(self.scope, name):
                items.append((name, getattr(self.scope, name)))
        return items

    @classmethod
    def from_params(cls, params: Mapping[str, Any], **base: Any) -> StatisticsQuery:
        errors: dict[str, str] = {}
        today = timezone.localdate()

        def one(name: str) -> str:
            value = params.get(name, "")
            return (value[-1] if isinstance(value, list) and value else value or "").strip()

        def many(name: str) -> list[str]:
            getter = getattr(params, "getlist", None)
            raw = getter(name) if getter else [params.get(name) or ""]
            return [v.strip().lower() for item in raw for v in str(item).split(",") if v.strip()]

        day, explicit_day = today, False
        if one("date"):
            try:
                day, explicit_day = date.fromisoformat(one("date")), True
            except ValueError:
                errors["date"] = _("Give the date as YYYY-MM-DD.")
        year = day.year
        if one("year"):
            text = one("year")
            if text.isdigit() and FIRST_YEAR <= int(text) <= today.year + 1:
                year = int(text)
            else:
                errors["year"] = _("Give a year between %(first)d and %(last)d.") % {
                    "first": FIRST_YEAR,
                    "last": today.year + 1,
                }
        if not explicit_day:
            # A past year is seen from its last day; the current year from today.
            day = min(today, date(year, 12, 31))
        measure = one("measure") or base.get("measure", Measure.ONGOING)
        if measure not in Measure.ALL:
            errors["measure"] = _("Unknown measure. Allowed: %(allowed)s.") % {
                "allowed": ", ".join(Measure.ALL)
            }
        by = one("by") or base.get("by", Dimension.STUDY_TYPE)
        if by not in Dimension.ALL:
            errors["by"] = _("Unknown dimension. Allowed: %(allowed)s.") % {
                "allowed": ", ".join(Dimension.ALL)
            }
        regions = tuple(dict.fromkeys(many("region")))
        unknown = set(regions) - set(Region.objects.values_list("slug", flat=True))
        if unknown:
            errors["region"] = _("Unknown region %(values)s.") % {
                "values": ", ".join(sorted(unknown))
            }
        filters: dict[str, Any] = {}
        for name, choices in (
            ("study_type", StudyType),
            ("sponsor_type", SponsorType),
            ("phase", Phase),
        ):
            value = one(name).upper()
            if value and value not in choices.values:
                errors[name] = _("Unknown value. Allowed: %(allowed)s.") % {
                    "allowed": ", ".join(choices.values)
                }
            filters[name] = value
        if errors:
            raise FilterError(errors)
        return cls(
            day=day,
            year=year,
            measure=measure,
            by=by,
            scope=Scope(regions=regions, **filters, **base.get("scope_options", {})),
            explicit_day=explicit_day,
        )
