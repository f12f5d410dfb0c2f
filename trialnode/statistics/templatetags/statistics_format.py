"""Template filters for numbers in the active language (see ``statistics.formatting``)."""

from __future__ import annotations

from django import template

from trialnode.statistics import formatting

register = template.Library()


@register.filter
def number(value: int | float | None, decimals: int = 0) -> str:
    """``{{ 1234|number }}`` → ``1 234`` in Swedish, ``1,234`` in English."""
    if value is None or value == "":
        return formatting.DASH
    return formatting.format_number(value, int(decimals))


@register.filter
def signed(value: int | float) -> str:
    """``{{ -1|signed }}`` → ``−1``; ``{{ 3|signed }}`` → ``+3``."""
    return formatting.format_signed(value)


@register.filter
def percent(value: float | None, decimals: int = 1) -> str:
    if value is None:
        return formatting.DASH
    return formatting.format_percent(value, int(decimals))


@register.simple_tag
def change(before: int, after: int) -> str:
    """``{% change 5 4 %}`` → ``−1 (−20,0 %)``."""
    return formatting.format_change(before, after)


@register.filter
def cell(value: object) -> str:
    """A cell of a statistics section: numbers formatted, ``None`` as a dash."""
    return formatting.format_cell(value)
