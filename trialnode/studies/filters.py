"""The one definition of study search filters and facets, used by the search page and the API.

Every filter parses its values strictly: an unknown value is an error naming
the parameter, never an empty result or a server error. Facet counts for a
dimension are computed with every other active filter applied but not its own,
so a user always sees what choosing another value would give.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, Lower, NullIf
from django.utils.translation import gettext_lazy as _

from trialnode.core.prepared import prepared_cursor
from trialnode.organisations.models import CareProvider, Region
from trialnode.studies import searchrows
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


@dataclass(frozen=True)
class FieldFacet:
    """Counts per value of a column of the study."""

    column: str


@dataclass(frozen=True)
class ConditionFacet:
    """Counts of the studies meeting each condition (the values may overlap)."""

    conditions: Mapping[str, Q]


@dataclass(frozen=True)
class JoinFacet:
    """Counts of distinct studies per value of a related table's column."""

    joins: str
    value: str
    where: str = "1 = 1"


@dataclass
class Filter:
    """One search dimension: how to parse it, apply it and count its values.

    ``condition`` and ``facet`` apply to studies; on the public search rows
    (``PublicSearchRow``) every value is a tag ``name:value`` (``studies.searchrows``).
    """

    name: str
    label: Any
    choices: Callable[[], Sequence[tuple[str, Any]]]
    condition: Callable[[list[str]], Q]
    facet: FieldFacet | ConditionFacet | JoinFacet
    multiple: bool = True
    canonical: Callable[[str], str] = field(default=lambda value: value)

    def parse(self, raw: list[str], allowed: set[str]) -> list[str]:
        values = [self.canonical(v.strip()) for item in raw for v in item.split(",") if v.strip()]
        if not values:
            return []
        if not self.multiple and len(values) > 1:
            raise FilterError({self.name: str(_("Give only one value."))})
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
        facet=ConditionFacet({"true": Q(status=Status.RECRUITING)}),
        multiple=False,
        canonical=_parse_bool,
    ),
    Filter(
        name="status",
        label=_("Status"),
        choices=lambda: Status.choices,
        condition=lambda values: Q(status__in=values),
        facet=FieldFacet("status"),
        canonical=_upper,
    ),
    Filter(
        name="region",
        label=_("Region"),
        choices=_region_choices,
        condition=lambda values: _has_site(region__slug__in=values),
        facet=JoinFacet(
            joins="JOIN studies_studysite s ON s.study_id = m.pk "
            "JOIN organisations_region r ON r.id = s.region_id",
            value="r.slug",
        ),
        canonical=_lower,
    ),
    Filter(
        name="care_provider",
        label=_("Care provider"),
        choices=_provider_choices,
        condition=lambda values: _has_site(care_provider__slug__in=values),
        facet=JoinFacet(
            joins="JOIN studies_studysite s ON s.study_id = m.pk "
            "JOIN organisations_careprovider p ON p.id = s.care_provider_id",
            value="p.slug",
        ),
        canonical=_lower,
    ),
    Filter(
        name="study_type",
        label=_("Study type"),
        choices=lambda: StudyType.choices,
        condition=lambda values: Q(study_type__in=values),
        facet=FieldFacet("study_type"),
        canonical=_upper,
    ),
    Filter(
        name="phase",
        label=_("Phase"),
        choices=lambda: Phase.choices,
        condition=lambda values: Q(phase__in=values),
        facet=FieldFacet("phase"),
        canonical=_upper,
    ),
    Filter(
        name="sponsor_type",
        label=_("Sponsor type"),
        choices=lambda: SponsorType.choices,
        condition=lambda values: Q(sponsor_type__in=values),
        facet=FieldFacet("sponsor_type"),
        canonical=_upper,
    ),
    Filter(
        name="condition_area",
        label=_("Condition area"),
        choices=lambda: [(c, CONDITION_AREA_LABELS[c]) for c, _f, _l in ICD10_CHAPTERS],
        condition=lambda values: Q(
            Exists(StudyCondition.objects.filter(study=OuterRef("pk"), chapter__in=values))
        ),
        facet=JoinFacet(
            joins="JOIN studies_studycondition c ON c.study_id = m.pk",
            value="c.chapter",
            where="c.chapter <> ''",
        ),
        canonical=_upper,
    ),
    Filter(
        name="age_group",
        label=_("Age group"),
        choices=lambda: [(k, label) for k, (label, _q) in AGE_GROUPS.items()],
        condition=lambda values: _any_of(AGE_GROUPS, values),
        facet=ConditionFacet({k: q for k, (_l, q) in AGE_GROUPS.items()}),
        canonical=_lower,
    ),
    Filter(
        name="sex",
        label=_("Sex"),
        choices=lambda: [(k, label) for k, (label, _q) in SEX_FILTERS.items()],
        condition=lambda values: _any_of(SEX_FILTERS, values),
        facet=ConditionFacet({k: q for k, (_l, q) in SEX_FILTERS.items()}),
        multiple=False,
        canonical=_upper,
    ),
    Filter(
        name="healthy_volunteers",
        label=_("Healthy volunteers"),
        choices=lambda: [("true", _("Accepts healthy volunteers"))],
        condition=lambda values: Q(healthy_volunteers=True),
        facet=ConditionFacet({"true": Q(healthy_volunteers=True)}),
        multiple=False,
        canonical=_parse_bool,
    ),
]
FILTERS_BY_NAME = {f.name: f for f in FILTERS}

