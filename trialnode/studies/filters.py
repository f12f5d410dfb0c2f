"""The one definition of study search filters and facets, used by the search page and the API.

Every filter parses its values strictly: an unknown value is an error naming
the parameter, never an empty result or a server error. Facet counts for a
dimension are computed with every other active filter applied but not its own,
so a user always sees what choosing another value would give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Lower, NullIf
from django.utils.translation import gettext_lazy as _

from trialnode.organisations.models import CareProvider, Region
from trialnode.studies.models import (
    Phase,
    Sex,
    SponsorType,
    Status,
    Study,
    StudyCondition,
    StudySite,
    StudyType,
)
from trialnode.studies.search import TextQuery
from trialnode.studies.validators import ICD10_CHAPTERS

MAX_QUERY_LENGTH = 200
MAX_PAGE = 10_000
TRUE_VALUES = {"true", "1", "yes", "ja"}
FALSE_VALUES = {"false", "0", "no", "nej"}

CONDITION_AREA_LABELS = {
    "I": _("Infections"),
    "II": _("Cancer and tumours"),
    "III": _("Blood and immune system"),
    "IV": _("Endocrine, nutrition and metabolism"),
    "V": _("Mental health"),
    "VI": _("Nervous system"),
    "VII": _("Eye"),
    "VIII": _("Ear"),
    "IX": _("Heart and circulation"),
    "X": _("Respiratory system"),
    "XI": _("Digestive system"),
    "XII": _("Skin"),
    "XIII": _("Musculoskeletal system"),
    "XIV": _("Kidneys and urinary tract"),
    "XV": _("Pregnancy and childbirth"),
    "XVI": _("Newborns"),
    "XVII": _("Congenital conditions"),
    "XVIII": _("Symptoms and findings"),
    "XIX": _("Injuries and poisoning"),
    "XX": _("External causes"),
    "XXI": _("Health and contact with care"),
    "XXII": _("Special purposes"),
}

AGE_GROUPS: dict[str, tuple[Any, Q]] = {
    "children": (
        _("Children (under 18)"),
        Q(min_age_years__isnull=True) | Q(min_age_years__lt=18),
    ),
    "adults": (
        _("Adults (18–64)"),
        (Q(min_age_years__isnull=True) | Q(min_age_years__lte=64))
        & (Q(max_age_years__isnull=True) | Q(max_age_years__gte=18)),
    ),
    "older": (
        _("65 and older"),
        Q(max_age_years__isnull=True) | Q(max_age_years__gte=65),
    ),
}

SEX_FILTERS: dict[str, tuple[Any, Q]] = {
    "FEMALE": (_("Accepts women"), Q(sex__in=[Sex.ALL, Sex.FEMALE])),
    "MALE": (_("Accepts men"), Q(sex__in=[Sex.ALL, Sex.MALE])),
}

SORTS: dict[str, tuple[Any, Sequence[str]]] = {
    "relevance": (_("Relevance"), ("-rank", "-updated_at", "-id")),
    "updated": (_("Recently updated"), ("-updated_at", "-id")),
    "title": (_("Title"), ("title_sort", "id")),
    "start": (_("Start date"), ("-start_date", "-id")),
}


class FilterError(ValueError):
    """Bad filter input; ``errors`` maps each parameter to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class Filter:
    """One search dimension: how to parse it, apply it and count its values."""

    name: str
    label: Any
    choices: Callable[[], Sequence[tuple[str, Any]]]
    condition: Callable[[list[str]], Q]
    counts: Callable[[QuerySet[Study]], dict[str, int]]
    multiple: bool = True
    canonical: Callable[[str], str] = field(default=lambda value: value)

    def parse(self, raw: list[str]) -> list[str]:
        values = [self.canonical(v.strip()) for item in raw for v in item.split(",") if v.strip()]
        if not values:
            return []
        if not self.multiple and len(values) > 1:
            raise FilterError({self.name: str(_("Give only one value."))})
        allowed = {value for value, _label in self.choices()}
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise FilterError(
                {
                    self.name: str(
                        _("Unknown value %(values)s. Allowed: %(allowed)s.")
                        % {"values": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))}
                    )
                }
            )
        return list(dict.fromkeys(values))


def _field_counts(field_name: str) -> Callable[[QuerySet[Study]], dict[str, int]]:
    def counts(queryset: QuerySet[Study]) -> dict[str, int]:
        rows = queryset.order_by().values(field_name).annotate(n=Count("id"))
        return {row[field_name]: row["n"] for row in rows}

    return counts


def _conditional_counts(
    conditions: Mapping[str, tuple[Any, Q]],
) -> Callable[[QuerySet[Study]], dict[str, int]]:
    def counts(queryset: QuerySet[Study]) -> dict[str, int]:
        return queryset.order_by().aggregate(
            **{key: Count("id", filter=condition) for key, (_l, condition) in conditions.items()}
        )

    return counts


