"""Numbers in the report and the statistics sections: Swedish and English style, one place."""

import pytest
from django.template import Context, Template
from django.utils import translation

from trialnode.statistics.formatting import (
    format_cell,
    format_change,
    format_number,
    format_percent,
    format_signed,
)

NNBSP = "\u202f"  # thin no-break space between thousands
NBSP = "\u00a0"
MINUS = "\u2212"


def test_swedish_numbers_have_comma_decimals_and_thin_space_thousands():
    assert format_number(1234567, language="sv") == f"1{NNBSP}234{NNBSP}567"
    assert format_number(1234.56, 1, language="sv") == f"1{NNBSP}234,6"
    assert format_number(999, language="sv") == "999"
    assert format_percent(12.345, language="sv") == f"12,3{NBSP}%"


def test_english_numbers_have_point_decimals_and_comma_thousands():
    assert format_number(1234567, language="en") == "1,234,567"
    assert format_number(1234.56, 1, language="en") == "1,234.6"
    assert format_percent(12.345, language="en") == "12.3%"


@pytest.mark.parametrize("language", ["sv", "en"])
def test_negative_numbers_and_changes_take_a_real_minus_sign(language):
    assert format_number(-3, language=language) == f"{MINUS}3"
    assert format_signed(-1, language=language) == f"{MINUS}1"
    assert format_signed(4, language=language) == "+4"
    assert format_signed(0, language=language) == "0"
    assert "-" not in format_change(5, 4, language=language)


def test_a_change_reads_with_its_percentage_in_the_swedish_style():
    assert format_change(5, 4, language="sv") == f"{MINUS}1 ({MINUS}20,0{NBSP}%)"
    assert format_change(2, 3, language="sv") == f"+1 (+50,0{NBSP}%)"
    assert format_change(4, 4, language="sv") == f"0 (0,0{NBSP}%)"
    assert format_change(5, 4, language="en") == f"{MINUS}1 ({MINUS}20.0%)"


def test_a_change_from_nothing_has_no_percentage():
    assert format_change(0, 3, language="sv") == "+3"


def test_rounding_is_half_up_as_a_reader_rounds():
    assert format_number(12.45, 1, language="sv") == "12,5"
    assert format_number(0.5, language="en") == "1"


def test_section_cells_format_numbers_and_leave_text_alone():
    assert format_cell(None, language="sv") == "–"
    assert format_cell(2500, language="sv") == f"2{NNBSP}500"
    assert format_cell(0.925, language="sv") == "0,93"
    assert format_cell(3.5, language="en") == "3.5"
    assert format_cell(14.0, language="sv") == "14"
    assert format_cell("Region Uppsala", language="sv") == "Region Uppsala"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("sv", f"1{NNBSP}234|{MINUS}1 ({MINUS}20,0{NBSP}%)|7,5{NBSP}%|–"),
        ("en", "1,234|−1 (−20.0%)|7.5%|–"),
    ],
)
def test_templates_format_through_the_same_filters(language, expected):
    template = Template(
        "{% load statistics_format %}{{ n|number }}|{% change 5 4 %}|{{ p|percent }}|{{ none|cell }}"
    )
    with translation.override(language):
        assert template.render(Context({"n": 1234, "p": 7.5, "none": None})) == expected