# The public search rows' orderings (``SORTS`` over the studies), without text (no
# relevance) and over the rows matching a text (``rank``: their relevance).
ROW_ORDERINGS = {
    "updated": "updated_at DESC, study_id DESC",
    "title": "title_sort ASC, study_id ASC",
    "start": "start_date DESC, study_id DESC",
}
MATCHED_ORDERINGS = {"relevance": "rank DESC, updated_at DESC, study_id DESC", **ROW_ORDERINGS}
# The columns each ordering reads, over the rows matching a text.
MATCHED_SORT_KEYS = {
    "relevance": {"rank": "ts_rank(tsv, (SELECT q FROM query))", "updated_at": "updated_at"},
    "updated": {"updated_at": "updated_at"},
    "title": {"title_sort": "title_sort"},
    "start": {"start_date": "start_date"},
}
# The page's study columns (``_page_columns``) in the rows of the counts: none.
PAGE_NULLS = ", NULL" * (len(Study._meta.concrete_fields) + 1)


def _counted(facet: FieldFacet | ConditionFacet | JoinFacet) -> Callable[[str], bool]:
    if isinstance(facet, ConditionFacet):
        return facet.conditions.__contains__
    return lambda value: True


# Which tags of the public search rows each facet counts (a filter may have values that
# its facet does not count, e.g. "recruiting:false"); the total is "__count".
COUNTED: dict[str, Callable[[str], bool]] = {
    "__count": lambda value: True,
    **{f.name: _counted(f.facet) for f in FILTERS},
}


# The choices of every filter at one data version (PostgreSQL): regions and care
# providers change rarely, and every change advances the version. Not kept from inside a
# transaction, which may yet be rolled back.
_choices_at: dict[int, dict[str, list[tuple[str, Any]]]] = {}


def _all_choices() -> dict[str, list[tuple[str, Any]]]:
    if not searchrows.maintained() or connection.in_atomic_block:
        return {definition.name: list(definition.choices()) for definition in FILTERS}
    version = searchrows.recent_data_version()
    choices = _choices_at.get(version)
    if choices is None:
        choices = {definition.name: list(definition.choices()) for definition in FILTERS}
        _choices_at.clear()
        _choices_at[version] = choices
    return choices


def _failing_at_most(kept: int, count: int) -> str:
    """A condition on the public search rows that holds for the rows failing at most
    ``kept`` (0 or 1) of the ``count`` filters ``%(filter_<i>)s``, in the form the text
    index on ``(tsv, tags)`` answers in one scan: the rows failing more are never read.

    A row fails at most one filter exactly when it meets one of every two filters, so
    the condition is one overlap for each pair (with the two filters' tags together).
    Each tag's list in the index is read once (about 10 % faster than one scan for each
    filter that may fail, with three filters)."""
    if count <= kept:
        return "true"
    if kept == 0:
        meets = [f"tags && %(filter_{position})s::int[]" for position in range(count)]
    else:
        meets = [
            f"tags && (%(filter_{first})s::int[] || %(filter_{second})s::int[])"
            for first, second in itertools.combinations(range(count), 2)
        ]
    return "(" + " AND ".join(meets) + ")"


