"""``trialnode counts evaluate``: the interface row of design.md, audited."""

from __future__ import annotations

import json

import pytest

from trialnode.audit.models import AuditEvent
from trialnode.cli import main

AGE40MALE = "cg_celecoxibAge40Male.json"


@pytest.fixture
def run(db, omop, capsys):
    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["counts", "evaluate", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def _count_events() -> list[dict]:
    return [
        json.loads(e.payload)
        for e in AuditEvent.objects.filter(action="export", object_type="counts.query")
    ]


def test_exact_counts_and_attrition_for_the_data_holder(run, omop):
    code, out, _err = run(
        str(omop / "cohorts" / AGE40MALE), "--omop", str(omop / "gibleed_cdm53"), "--exact"
    )
    assert code == 0
    result = json.loads(out)
    assert result["persons"] == 266
    assert [(r["person_count"], r["remaining"]) for r in result["attrition"]] == [
        (569, 569),
        (894, 266),
    ]
    (event,) = _count_events()
    assert event["exact_shown"] is True and event["exact"]["persons"] == 266


def test_without_exact_the_released_values_are_printed_and_the_exact_ones_audited(run, omop):
    code, out, _err = run(str(omop / "cohorts" / AGE40MALE), "--omop", str(omop / "gibleed_cdm53"))
    assert code == 0
    result = json.loads(out)
    assert result["persons"] % 10 == 0 and result["persons"] != 266
    low, high = result["interval"]
    assert low <= 266 <= high
    assert all(r["person_count"] % 10 == 0 for r in result["attrition"])
    (event,) = _count_events()
    assert event["exact"]["persons"] == 266
    assert event["released"]["persons"] == result["persons"]
    assert event["data_version"] and event["definition"]["InclusionRules"]
    # The same definition on the same data always gives the same released value.
    assert (
        json.loads(run(str(omop / "cohorts" / AGE40MALE), "--omop", str(omop / "gibleed_cdm53"))[1])
        == result
    )


def test_malformed_json_is_refused_with_its_position(run, omop, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"PrimaryCriteria": ')
    code, out, err = run(str(bad), "--omop", str(omop / "gibleed_cdm53"))
    assert code == 2 and out == ""
    assert "not valid JSON (line 1" in err


def test_unknown_concept_ids_are_named(run, omop, tmp_path):
    definition = json.loads((omop / "cohorts" / "cg_celecoxib.json").read_text())
    definition["ConceptSets"][0]["expression"]["items"][0]["concept"]["CONCEPT_ID"] = 999999999
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(definition))
    code, out, err = run(str(path), "--omop", str(omop / "gibleed_cdm53"))
    assert code == 2 and out == ""
    assert "Unknown concept ids in the concept sets: 999999999" in err
    (event,) = _count_events()
    assert "999999999" in event["error"]


def test_a_domain_the_data_lacks_is_named(run, omop, tmp_path):
    folder = tmp_path / "omop"
    folder.mkdir()
    for parquet in (omop / "gibleed_cdm53").glob("*.parquet"):
        if parquet.stem != "drug_era":
            (folder / parquet.name).symlink_to(parquet)
    code, _out, err = run(str(omop / "cohorts" / "cg_celecoxib.json"), "--omop", str(folder))
    assert code == 2
    assert "does not have: drug eras (drug_era)" in err


def test_missing_data_is_a_clear_error(run, omop, tmp_path):
    code, _out, err = run(
        str(omop / "cohorts" / "cg_celecoxib.json"), "--omop", str(tmp_path / "nothing")
    )
    assert code == 3 and "No OMOP data at" in err
