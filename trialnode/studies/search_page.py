"""What the search page shows beside the results: the chosen terms with the links that
undo them, and the sort menu."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from trialnode.studies.filters import FILTERS, SORTS, StudySearch


def sort_options(study_search: StudySearch) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the sort menu. The first option is the default order
    (relevance with search words, latest update without) and sends no value, so a new
    search from the menu's default sorts by relevance."""
    default = "relevance" if study_search.text else "updated"
    options = [("", str(SORTS[default][0]), study_search.sort == default)]
    options.extend(
        (key, str(label), study_search.sort == key)
        for key, (label, _order) in SORTS.items()
        if key not in (default, "relevance")
    )
    return options


@dataclass(frozen=True)
class ChosenTerm:
    """One choice of the searcher, shown with a link that undoes it."""

    label: str
    value: str
    remove_url: str


def chosen_search_terms(study_search: StudySearch) -> list[ChosenTerm]:
    """The search words and every chosen filter value, each with the URL without it."""
    chosen = []
    if study_search.text:
        chosen.append(
            ChosenTerm(
                str(_("Search words")), study_search.text, search_url_without(study_search, "q")
            )
        )
    for definition in FILTERS:
        values = study_search.values.get(definition.name, [])
        labels = dict(study_search.choices.get(definition.name, []))
        for value in values:
            remaining = [v for v in values if v != value]
            chosen.append(
                ChosenTerm(
                    str(definition.label),
                    str(labels.get(value, value)),
                    search_url_without(study_search, definition.name, remaining),
                )
            )
    return chosen


def search_url_without(
    study_search: StudySearch, name: str, remaining: list[str] | None = None
) -> str:
    """The search's URL with the parameter ``name`` keeping only ``remaining`` (dropped
    when none remain), back on the first page."""
    overrides: dict[str, object] = {name: remaining or None, "page": None}
    if name == "q" and study_search.sort == "relevance":
        overrides["sort"] = None  # relevance needs words to be relevant to
    items = study_search.query_items(**overrides)
    return reverse("studies:search") + ("?" + urlencode(items) if items else "")
