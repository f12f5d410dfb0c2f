"""Sections that other capabilities add to the statistics dashboard and the yearly report.

Feasibility inquiries and health-data requests have measures of their own, shown beside
the study statistics on the dashboard and in the yearly report. A capability registers a
provider in its ``AppConfig.ready``::

    from trialnode.statistics import sections
    sections.register("feasibility", feasibility_section)

A provider gets the year and the slugs of the regions in scope (empty: the whole country)
and returns a :class:`Section`, or ``None`` when it has nothing for that year, so that no
empty section is ever shown. Numbers stay numbers in the rows; the page and the report
format them for their language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Cell = str | int | float | None


@dataclass(frozen=True)
class SectionTable:
    key: str
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    # Sentences in words generated from the numbers, already translated.
    summary: tuple[str, ...]
    tables: tuple[SectionTable, ...] = field(default=())
    # Where the same numbers are in the API, for the page's link.
    api_url: str = ""


Provider = Callable[[int, tuple[str, ...]], Section | None]

_providers: dict[str, Provider] = {}


def register(key: str, provider: Provider) -> None:
    _providers[key] = provider


def sections_for(year: int, regions: tuple[str, ...] = ()) -> list[Section]:
    """Every registered capability's section for the year and regions, in registration order."""
    found = (provider(year, regions) for provider in _providers.values())
    return [section for section in found if section is not None]
