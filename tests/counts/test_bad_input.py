"""Definitions and queries that must be refused clearly, and queries that must stop."""

from __future__ import annotations

import pytest

from trialnode.counts.definition import DefinitionError, check_definition, load_definition
from trialnode.counts.engines import QueryTimeout, opened


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[]", "is a JSON object"),
        ("{}", "no PrimaryCriteria"),
        ('{"PrimaryCriteria": {"CriteriaList": []}}', "is empty"),
        ('{"a":' * 40 + "1" + "}" * 40, "nested deeper"),
        ('{"PrimaryCriteria": {"CriteriaList": [{}]}, "x": "a\\u0001b"}', "control characters"),
        (
            '{"PrimaryCriteria": {"CriteriaList": [{}]}, "ConceptSets": '
            '[{"id": 0, "expression": {"items": [{"concept": {"CONCEPT_ID": "12"}}]}}]}',
            "no integer CONCEPT_ID",
        ),
    ],
)
def test_malformed_definitions_are_refused_with_a_reason(raw, message):
    with pytest.raises(DefinitionError, match=message):
        load_definition(raw)


def test_a_definition_too_large_is_refused():
    with pytest.raises(DefinitionError, match="larger than"):
        load_definition(b" " * (600 * 1024))


def test_an_unsupported_attribute_is_refused_not_ignored(gibleed):
    from trialnode.counts.compiler import Compiler, Keys

    definition = check_definition(
        {
            "ConceptSets": [],
            "PrimaryCriteria": {
                "CriteriaList": [
                    {"ConditionOccurrence": {"ProviderSpecialty": [{"CONCEPT_ID": 1}]}}
                ]
            },
        }
    )
    with pytest.raises(DefinitionError, match="ProviderSpecialty: this attribute is not supported"):
        Compiler(definition, {}).compile(Keys(1, 1, 1, 1, 1, 1))


def test_a_runaway_duckdb_query_is_stopped_at_its_time_limit(gibleed):
    with opened("duckdb", str(gibleed)) as engine, pytest.raises(QueryTimeout):
        engine.run("SELECT COUNT(*) FROM range(100000000000) a(x) WHERE x % 7 = 3", timeout=0.5)


def test_a_runaway_postgresql_query_is_stopped_at_its_time_limit(gibleed_postgres):
    with opened("postgres", gibleed_postgres) as engine, pytest.raises(QueryTimeout):
        engine.run("SELECT pg_sleep(30)", timeout=0.5)


def test_an_engine_error_reaches_the_requester_without_the_statement(db, users, tmp_path, gibleed):
    from trialnode.audit.models import AuditEvent
    from trialnode.counts.models import DataSource, NodeQuery, TrustedHub
    from trialnode.counts.services import node_query_receive
    from trialnode.organisations.models import Region

    broken = tmp_path / "omop"
    broken.mkdir()
    for parquet in gibleed.glob("*.parquet"):
        if parquet.stem != "drug_era":
            (broken / parquet.name).symlink_to(parquet)
    (broken / "drug_era.parquet").write_bytes(b"PAR1 not really parquet")
    source = DataSource.objects.create(
        slug="broken",
        name="Broken",
        region=Region.objects.get(slug="uppsala"),
        engine="duckdb",
        location=str(broken),
    )
    hub = TrustedHub.objects.create(name="hub", public_key="-")
    query = node_query_receive(
        source=source,
        hub=hub,
        request_id="r",
        requester="a@hub",
        title="t",
        definition={"PrimaryCriteria": {"CriteriaList": [{"DrugEra": {}}]}},
    )
    assert query.state == NodeQuery.State.FAILED
    assert "audit trail" in query.message and "SELECT" not in query.message
    event = AuditEvent.objects.filter(object_type="counts.nodequery").last()
    assert "error" in event.payload
