"""The yearly report's summary in words: generated from the numbers, in Swedish and English."""

from datetime import date

import pytest
from django.utils import translation

from trialnode.statistics import narrative

NBSP = "\u00a0"
NNBSP = "\u202f"


def _sv(function, *args, **numbers):
    with translation.override("sv"):
        return function(*args, **numbers)


def _en(function, *args, **numbers):
    with translation.override("en"):
        return function(*args, **numbers)


def test_an_increase_is_said_with_its_percentage():
    assert _sv(narrative.ongoing_change, year=2024, count=1382, before=1234) == (
        f"Antalet pågående studier ökade med 12,0{NBSP}%, från 1{NNBSP}234 under 2023 "
        f"till 1{NNBSP}382 under 2024."
    )
    assert _en(narrative.ongoing_change, year=2024, count=1382, before=1234) == (
        "The number of ongoing studies increased by 12.0%, from 1,234 in 2023 to 1,382 in 2024."
    )


def test_a_decrease_is_said_as_a_decrease_without_a_sign():
    assert _sv(narrative.ongoing_change, year=2024, count=4, before=5) == (
        f"Antalet pågående studier minskade med 20,0{NBSP}%, från 5 under 2023 till 4 under 2024."
    )
    assert "decreased by 20.0%" in _en(narrative.ongoing_change, year=2024, count=4, before=5)


def test_an_unchanged_number_is_said_to_be_the_same():
    assert _sv(narrative.ongoing_change, year=2024, count=7, before=7) == (
        "Antalet pågående studier var detsamma som under 2023: 7."
    )
    assert _en(narrative.ongoing_change, year=2024, count=7, before=7) == (
        "The number of ongoing studies was unchanged from 2023: 7."
    )


def test_without_a_previous_year_there_is_no_percentage():
    assert _sv(narrative.ongoing_change, year=2024, count=3, before=0) == (
        "Under 2024 pågick 3 studier; under 2023 pågick ingen att jämföra med."
    )
    assert _en(narrative.ongoing_change, year=2024, count=1, before=0) == (
        "In 2024, 1 study was ongoing; none was ongoing in 2023 to compare with."
    )
    assert _sv(narrative.ongoing_change, year=2024, count=0, before=0) == (
        "Ingen studie pågick under 2024."
    )


def test_a_fall_to_none_is_said_without_a_percentage():
    assert _sv(narrative.ongoing_change, year=2025, count=0, before=1) == (
        "Ingen studie pågick under 2025, jämfört med 1 under 2024."
    )
    assert _en(narrative.ongoing_change, year=2025, count=0, before=1) == (
        "No study was ongoing in 2025, compared with 1 in 2024."
    )


@pytest.mark.parametrize(
    ("count", "swedish", "english"),
    [
        (1, "Under 2024 startade 1 studie,", "In 2024, 1 study started,"),
        (2, "Under 2024 startade 2 studier,", "In 2024, 2 studies started,"),
        (0, "Ingen studie startade under 2024", "No study started in 2024"),
    ],
)
def test_singular_and_plural_follow_the_number(count, swedish, english):
    assert _sv(narrative.started, year=2024, count=count, before=3).startswith(swedish)
    assert _en(narrative.started, year=2024, count=count, before=3).startswith(english)


def test_what_was_open_at_the_end_agrees_in_number():
    day = date(2024, 12, 31)
    assert _sv(narrative.at_end, day=day, ongoing=1, recruiting=1) == [
        "Den 31 december 2024 pågick 1 studie.",
        "Av dem var 1 öppen för rekrytering.",
    ]
    assert _en(narrative.at_end, day=day, ongoing=2500, recruiting=0) == [
        "On 31 December 2024, 2,500 studies were ongoing.",
        "None of them was open for recruitment.",
    ]


def test_the_most_common_value_is_named_with_its_share():
    assert _sv(
        narrative.most_common, "study_type", label="Interventionsstudie", count=3, total=4
    ) == (
        f"Den vanligaste studietypen var ”Interventionsstudie”: 3 av 4 pågående studier "
        f"(75,0{NBSP}%)."
    )
    assert _en(narrative.most_common, "region", label="Region Uppsala", count=1, total=1) == (
        "The region with the most ongoing studies was Region Uppsala: 1 of 1 ongoing study "
        "(100.0%)."
    )


def test_left_out_tables_are_said_in_one_sentence():
    assert _sv(
        narrative.left_out, year=2024, titles=["Cancerdiagnosområde"], all_of_them=False
    ) == (
        "Ingen pågående studie under 2024 kan redovisas per cancerdiagnosområde, "
        "så den tabellen är utelämnad."
    )
    assert _en(
        narrative.left_out, year=2024, titles=["Phase", "Cancer diagnosis area"], all_of_them=False
    ) == (
        "No ongoing study in 2024 can be shown by phase and cancer diagnosis area, "
        "so those tables are left out."
    )