def _site_counts(key: str) -> Callable[[QuerySet[Study]], dict[str, int]]:
    def counts(queryset: QuerySet[Study]) -> dict[str, int]:
        rows = (
            StudySite.objects.filter(study__in=queryset.order_by().values("id"))
            .values(key)
            .annotate(n=Count("study_id", distinct=True))
            .order_by()
        )
        return {row[key]: row["n"] for row in rows if row[key]}

    return counts


def _condition_area_counts(queryset: QuerySet[Study]) -> dict[str, int]:
    rows = (
        StudyCondition.objects.filter(study__in=queryset.order_by().values("id"))
        .exclude(chapter="")
        .values("chapter")
        .annotate(n=Count("study_id", distinct=True))
        .order_by()
    )
    return {row["chapter"]: row["n"] for row in rows}


def _recruiting_counts(queryset: QuerySet[Study]) -> dict[str, int]:
    return {"true": queryset.filter(status=Status.RECRUITING).count()}


def _has_site(**lookup: Any) -> Q:
    return Q(Exists(StudySite.objects.filter(study=OuterRef("pk"), **lookup)))


def _any_of(conditions: Mapping[str, tuple[Any, Q]], values: list[str]) -> Q:
    combined = Q()
    for value in values:
        combined |= conditions[value][1]
    return combined


def _upper(value: str) -> str:
    return value.upper()


def _lower(value: str) -> str:
    return value.lower()


def _region_choices() -> list[tuple[str, str]]:
    return list(Region.objects.values_list("slug", "name"))


def _provider_choices() -> list[tuple[str, str]]:
    return list(CareProvider.objects.filter(is_active=True).values_list("slug", "name"))


def _bool_choices() -> list[tuple[str, Any]]:
    return [("true", _("Yes"))]


def _parse_bool(value: str) -> str:
    lowered = value.lower()
    if lowered in TRUE_VALUES:
        return "true"
    if lowered in FALSE_VALUES:
        return "false"
    return value


FILTERS: list[Filter] = [
    Filter(
        name="recruiting",
        label=_("Open for recruitment"),
        choices=lambda: [("true", _("Yes")), ("false", _("No"))],
        condition=lambda values: (
            Q(status=Status.RECRUITING) if values == ["true"] else ~Q(status=Status.RECRUITING)
        ),
        counts=_recruiting_counts,
        multiple=False,
        canonical=_parse_bool,
    ),
    Filter(
        name="status",
        label=_("Status"),
        choices=lambda: Status.choices,
        condition=lambda values: Q(status__in=values),
        counts=_field_counts("status"),
        canonical=_upper,
    ),
    Filter(
        name="region",
        label=_("Region"),
        choices=_region_choices,
        condition=lambda values: _has_site(region__slug__in=values),
        counts=_site_counts("region__slug"),
        canonical=_lower,
    ),
    Filter(
        name="care_provider",
        label=_("Care provider"),
        choices=_provider_choices,
        condition=lambda values: _has_site(care_provider__slug__in=values),
        counts=_site_counts("care_provider__slug"),
        canonical=_lower,
    ),
    Filter(
        name="study_type",
        label=_("Study type"),
        choices=lambda: StudyType.choices,
        condition=lambda values: Q(study_type__in=values),
        counts=_field_counts("study_type"),
        canonical=_upper,
    ),
    Filter(
        name="phase",
        label=_("Phase"),
        choices=lambda: Phase.choices,
        condition=lambda values: Q(phase__in=values),
        counts=_field_counts("phase"),
        canonical=_upper,
    ),
    Filter(
        name="sponsor_type",
        label=_("Sponsor type"),
        choices=lambda: SponsorType.choices,
        condition=lambda values: Q(sponsor_type__in=values),
        counts=_field_counts("sponsor_type"),
        canonical=_upper,
    ),
    Filter(
        name="condition_area",
        label=_("Condition area"),
        choices=lambda: [(c, CONDITION_AREA_LABELS[c]) for c, _f, _l in ICD10_CHAPTERS],
        condition=lambda values: Q(
            Exists(StudyCondition.objects.filter(study=OuterRef("pk"), chapter__in=values))
        ),
        counts=_condition_area_counts,
        canonical=_upper,
    ),
    Filter(
        name="age_group",
        label=_("Age group"),
        choices=lambda: [(k, label) for k, (label, _q) in AGE_GROUPS.items()],
        condition=lambda values: _any_of(AGE_GROUPS, values),
        counts=_conditional_counts(AGE_GROUPS),
        canonical=_lower,
    ),
    Filter(
        name="sex",
        label=_("Sex"),
        choices=lambda: [(k, label) for k, (label, _q) in SEX_FILTERS.items()],
        condition=lambda values: _any_of(SEX_FILTERS, values),
        counts=_conditional_counts(SEX_FILTERS),
        multiple=False,
        canonical=_upper,
    ),
    Filter(
        name="healthy_volunteers",
        label=_("Healthy volunteers"),
        choices=lambda: [("true", _("Accepts healthy volunteers"))],
        condition=lambda values: Q(healthy_volunteers=True),
        counts=lambda qs: {"true": qs.filter(healthy_volunteers=True).count()},
        multiple=False,
        canonical=_parse_bool,
    ),
]
FILTERS_BY_NAME = {f.name: f for f in FILTERS}


