"""Checks on what a case may hold: no personal identity numbers, ever."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# 6 or 8 digits of birth date, an optional separator (-, + or space), 4 digits.
IDENTITY_NUMBER_RE = re.compile(r"(?<!\d)(\d{2})?(\d{2})(\d{2})(\d{2})[-+ ]?(\d{3})(\d)(?!\d)")


def luhn_valid(digits: str) -> bool:
    """The Luhn check over a personnummer's last ten digits (the tenth is the check digit)."""
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_date(year: int, month: int, day: int) -> bool:
    if day > 60:  # samordningsnummer: the day plus 60
        day -= 60
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def identity_numbers_in(text: str) -> list[str]:
    """The personal identity numbers (personnummer, samordningsnummer) found in ``text``:
    a date that exists followed by four digits that pass the Luhn check."""
    found = []
    for match in IDENTITY_NUMBER_RE.finditer(text or ""):
        century, yy, mm, dd, serial, check = match.groups()
        year = int((century or "19") + yy)
        if not _is_date(year, int(mm), int(dd)) and not (
            century is None and _is_date(2000 + int(yy), int(mm), int(dd))
        ):
            continue
        if luhn_valid(f"{yy}{mm}{dd}{serial}{check}"):
            found.append(match.group(0))
    return found


def validate_no_identity_number(value: str) -> None:
    if identity_numbers_in(value):
        raise ValidationError(
            _(
                "The text contains what looks like a personal identity number. A case never "
                "holds personal identity numbers: remove it."
            ),
            code="identity_number",
        )
