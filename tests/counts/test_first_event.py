"""On DuckDB each person's first (or last) event is found by an aggregate instead of
circe-be's window; it must pick the very event the window picks, ties included."""

from __future__ import annotations

import copy

import duckdb
import pytest

from tests.counts.conftest import expected_counts, load_cohort
from trialnode.counts.compiler import Compiler
from trialnode.counts.engines import DuckDBEngine, opened
from trialnode.counts.evaluate import evaluate
from trialnode.counts.protection import keys_from_secret

KEYS = keys_from_secret(b"test")
COHORTS = [row["file"] for row in expected_counts()]


def fingerprint(result) -> list[tuple]:
    return [(s.key, s.n, s.cell_key, tuple(s.sketch)) for s in result.sets]


def with_limit(definition: dict, limit: str) -> dict:
    changed = copy.deepcopy(definition)
    changed["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": limit}
    for criterion in changed["PrimaryCriteria"]["CriteriaList"]:
        for attributes in criterion.values():
            attributes.pop("First", None)
    return changed


@pytest.mark.parametrize("limit", ["First", "Last"])
@pytest.mark.parametrize("file", COHORTS)
def test_the_aggregate_and_the_window_count_the_same_persons(file, limit, gibleed, monkeypatch):
    definition = with_limit(load_cohort(file), limit)
    results = []
    for aggregate in (True, False):
        monkeypatch.setattr(DuckDBEngine, "dialect", "duckdb" if aggregate else "window")
        with opened("duckdb", str(gibleed)) as engine:
            results.append(evaluate(definition, engine, keys=KEYS))
    assert fingerprint(results[0]) == fingerprint(results[1])


@pytest.fixture
def tied_events(tmp_path):
    """Person 1: two eras on the same first day (ids 11 and 10) and a later one; person 2:
    one era before its observation period and two on one day; person 3: none in view."""
    path = tmp_path / "tied.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute(
        "CREATE TABLE observation_period (observation_period_id BIGINT, person_id BIGINT, "
        "observation_period_start_date DATE, observation_period_end_date DATE)"
    )
    connection.execute(
        "INSERT INTO observation_period VALUES (1, 1, '2019-01-01', '2022-01-01'), "
        "(2, 2, '2020-01-01', '2022-01-01'), (3, 3, '2021-01-01', '2022-01-01')"
    )
    connection.execute(
        "CREATE TABLE drug_era (drug_era_id BIGINT, person_id BIGINT, drug_concept_id BIGINT, "
        "drug_era_start_date DATE, drug_era_end_date DATE)"
    )
    connection.execute(
        "INSERT INTO drug_era VALUES "
        "(11, 1, 7, '2020-01-05', '2020-03-01'), (10, 1, 7, '2020-01-05', '2020-02-01'), "
        "(12, 1, 7, '2020-06-01', '2020-07-01'), (13, 1, 7, '2020-06-01', '2020-06-15'), "
        "(19, 2, 7, '2019-06-01', '2019-07-01'), "
        "(21, 2, 7, '2020-03-01', '2020-04-01'), (20, 2, 7, '2020-03-01', '2020-05-01'), "
        "(30, 3, 7, '2020-03-01', '2020-04-01')"
    )
    connection.close()
    return path


def primary_events(path, limit: str, *, aggregate: bool) -> list[tuple]:
    definition = {
        "ConceptSets": [{"id": 0, "expression": {"items": []}}],
        "PrimaryCriteria": {
            "CriteriaList": [{"DrugEra": {"CodesetId": 0}}],
            "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": limit},
        },
    }
    compiled = Compiler(definition, {0: [7]}, aggregate_first=aggregate).compile(KEYS)
    ctes = compiled.sql[: compiled.sql.index(" SELECT bucket")]
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return connection.execute(
            f"{ctes} SELECT person_id, event_id, start_date, end_date, op_start_date "
            "FROM primary_events ORDER BY person_id"
        ).fetchall()
    finally:
        connection.close()


@pytest.mark.parametrize("limit", ["First", "Last"])
def test_ties_go_to_the_lowest_event_id_both_ways(tied_events, limit):
    by_window = primary_events(tied_events, limit, aggregate=False)
    assert primary_events(tied_events, limit, aggregate=True) == by_window
    ends = {person: end.isoformat() for person, _e, _s, end, _op in by_window}
    if limit == "First":
        # Era 10 (not 11) for person 1; era 20 (not 21; 19 is before the period) for 2.
        assert ends == {1: "2020-02-01", 2: "2020-05-01"}
    else:
        assert ends == {1: "2020-07-01", 2: "2020-05-01"}