@dataclass
class StudySearch:
    """A validated search: free text, filters, sort and page."""

    text: str = ""
    values: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    choices: dict[str, list[tuple[str, Any]]] = field(default_factory=dict, repr=False)

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
        # Choices are read once per search, for parsing and for labelling the facets.
        choices = _all_choices()
        values: dict[str, list[str]] = {}
        for name, definition in FILTERS_BY_NAME.items():
            try:
                parsed = definition.parse(getlist(name), {v for v, _l in choices[name]})
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
        return cls(text=text, values=values, sort=sort, page=page, choices=choices)

    def filtered(self, base: QuerySet[Study]) -> QuerySet[Study]:
        """Every study this search finds (no paging, no facets)."""
        return self._filtered(base, TextQuery.parse(self.text) if self.text else TextQuery(()))

    def _filtered(self, base: QuerySet[Study], text_query: TextQuery) -> QuerySet[Study]:
        queryset = text_query.filter(base) if text_query else base
        for name, values in self.values.items():
            queryset = queryset.filter(FILTERS_BY_NAME[name].condition(values))
        return queryset

    def run(
        self, base: QuerySet[Study], *, page_size: int, with_facets: bool = True
    ) -> SearchResult:
        text_query = TextQuery.parse(self.text) if self.text else TextQuery(())
        matched = text_query.filter(base) if text_query else base
        if with_facets:
            counts = self._facet_counts(matched)
            count = counts.pop("__count", {}).get("", 0)
        else:
            counts = {}
            count = self._filtered(base, text_query).count()
        queryset = self._filtered(base, text_query)
        sort = self.sort if text_query or self.sort != "relevance" else "updated"
        ordering = SORTS[sort][1]
        if sort == "relevance":
            queryset = queryset.annotate(rank=text_query.rank())
        elif sort == "title":
            queryset = queryset.annotate(
                title_sort=Lower(Coalesce(NullIf("title_sv", Value("")), "title_en"))
            )
        offset = (self.page - 1) * page_size
        page = [
            (study, list(study.sites.all()))
            for study in queryset.order_by(*ordering).prefetch_related("sites__region")[
                offset : offset + page_size
            ]
        ]
        return self._result(count, counts, page, page_size=page_size, with_facets=with_facets)

    def run_public(self, *, page_size: int, with_facets: bool = True) -> SearchResult:
        """``run`` over every published study; on PostgreSQL it reads the public search
        rows (one narrow table, ``studies.searchrows``) instead of the studies, with the
        same results: every filter is an overlap with the rows' tags, and the total, all
        facets and the page's studies are read in one statement (``_row_search``)."""
        if not searchrows.maintained():
            return self.run(Study.objects.published(), page_size=page_size, with_facets=with_facets)
        filters = [
            (name, searchrows.tag_numbers(searchrows.tag(name, value) for value in values))
            for name, values in self.values.items()
        ]
        counts, page = self._row_search(filters, page_size=page_size, with_facets=with_facets)
        count = counts.pop("__count", {}).get("", 0)
        return self._result(count, counts, page, page_size=page_size, with_facets=with_facets)

    def _row_search(
        self, filters: list[tuple[str, list[int]]], *, page_size: int, with_facets: bool
    ) -> tuple[dict[str, dict[str, int]], list[tuple[Study, list[StudySite]]]]:
        """The total and every facet's counts (``__count`` and each filter's name) and the
        page's studies with their sites, over the public search rows, in one statement.

        A facet counts the rows meeting every active filter but its own. So a row meeting
        every filter counts for all its tags (and for the total); a row failing exactly
        one filter counts only for the tags of that filter's facet (a tag's number tells
        its facet); any other row counts for nothing.

        With text, the rows matching it are read once (``matched``), through the index on
        the text and the tags, which leaves out the rows failing more filters than can
        count: the query is computed in the statement, so the planner never takes a
        common word for a reason to read the whole table. Without text the page comes
        from the rows in the order of the sort's index.
        """
        # Text of only punctuation is no search at all (as in ``run``).
        text = TextQuery.tsquery_sql_of(self.text)
        sort = self.sort if text or self.sort != "relevance" else "updated"
        params: dict[str, Any] = {
            "page_size": page_size,
            "page_offset": (self.page - 1) * page_size,
        }
        failing_terms, failed_cases = [], []
        for position, (name, tags) in enumerate(filters):
            params[f"filter_{position}"] = tags
            failing_terms.append(f"(NOT tags && %(filter_{position})s::int[])::int")
            failed_cases.append(
                f"WHEN NOT tags && %(filter_{position})s::int[] THEN {searchrows.FACET_CODES[name]}"
            )
        failing = " + ".join(failing_terms) or "0"
        failed = f"CASE {' '.join(failed_cases)} END" if failed_cases else "NULL::int"
        # Rows failing one filter count for a facet; only rows meeting all are the total.
        kept = 1 if with_facets else 0
        candidates = _failing_at_most(kept, len(filters))
        if text is not None:
            text_sql, text_params = text
            params.update(text_params)
            # The sort keys are kept for the rows of the result only.
            keys = "".join(
                f", CASE WHEN failing = 0 THEN {expression} END AS {name}"
                for name, expression in MATCHED_SORT_KEYS[sort].items()
            )
            prefix = f"""
                WITH query AS MATERIALIZED ({text_sql}),
                matched AS MATERIALIZED (
                    SELECT study_id, tags, failing, failed{keys}
                    FROM (
                        SELECT study_id, tags, tsv, updated_at, start_date, title_sort,
                               {failing} AS failing, {failed} AS failed
                        FROM studies_publicsearchrow
                        WHERE tsv @@ (SELECT q FROM query) AND {candidates}
                        OFFSET 0  -- each row's filters evaluated once
                    ) r
                    WHERE failing <= {kept}
                )
            """
            rows = "matched"
            ordering = MATCHED_ORDERINGS[sort]
            page = f"""
                SELECT study_id FROM matched WHERE failing = 0
                ORDER BY {ordering} LIMIT %(page_size)s OFFSET %(page_offset)s
            """
        else:
            prefix = ""
            rows = f"""(
                SELECT tags, failing, failed FROM (
                    SELECT tags, {failing} AS failing, {failed} AS failed
                    FROM studies_publicsearchrow WHERE {candidates}
                    OFFSET 0  -- each row's filters evaluated once, not per tag
                ) r WHERE failing <= {kept}
            ) matched"""
            meeting = " AND ".join(
                f"tags && %(filter_{position})s::int[]" for position in range(len(filters))
            )
            page = f"""
                SELECT study_id FROM studies_publicsearchrow WHERE {meeting or "true"}
                ORDER BY {ROW_ORDERINGS[sort]} LIMIT %(page_size)s OFFSET %(page_offset)s
            """
        if with_facets and text is not None:
            # Each kind of row on its own (a scan of ``matched`` is cheap): a row meeting
            # every filter counts once for the total and for each of its tags; a row
            # failing one filter counts for that filter's tags only, the only ones
            # unnested (``facet_tags``). unnest in the select list: one set-returning
            # projection over the rows, not a function scan per row.
            counted = f"""
                SELECT t, COUNT(*) AS n
                FROM (SELECT unnest(tags) AS t FROM matched WHERE failing = 0) u
                GROUP BY t
                UNION ALL
                SELECT {searchrows.TOTAL_TAG}, COUNT(*) FROM matched WHERE failing = 0
            """
            if filters:
                counted += f"""
                    UNION ALL
                    SELECT t, COUNT(*)
                    FROM (
                        SELECT unnest({searchrows.facet_tags("failed")}) AS t
                        FROM matched WHERE failing = 1
                    ) u
                    GROUP BY t
                """
        elif with_facets and text is None and len(filters) == 1:
            # One filter: its own facet counts every row, as a search without filters
            # does (the tag counts the database keeps); the total and the other facets
            # count the rows meeting it.
            own = searchrows.FACET_CODES[filters[0][0]]
            counted = f"""
                {searchrows.TAG_COUNTS.format(where=f"tag / {searchrows.TAG_BLOCK} = {own}")}
                UNION ALL
                SELECT t, COUNT(*) FROM (
                    SELECT unnest(tags || {searchrows.TOTAL_TAG}) AS t
                    FROM studies_publicsearchrow WHERE tags && %(filter_0)s::int[]
                ) u
                WHERE t / {searchrows.TAG_BLOCK} <> {own}
                GROUP BY t
            """
        elif with_facets and filters:
            # The same in one pass over the rows: a row meeting every filter with all
            # its tags and the total's, a row failing one with its failed facet's tags.
            counted = f"""
                SELECT t, COUNT(*) AS n
                FROM (
                    SELECT unnest(
                        CASE WHEN failing = 0 THEN tags || {searchrows.TOTAL_TAG}
                             ELSE {searchrows.facet_tags("failed")} END
                    ) AS t
                    FROM {rows}
                ) u
                GROUP BY t
            """
        elif with_facets:
            # Every row counts for all its tags: the tag counts the database keeps.
            counted = searchrows.TAG_COUNTS.format(where="true")
        elif text is None and not filters:
            counted = searchrows.TAG_COUNTS.format(where=f"tag = {searchrows.TOTAL_TAG}")
        else:
            counted = f"SELECT {searchrows.TOTAL_TAG} AS t, COUNT(*) AS n FROM {rows}"
        sql = f"""
            {prefix}
            SELECT COALESCE(k.tag, '__count:'), c.n, NULL::bigint{PAGE_NULLS}
            FROM ({counted}) c
            LEFT JOIN studies_searchtag k ON k.id = c.t
            UNION ALL
            SELECT NULL, NULL, p.position, {_page_columns()}
            FROM unnest(ARRAY({page})) WITH ORDINALITY AS p(study_id, position)
            JOIN studies_study s ON s.id = p.study_id
        """
        counts: dict[str, dict[str, int]] = {"__count": {"": 0}}
        studies: list[tuple[int, tuple[Study, list[StudySite]]]] = []
        regions: dict[int, Region] = {}
        # A search with text is planned once per connection: its plan follows the text
        # index whatever the words and filters, and planning it costs as much as a
        # selective search itself. Without text, the plan depends on how many rows
        # the filters keep, so it is made for each search's own values.
        with prepared_cursor() if text is not None else connection.cursor() as cursor:
            cursor.execute(sql, params)
            for found, number, position, *study in cursor.fetchall():
                if position is not None:
                    studies.append((position, _page_study(study, regions)))
                else:
                    name, _colon, value = found.partition(":")
                    if name in COUNTED and COUNTED[name](value):
                        # A tag may come twice: from the rows meeting every filter and
                        # from those failing only its facet's.
                        facet = counts.setdefault(name, {})
                        facet[value] = facet.get(value, 0) + number
        return counts, [listed for _position, listed in sorted(studies, key=lambda p: p[0])]

    def _result(
        self,
        count: int,
        counts: dict[str, dict[str, int]],
        page: list[tuple[Study, list[StudySite]]],
        *,
        page_size: int,
        with_facets: bool,
    ) -> SearchResult:
        facets: dict[str, list[FacetValue]] = {}
        for definition in FILTERS if with_facets else []:
            found = counts.get(definition.name, {})
            selected = set(self.values.get(definition.name, []))
            choices = self.choices.get(definition.name) or definition.choices()
            facets[definition.name] = [
                FacetValue(
                    value=value,
                    label=str(label),
                    count=found.get(value, 0),
                    selected=value in selected,
                )
                for value, label in choices
                if found.get(value) or value in selected
            ]
        return SearchResult(
            count=count,
            page=self.page,
            page_size=page_size,
            studies=[study for study, _sites in page],
            facets=facets,
            sites={study.pk: sites for study, sites in page},
        )

    def _facet_counts(self, matched: QuerySet[Study]) -> dict[str, dict[str, int]]:
        """The total and every facet's counts, in one statement.

        ``matched``: the studies matching the text. They are materialised once, with a
        flag per active filter; each facet then counts over the rows meeting every other
        active filter.
        """
        specs = {d.name: d.facet for d in FILTERS}
        flags = {
            f"f_{name}": ExpressionWrapper(
                FILTERS_BY_NAME[name].condition(values), output_field=BooleanField()
            )
            for name, values in self.values.items()
        }
        conditions = {
            f"c_{name}_{value}": ExpressionWrapper(q, output_field=BooleanField())
            for name, spec in specs.items()
            if isinstance(spec, ConditionFacet)
            for value, q in spec.conditions.items()
        }
        columns = [
            "pk",
            *sorted({s.column for s in specs.values() if isinstance(s, FieldFacet)}),
        ]
        matched = matched.order_by().annotate(**flags, **conditions)
        matched = matched.values(*columns, *flags, *conditions)
        inner_sql, params = matched.query.sql_with_params()
        names = [*columns, *flags, *conditions]

        def others(skip: str) -> str:
            kept = [f"m.f_{name}" for name in self.values if name != skip]
            return " AND ".join(kept) or "1 = 1"

        parts = [f"SELECT '__count', '', COUNT(*) FROM matched m WHERE {others('')}"]
        for name, spec in specs.items():
            where = others(name)
            if isinstance(spec, FieldFacet):
                parts.append(
                    f"SELECT '{name}', m.{spec.column}, COUNT(*) FROM matched m "
                    f"WHERE {where} GROUP BY m.{spec.column}"
                )
            elif isinstance(spec, ConditionFacet):
                for value in spec.conditions:
                    parts.append(
                        f"SELECT '{name}', '{value}', COUNT(*) FROM matched m "
                        f"WHERE {where} AND m.c_{name}_{value}"
                    )
            else:
                parts.append(
                    f"SELECT '{name}', {spec.value}, COUNT(DISTINCT m.pk) FROM matched m "
                    f"{spec.joins} WHERE {where} AND {spec.where} GROUP BY {spec.value}"
                )
        sql = (
            f"WITH matched({', '.join(names)}) AS MATERIALIZED ({inner_sql}) "
            + " UNION ALL ".join(parts)
        )
        counts: dict[str, dict[str, int]] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for facet, value, number in cursor.fetchall():
                if number:
                    counts.setdefault(facet, {})[value] = number
        return counts

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


