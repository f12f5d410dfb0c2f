"""The criteria builder: Swedish codes to OMOP concepts to Circe JSON."""

from __future__ import annotations

import pytest

from trialnode.counts.builder import BuildError, Criterion, Spec, build
from trialnode.counts.engines import opened
from trialnode.counts.evaluate import evaluate
from trialnode.counts.protection import keys_from_secret
from trialnode.counts.vocab import CodeError, fallbacks, normalise, resolve


@pytest.fixture(scope="module")
def engine(gibleed):
    with opened("duckdb", str(gibleed)) as opened_engine:
        yield opened_engine


def test_an_icd10se_extension_letter_falls_back_to_the_icd10_parent(engine):
    resolution = resolve(engine, "icd10", "K92.2A")
    assert resolution.used_code == "K92.2"
    assert resolution.concepts == [(192671, "Gastrointestinal hemorrhage")]
    assert resolution.via == "mapping"  # ICD10CM K92.2 "Maps to" SNOMED in the vocabulary


def test_codes_are_normalised_and_checked():
    assert normalise("icd10", "k922") == "K92.2"
    assert normalise("kva", "jka21") == "JKA21"
    assert fallbacks("icd10", "B34.1A") == ["B34.1A", "B34.1", "B34"]
    with pytest.raises(CodeError):
        normalise("atc", "not a code")


def test_atc_and_kva_codes_map_to_standard_concepts(engine):
    assert resolve(engine, "atc", "M01AH01").concepts == [(1118084, "celecoxib")]
    assert resolve(engine, "kva", "JKA21").concepts == [(4163971, "Laparoscopic cholecystectomy")]


def test_the_builder_writes_circe_json_that_counts_like_ohdsi(engine):
    spec = Spec(
        entry=Criterion("drug", ["M01AH01"]),
        age_min=41,
        sex="male",
    )
    definition = build(spec, engine).definition
    assert [rule["name"] for rule in definition["InclusionRules"]] == [
        "Ålder minst 41 år",
        "Kön: man",
    ]
    # Age at least 41 and male is the published celecoxibAge40Male cohort: 266.
    assert evaluate(definition, engine, keys=keys_from_secret(b"t")).persons == 266


def test_exclusions_and_time_windows(engine):
    everyone = build(Spec(entry=Criterion("diagnosis", ["K92.2"])), engine).definition
    with_drug = build(
        Spec(
            entry=Criterion("diagnosis", ["K92.2"]),
            criteria=[Criterion("drug", ["M01AH01"], days_before=365, days_after=0)],
        ),
        engine,
    ).definition
    without_drug = build(
        Spec(
            entry=Criterion("diagnosis", ["K92.2"]),
            criteria=[Criterion("drug", ["M01AH01"], include=False, days_before=365, days_after=0)],
        ),
        engine,
    ).definition
    keys = keys_from_secret(b"t")
    total = evaluate(everyone, engine, keys=keys).persons
    included = evaluate(with_drug, engine, keys=keys).persons
    excluded = evaluate(without_drug, engine, keys=keys).persons
    assert 0 < included < total and included + excluded == total
    window = with_drug["InclusionRules"][0]["expression"]["CriteriaList"][0]["StartWindow"]
    assert window["Start"] == {"Days": 365, "Coeff": -1} and window["End"] == {
        "Days": 0,
        "Coeff": 1,
    }


def test_lab_values_become_value_thresholds(engine):
    definition = build(
        Spec(
            entry=Criterion("drug", ["M01AH01"]),
            criteria=[Criterion("lab", ["8331-1"], lab_op="gt", lab_value=38.0)],
        ),
        engine,
    ).definition
    criteria = definition["InclusionRules"][0]["expression"]["CriteriaList"][0]["Criteria"]
    assert criteria["Measurement"]["ValueAsNumber"] == {"Value": 38.0, "Op": "gt"}


def test_unknown_and_invalid_codes_are_listed(engine):
    with pytest.raises(BuildError) as error:
        build(
            Spec(
                entry=Criterion("diagnosis", ["Z99.9"]),
                criteria=[Criterion("drug", ["nonsense"])],
            ),
            engine,
        )
    wheres = [where for where, _message in error.value.problems]
    assert wheres == ["entry", "criteria-0"]
