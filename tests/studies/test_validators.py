import pytest
from django.core.exceptions import ValidationError

from trialnode.studies import validators as v


@pytest.mark.parametrize(
    "value",
    ["2022-01051-01", "2019-03783", "2020-12345", "2013/1620-31/2", "2008/123-32", "1998/45-31"],
)
def test_it_accepts_ethics_numbers_of_all_three_eras(value):
    v.validate_epm_dnr(value)


@pytest.mark.parametrize("value", ["2022-1051-01", "22-01051-01", "2018-03783", "2013/1620", "abc"])
def test_it_rejects_malformed_ethics_numbers(value):
    with pytest.raises(ValidationError, match="Ethical Review Authority"):
        v.validate_epm_dnr(value)


@pytest.mark.parametrize(
    ("validator", "good", "bad"),
    [
        (v.validate_eudract, "2019-001234-56", "2019-01234-56"),
        (v.validate_eu_ct_number, "2023-501234-12-00", "2023-401234-12-00"),
        (v.validate_nct_id, "NCT01234567", "NCT1234567"),
        (v.validate_isrctn, "ISRCTN12345678", "ISRCTN1234"),
        (v.validate_icd10, "B34.1A", "34.1"),
        (v.validate_icd10, "I50", "I5"),
        (v.validate_atc, "N02BE01", "N02BE0"),
        (v.validate_atc, "A10", "1A0"),
    ],
)
def test_each_identifier_has_its_format(validator, good, bad):
    validator(good)
    with pytest.raises(ValidationError) as error:
        validator(bad)
    assert bad in error.value.messages[0]


@pytest.mark.parametrize(
    ("code", "chapter"),
    [
        ("I50.9", "IX"),
        ("C61", "II"),
        ("D48.1", "II"),
        ("D50", "III"),
        ("S72.0", "XIX"),
        ("U07.1", "XXII"),
        ("Z00", "XXI"),
    ],
)
def test_icd10_codes_fall_in_their_chapter(code, chapter):
    assert v.icd10_chapter(code) == chapter
