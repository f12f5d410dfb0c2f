"""Format checks for study identifiers and code systems (see the README's glossary)."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

EPM_DNR_RE = re.compile(
    r"^(?:"
    r"(?P<ethix>(?:20[2-9]\d)-\d{5}-\d{2})"  # Etikprövningsmyndigheten, Ethix (2021–)
    r"|(?P<epm>(?:2019|202[01])-\d{5})"  # Etikprövningsmyndigheten 2019–2021
    r"|(?P<epn>(?:19|20)\d{2}/\d{1,5}-3[1-9](?:/\d{1,3})?)"  # regional ethics boards (–2018)
    r")$"
)
EUDRACT_RE = re.compile(r"^(?:19|20)\d{2}-\d{6}-\d{2}$")
EU_CT_RE = re.compile(r"^20\d{2}-5\d{5}-\d{2}-\d{2}$")
NCT_RE = re.compile(r"^NCT\d{8}$")
ISRCTN_RE = re.compile(r"^ISRCTN\d{8}$")
ICD10_RE = re.compile(r"^[A-Z]\d{2}(?:\.\d{1,2}[A-Z]?|[A-Z])?$")
ATC_RE = re.compile(r"^[A-Z](?:\d{2}(?:[A-Z](?:[A-Z](?:\d{2})?)?)?)?$")


def _check(pattern: re.Pattern[str], value: str, message: StrOrPromise) -> None:
    if not pattern.match(value):
        raise ValidationError(message, code="invalid", params={"value": value})


def validate_epm_dnr(value: str) -> None:
    _check(
        EPM_DNR_RE,
        value,
        _(
            "%(value)s is not an Ethical Review Authority reference number. Use YYYY-NNNNN-NN "
            "(from 2021), YYYY-NNNNN (2019–2021) or YYYY/NNN-31 (regional boards before 2019)."
        ),
    )


def validate_eudract(value: str) -> None:
    _check(EUDRACT_RE, value, _("%(value)s is not a EudraCT number (YYYY-NNNNNN-NN)."))


def validate_eu_ct_number(value: str) -> None:
    _check(EU_CT_RE, value, _("%(value)s is not an EU CT number (YYYY-5NNNNN-NN-NN)."))


def validate_nct_id(value: str) -> None:
    _check(NCT_RE, value, _("%(value)s is not a ClinicalTrials.gov number (NCT and 8 digits)."))


def validate_isrctn(value: str) -> None:
    _check(ISRCTN_RE, value, _("%(value)s is not an ISRCTN number (ISRCTN and 8 digits)."))


def validate_icd10(value: str) -> None:
    _check(ICD10_RE, value, _("%(value)s is not an ICD-10-SE code (for example I50.9 or B34.1A)."))


def validate_atc(value: str) -> None:
    _check(ATC_RE, value, _("%(value)s is not an ATC code (for example N02BE01)."))


# ICD-10 chapters by code range; a code belongs to the chapter whose range holds it.
ICD10_CHAPTERS: list[tuple[str, str, str]] = [
    ("I", "A00", "B99"),
    ("II", "C00", "D48"),
    ("III", "D50", "D89"),
    ("IV", "E00", "E90"),
    ("V", "F00", "F99"),
    ("VI", "G00", "G99"),
    ("VII", "H00", "H59"),
    ("VIII", "H60", "H95"),
    ("IX", "I00", "I99"),
    ("X", "J00", "J99"),
    ("XI", "K00", "K93"),
    ("XII", "L00", "L99"),
    ("XIII", "M00", "M99"),
    ("XIV", "N00", "N99"),
    ("XV", "O00", "O99"),
    ("XVI", "P00", "P96"),
    ("XVII", "Q00", "Q99"),
    ("XVIII", "R00", "R99"),
    ("XIX", "S00", "T98"),
    ("XX", "V01", "Y98"),
    ("XXI", "Z00", "Z99"),
    ("XXII", "U00", "U99"),
]


def icd10_chapter(code: str) -> str:
    """The ICD-10 chapter (roman numeral) of a valid code, or '' if none holds it."""
    head = code[:3].upper()
    for chapter, first, last in ICD10_CHAPTERS:
        if first <= head <= last:
            return chapter
    return ""


EARLIEST_STUDY_DATE = date(1950, 1, 1)
LATEST_STUDY_YEARS_AHEAD = 30


def study_date_errors(
    *, start: date | None, primary_completion: date | None, completion: date | None
) -> dict[str, list[str]]:
    """What is wrong with a study's dates, by field (empty when they are plausible)."""
    errors: dict[str, list[str]] = {}
    latest = date(date.today().year + LATEST_STUDY_YEARS_AHEAD, 12, 31)
    named = {
        "start_date": start,
        "primary_completion_date": primary_completion,
        "completion_date": completion,
    }
    for field, value in named.items():
        if value is not None and not EARLIEST_STUDY_DATE <= value <= latest:
            errors.setdefault(field, []).append(
                str(
                    _("Give a date between %(earliest)s and %(latest)s.")
                    % {"earliest": EARLIEST_STUDY_DATE.isoformat(), "latest": latest.isoformat()}
                )
            )
    if start and completion and completion < start:
        errors.setdefault("completion_date", []).append(
            str(_("The completion date cannot be before the start date."))
        )
    if start and primary_completion and primary_completion < start:
        errors.setdefault("primary_completion_date", []).append(
            str(_("The primary completion date cannot be before the start date."))
        )
    if primary_completion and completion and primary_completion > completion:
        errors.setdefault("primary_completion_date", []).append(
            str(_("The primary completion date cannot be after the completion date."))
        )
    return errors
