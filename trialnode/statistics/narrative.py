"""The yearly report's summary in words, generated from its numbers.

Each function takes counts and gives one sentence in the active language, with the
numbers formatted as in the report's tables (``statistics.formatting``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils.formats import date_format
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from trialnode.statistics.formatting import format_number, format_percent, percent_change


def _n(value: int) -> str:
    return format_number(value)


def _day(day: date) -> str:
    return date_format(day, "j F Y")


def quoted(label: str) -> str:
    # Swedish quotes both ends with ” ; English opens with “.
    return _("“%(label)s”") % {"label": label}


def ongoing_change(*, year: int, count: int, before: int) -> str:
    """How the number of studies ongoing during the year changed from the year before."""
    numbers = {"year": year, "previous": year - 1, "count": _n(count), "before": _n(before)}
    if count == before == 0:
        return _("No study was ongoing in %(year)s.") % numbers
    if count == 0:
        return _("No study was ongoing in %(year)s, compared with %(before)s in %(previous)s.") % (
            numbers
        )
    if before == 0:
        return (
            ngettext(
                "In %(year)s, %(count)s study was ongoing; none was ongoing in %(previous)s "
                "to compare with.",
                "In %(year)s, %(count)s studies were ongoing; none was ongoing in %(previous)s "
                "to compare with.",
                count,
            )
            % numbers
        )
    if count == before:
        return _("The number of ongoing studies was unchanged from %(previous)s: %(count)s.") % (
            numbers
        )
    percent = format_percent(abs(percent_change(before, count) or 0))
    if count > before:
        message = _(
            "The number of ongoing studies increased by %(percent)s, from %(before)s in "
            "%(previous)s to %(count)s in %(year)s."
        )
    else:
        message = _(
            "The number of ongoing studies decreased by %(percent)s, from %(before)s in "
            "%(previous)s to %(count)s in %(year)s."
        )
    return message % {**numbers, "percent": percent}


def started(*, year: int, count: int, before: int) -> str:
    numbers = {"year": year, "previous": year - 1, "count": _n(count), "before": _n(before)}
    if count == 0:
        return _("No study started in %(year)s (%(before)s in %(previous)s).") % numbers
    return (
        ngettext(
            "In %(year)s, %(count)s study started, compared with %(before)s in %(previous)s.",
            "In %(year)s, %(count)s studies started, compared with %(before)s in %(previous)s.",
            count,
        )
        % numbers
    )


def completed(*, year: int, count: int, before: int) -> str:
    numbers = {"year": year, "previous": year - 1, "count": _n(count), "before": _n(before)}
    if count == 0:
        return _("No study was completed in %(year)s (%(before)s in %(previous)s).") % numbers
    return (
        ngettext(
            "In %(year)s, %(count)s study was completed, compared with %(before)s in %(previous)s.",
            "In %(year)s, %(count)s studies were completed, compared with %(before)s in "
            "%(previous)s.",
            count,
        )
        % numbers
    )


def at_end(*, day: date, ongoing: int, recruiting: int) -> list[str]:
    """What was ongoing, and open for recruitment, on the period's last day."""
    if ongoing == 0:
        return [_("No study was ongoing on %(date)s.") % {"date": _day(day)}]
    sentences = [
        ngettext(
            "On %(date)s, %(count)s study was ongoing.",
            "On %(date)s, %(count)s studies were ongoing.",
            ongoing,
        )
        % {"date": _day(day), "count": _n(ongoing)}
    ]
    if recruiting == 0:
        sentences.append(_("None of them was open for recruitment."))
    else:
        sentences.append(
            ngettext(
                "Of them, %(count)s was open for recruitment.",
                "Of them, %(count)s were open for recruitment.",
                recruiting,
            )
            % {"count": _n(recruiting)}
        )
    return sentences


MOST_COMMON = {
    "study_type": (
        "The most common study type was %(label)s: %(count)s of %(total)s ongoing study "
        "(%(percent)s).",
        "The most common study type was %(label)s: %(count)s of %(total)s ongoing studies "
        "(%(percent)s).",
    ),
    "sponsor_type": (
        "The most common sponsor type was %(label)s: %(count)s of %(total)s ongoing study "
        "(%(percent)s).",
        "The most common sponsor type was %(label)s: %(count)s of %(total)s ongoing studies "
        "(%(percent)s).",
    ),
    "condition_area": (
        "The most common condition area was %(label)s: %(count)s of %(total)s ongoing study "
        "(%(percent)s).",
        "The most common condition area was %(label)s: %(count)s of %(total)s ongoing studies "
        "(%(percent)s).",
    ),
    "region": (
        "The region with the most ongoing studies was %(label)s: %(count)s of %(total)s "
        "ongoing study (%(percent)s).",
        "The region with the most ongoing studies was %(label)s: %(count)s of %(total)s "
        "ongoing studies (%(percent)s).",
    ),
}


def most_common(dimension: str, *, label: str, count: int, total: int) -> str:
    """The largest value of a breakdown and its share of the studies ongoing in the year."""
    singular, plural = MOST_COMMON[dimension]
    shown = label if dimension == "region" else quoted(label)
    return ngettext(singular, plural, total) % {
        "label": shown,
        "count": _n(count),
        "total": _n(total),
        "percent": format_percent(100 * count / total),
    }


def most_shared(*, first: str, second: str, count: int) -> str:
    return ngettext(
        "%(first)s and %(second)s had %(count)s study in common, more than any other two regions.",
        "%(first)s and %(second)s had %(count)s studies in common, more than any other two "
        "regions.",
        count,
    ) % {"first": first, "second": second, "count": _n(count)}


def left_out(*, year: int, titles: Sequence[str], all_of_them: bool) -> str:
    """Why the report has fewer breakdowns than usual."""
    if all_of_them:
        return _("With no ongoing studies in %(year)s, the report has no breakdowns.") % {
            "year": year
        }
    names = get_text_list(
        [title[:1].lower() + title[1:] for title in titles], pgettext("yearly report", "and")
    )
    return ngettext(
        "No ongoing study in %(year)s can be shown by %(names)s, so that table is left out.",
        "No ongoing study in %(year)s can be shown by %(names)s, so those tables are left out.",
        len(titles),
    ) % {"year": year, "names": names}


def year_not_over(*, year: int, day: date) -> str:
    return _("%(year)s is not over: the numbers count up to %(date)s.") % {
        "year": year,
        "date": _day(day),
    }
