"""SVG charts for the yearly report, drawn on the server so that the PDF needs no browser.

Every chart stands beside a table with the same numbers; the charts carry their numbers
as labels too, formatted for the report's language.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from trialnode.statistics.formatting import format_number

WIDTH = 640
CURRENT_COLOUR = "#1d5c8f"
PREVIOUS_COLOUR = "#a9c4dc"
TEXT_COLOUR = "#1a1a1a"
FONT = 'font-family="DejaVu Sans, sans-serif"'


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    previous: int | None = None


def _text(x: float, y: float, content: str, *, size: int = 11, anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{TEXT_COLOUR}" '
        f'text-anchor="{anchor}">{escape(content)}</text>'
    )


def _svg(height: float, title: str, body: list[str]) -> SafeString:
    # The SVG is built from numbers and escaped text only.
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} '
        f'{height:.0f}" width="100%" role="img" aria-label="{escape(title)}" {FONT}>'
        f"{''.join(body)}</svg>"
    )


def _legend(y: float, entries: Sequence[tuple[str, str]]) -> list[str]:
    parts, x = [], 0.0
    for colour, label in entries:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" fill="{colour}"/>')
        parts.append(_text(x + 17, y, label, size=10))
        x += 40 + 7 * len(label)
    return parts


def bar_chart(
    bars: Sequence[Bar], *, title: str, current_label: str = "", previous_label: str = ""
) -> SafeString:
    """Horizontal bars, largest first; with each bar's previous value as a paler bar
    below it when ``previous_label`` is given. Long labels wrap onto a second line."""
    label_width, gap, bar_left = 250, 10, 260
    bar_room = WIDTH - bar_left - 50
    largest = max([bar.value for bar in bars] + [bar.previous or 0 for bar in bars] + [1])
    compare = bool(previous_label)
    body: list[str] = []
    y = 0.0
    if compare:
        body += _legend(12, [(PREVIOUS_COLOUR, previous_label), (CURRENT_COLOUR, current_label)])
        y = 22
    for bar in bars:
        lines = textwrap.wrap(bar.label, width=int(label_width / 6.6), max_lines=2, placeholder="…")
        lines = lines or [""]
        row_height = max(22 if compare else 16, 13 * len(lines) + 4)
        for number, line in enumerate(lines):
            body.append(_text(0, y + 12 + 13 * number, line))
        width = bar_room * bar.value / largest
        body.append(
            f'<rect x="{bar_left}" y="{y + 2:.1f}" width="{width:.1f}" height="10" '
            f'fill="{CURRENT_COLOUR}"/>'
        )
        body.append(_text(bar_left + width + 4, y + 11, format_number(bar.value), size=10))
        if compare and bar.previous is not None:
            before = bar_room * bar.previous / largest
            body.append(
                f'<rect x="{bar_left}" y="{y + 13:.1f}" width="{before:.1f}" height="6" '
                f'fill="{PREVIOUS_COLOUR}"/>'
            )
        y += row_height + gap / 2
    return _svg(y + 4, title, body)


def column_chart(columns: Sequence[Bar], *, title: str) -> SafeString:
    """Vertical columns with their values on top and their labels below (months, years)."""
    height, top, bottom = 170, 18, 22
    room = height - top - bottom
    largest = max([column.value for column in columns] + [1])
    step = WIDTH / max(len(columns), 1)
    body = [
        f'<line x1="0" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}" '
        f'stroke="#888" stroke-width="1"/>'
    ]
    for index, column in enumerate(columns):
        column_height = room * column.value / largest
        x = index * step + step * 0.18
        body.append(
            f'<rect x="{x:.1f}" y="{height - bottom - column_height:.1f}" '
            f'width="{step * 0.64:.1f}" height="{column_height:.1f}" fill="{CURRENT_COLOUR}"/>'
        )
        centre = index * step + step / 2
        body.append(
            _text(
                centre,
                height - bottom - column_height - 4,
                format_number(column.value),
                size=10,
                anchor="middle",
            )
        )
        body.append(_text(centre, height - 6, column.label, size=10, anchor="middle"))
    return _svg(height, title, body)