def _page_columns() -> str:
    """The columns of a page's study ``s``: every field, then its sites with their regions
    (JSON, in the order of the sites), as ``_page_study`` reads them."""
    studies = ", ".join(f"s.{f.column}" for f in Study._meta.concrete_fields)
    sites = ", ".join(f"x.{f.column}" for f in StudySite._meta.concrete_fields)
    regions = ", ".join(f"g.{f.column}" for f in Region._meta.concrete_fields)
    return f"""{studies}, (
        SELECT json_agg(json_build_array(json_build_array({sites}), json_build_array({regions}))
                        ORDER BY x.id)
        FROM studies_studysite x LEFT JOIN organisations_region g ON g.id = x.region_id
        WHERE x.study_id = s.id
    )"""


@cache
def _page_fields() -> tuple[list[str], list[str], list[str]]:
    """The attribute names of a study, a site and a region, in ``_page_columns``' order."""
    return (
        [f.attname for f in Study._meta.concrete_fields],
        [f.attname for f in StudySite._meta.concrete_fields],
        [f.attname for f in Region._meta.concrete_fields],
    )


def _page_study(values: Sequence[Any], regions: dict[int, Region]) -> tuple[Study, list[StudySite]]:
    """A study read by ``_page_columns``, and its sites with their regions; ``regions``:
    those already made, one object per region."""
    study_fields, site_fields, region_fields = _page_fields()
    study = Study.from_db("default", study_fields, list(values[: len(study_fields)]))
    listed = values[len(study_fields)] or []
    if isinstance(listed, str):  # json arrives as text unless a loader parses it
        listed = json.loads(listed)
    sites = []
    for site_values, region_values in listed:
        site = StudySite.from_db("default", site_fields, site_values)
        site._state.fields_cache["study"] = study
        region = None
        if region_values[0] is not None:
            region = regions.get(region_values[0])
            if region is None:
                region = Region.from_db("default", region_fields, region_values)
                regions[region.pk] = region
        site._state.fields_cache["region"] = region
        sites.append(site)
    return study, sites


@dataclass
class SearchResult:
    count: int
    page: int
    page_size: int
    studies: list[Study]
    facets: dict[str, list[FacetValue]]
    sites: dict[int, list[StudySite]] = field(default_factory=dict)
    """The sites of the page's studies, with their regions, by study."""

    @property
    def listed(self) -> list[tuple[Study, list[StudySite]]]:
        """The page's studies, each with its sites (where it runs)."""
        return [(study, self.sites.get(study.pk, [])) for study in self.studies]

    @property
    def page_count(self) -> int:
        return max(1, -(-self.count // self.page_size))