@dataclass
class StudySearch:
    """A validated search: free text, filters, sort and page."""

    text: str = ""
    values: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> StudySearch:
        """Parse request parameters (a QueryDict or a dict of lists/strings)."""

        def getlist(name: str) -> list[str]:
            if hasattr(params, "getlist"):
                return params.getlist(name)
            raw = params.get(name)
            if raw is None:
                return []
            return list(raw) if isinstance(raw, list | tuple) else [str(raw)]

        errors: dict[str, str] = {}
        text = " ".join(getlist("q")).strip()
        if len(text) > MAX_QUERY_LENGTH:
            errors["q"] = str(
                _("The search text may be at most %(max)d characters.") % {"max": MAX_QUERY_LENGTH}
            )
        values: dict[str, list[str]] = {}
        for name, definition in FILTERS_BY_NAME.items():
            try:
                parsed = definition.parse(getlist(name))
            except FilterError as exc:
                errors.update(exc.errors)
                continue
            if parsed:
                values[name] = parsed
        sort_values = [s for s in getlist("sort") if s]
        sort = sort_values[0] if sort_values else ("relevance" if text else "updated")
        if sort not in SORTS:
            errors["sort"] = str(
                _("Unknown sort order. Allowed: %(allowed)s.") % {"allowed": ", ".join(SORTS)}
            )
        page_values = [p for p in getlist("page") if p]
        page = 1
        if page_values:
            try:
                page = int(page_values[0])
                if not 1 <= page <= MAX_PAGE:
                    raise ValueError
            except ValueError:
                errors["page"] = str(
                    _("The page must be a whole number from 1 to %(max)d.") % {"max": MAX_PAGE}
                )
        if errors:
            raise FilterError(errors)
        if sort == "relevance" and not text:
            sort = "updated"
        return cls(text=text, values=values, sort=sort, page=page)

    def _apply(self, base: QuerySet[Study], text_query: TextQuery, skip: str = "") -> QuerySet:
        queryset = base
        if text_query:
            queryset = text_query.filter(queryset)
        for name, values in self.values.items():
            if name != skip:
                queryset = queryset.filter(FILTERS_BY_NAME[name].condition(values))
        return queryset

    def run(
        self, base: QuerySet[Study], *, page_size: int, with_facets: bool = True
    ) -> SearchResult:
        text_query = TextQuery.parse(self.text) if self.text else TextQuery(())
        queryset = self._apply(base, text_query)
        count = queryset.count()
        sort = self.sort if text_query or self.sort != "relevance" else "updated"
        ordering = SORTS[sort][1]
        if sort == "relevance":
            queryset = queryset.annotate(rank=text_query.rank())
        elif sort == "title":
            queryset = queryset.annotate(
                title_sort=Lower(Coalesce(NullIf("title_sv", Value("")), "title_en"))
            )
        offset = (self.page - 1) * page_size
        page = list(
            queryset.order_by(*ordering).prefetch_related("sites__region")[
                offset : offset + page_size
            ]
        )
        facets: dict[str, list[FacetValue]] = {}
        if with_facets:
            for definition in FILTERS:
                counts = definition.counts(self._apply(base, text_query, skip=definition.name))
                selected = set(self.values.get(definition.name, []))
                facets[definition.name] = [
                    FacetValue(
                        value=value,
                        label=str(label),
                        count=counts.get(value, 0) or 0,
                        selected=value in selected,
                    )
                    for value, label in definition.choices()
                    if counts.get(value) or value in selected
                ]
        return SearchResult(
            count=count, page=self.page, page_size=page_size, studies=page, facets=facets
        )

    def query_items(self, **overrides: Any) -> list[tuple[str, str]]:
        """The parameters of this search (for shareable URLs), with ``overrides`` applied."""
        state: dict[str, Any] = {"q": self.text, **self.values, "sort": self.sort}
        state.update(overrides)
        items: list[tuple[str, str]] = []
        for name, value in state.items():
            if value in (None, "", []):
                continue
            if isinstance(value, list):
                items.extend((name, v) for v in value)
            else:
                items.append((name, str(value)))
        return items


@dataclass
class SearchResult:
    count: int
    page: int
    page_size: int
    studies: list[Study]
    facets: dict[str, list[FacetValue]]

    @property
    def page_count(self) -> int:
        return max(1, -(-self.count // self.page_size))
