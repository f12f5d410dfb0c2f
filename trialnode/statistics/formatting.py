"""Numbers as a reader of the report expects them, in Swedish or English.

Swedish: comma decimals, a thin (narrow no-break) space between thousands, a space
before the percent sign: ``1 234``, ``12,5 %``. English: ``1,234``, ``12.5%``. Negative
numbers and changes take a real minus sign (U+2212) in both: ``−1 (−20,0 %)``.
The report's and the dashboard's templates use these through the filters of
``statistics_format``; the summary sentences call them directly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation

THIN_SPACE = "\u202f"
NO_BREAK_SPACE = "\u00a0"
MINUS = "\u2212"
PLUS = "+"
DASH = "\u2013"


def _swedish(language: str | None) -> bool:
    return (language or translation.get_language() or "sv").startswith("sv")


def _rounded(value: float | int | Decimal, decimals: int) -> Decimal:
    # Half up, as a reader rounds (Python's round() would give 12,4 for 12.45).
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_number(
    value: float | int | Decimal, decimals: int = 0, *, language: str | None = None
) -> str:
    """``1234.5`` → ``1 234,5`` (sv) or ``1,234.5`` (en) with ``decimals`` decimals."""
    number = _rounded(value, decimals)
    text = f"{abs(number):,.{decimals}f}"
    if _swedish(language):
        text = text.replace(",", THIN_SPACE).replace(".", ",")
    return f"{MINUS}{text}" if number < 0 else text


def format_signed(
    value: float | int | Decimal, decimals: int = 0, *, language: str | None = None
) -> str:
    """A change: ``+3``, ``−1``, ``0`` (never a hyphen for minus)."""
    text = format_number(value, decimals, language=language)
    return f"{PLUS}{text}" if _rounded(value, decimals) > 0 else text


def format_percent(
    value: float | int | Decimal,
    decimals: int = 1,
    *,
    signed: bool = False,
    language: str | None = None,
) -> str:
    """``value`` in percent (12.5 → ``12,5 %`` / ``12.5%``)."""
    text = (format_signed if signed else format_number)(value, decimals, language=language)
    return f"{text}{NO_BREAK_SPACE}%" if _swedish(language) else f"{text}%"


def percent_change(before: int, after: int) -> float | None:
    """The change from ``before`` to ``after`` in percent; ``None`` when there is no base."""
    if not before:
        return None
    return 100 * (after - before) / before


def format_change(before: int, after: int, *, language: str | None = None) -> str:
    """``−1 (−20,0 %)``; without the percentage when ``before`` is 0 (``+3``)."""
    difference = format_signed(after - before, language=language)
    percent = percent_change(before, after)
    if percent is None:
        return difference
    return f"{difference} ({format_percent(percent, signed=True, language=language)})"


def format_cell(value: object, *, language: str | None = None) -> str:
    """A table cell of a statistics section: numbers formatted, ``None`` as a dash, text as is.

    Whole numbers without decimals; other numbers with up to two (``0,92``, ``3,5``)."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return format_number(value, language=language)
    text = format_number(value, 2, language=language)
    decimal_mark = "," if _swedish(language) else "."
    return text.rstrip("0").rstrip(decimal_mark)
