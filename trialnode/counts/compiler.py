"""Compile a Circe cohort definition into one SQL statement that counts persons.

The statement follows OHDSI's own cohort SQL (circe-be) step by step, so the counts
are OHDSI's: primary events within an observation period and the observation window,
the primary limit, additional criteria with the qualified limit, inclusion rules as
criteria groups of correlated criteria (windows, occurrence counts, restrictions to
the visit) and demographic criteria, then the "best event" of each person, from which
the inclusion-rule statistics and the final count come. It differs from circe-be only
where that is free: one statement of common table expressions instead of temporary
tables, and the event id as a last sort key so that every engine picks the same event.

The statement is written once in DuckDB's dialect and transpiled by sqlglot for
PostgreSQL and Spark SQL (``transpile``). Concept sets are resolved beforehand
(``codeset_sql``) and inlined as literal lists.

The result has one row per hash bucket of the counted persons (see ``protection``):
for each counted set of persons, the number in the bucket and the sum of their
record keys. Exact counts are the sums over buckets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot

from trialnode.counts.definition import DefinitionError

PRIME = 2_147_483_647
BUCKETS = 256


@dataclass(frozen=True)
class Domain:
    table: str
    id: str
    concept: str
    start: str
    end: str
    source_concept: str = ""
    type_concept: str = ""
    visit: bool = True


def _plus_one(column: str) -> str:
    return f"(C.{column} + 1)"


DOMAINS: dict[str, Domain] = {
    "ConditionOccurrence": Domain(
        "condition_occurrence",
        "condition_occurrence_id",
        "condition_concept_id",
        "condition_start_date",
        "COALESCE(C.condition_end_date, C.condition_start_date + 1)",
        "condition_source_concept_id",
        "condition_type_concept_id",
    ),
    "ConditionEra": Domain(
        "condition_era",
        "condition_era_id",
        "condition_concept_id",
        "condition_era_start_date",
        "C.condition_era_end_date",
        visit=False,
    ),
    "DrugExposure": Domain(
        "drug_exposure",
        "drug_exposure_id",
        "drug_concept_id",
        "drug_exposure_start_date",
        "COALESCE(C.drug_exposure_end_date, C.drug_exposure_start_date + "
        "CAST(C.days_supply AS INTEGER), C.drug_exposure_start_date + 1)",
        "drug_source_concept_id",
        "drug_type_concept_id",
    ),
    "DrugEra": Domain(
        "drug_era",
        "drug_era_id",
        "drug_concept_id",
        "drug_era_start_date",
        "C.drug_era_end_date",
        visit=False,
    ),
    "ProcedureOccurrence": Domain(
        "procedure_occurrence",
        "procedure_occurrence_id",
        "procedure_concept_id",
        "procedure_date",
        _plus_one("procedure_date"),
        "procedure_source_concept_id",
        "procedure_type_concept_id",
    ),
    "Measurement": Domain(
        "measurement",
        "measurement_id",
        "measurement_concept_id",
        "measurement_date",
        _plus_one("measurement_date"),
        "measurement_source_concept_id",
        "measurement_type_concept_id",
    ),
    "Observation": Domain(
        "observation",
        "observation_id",
        "observation_concept_id",
        "observation_date",
        _plus_one("observation_date"),
        "observation_source_concept_id",
        "observation_type_concept_id",
    ),
    "VisitOccurrence": Domain(
        "visit_occurrence",
        "visit_occurrence_id",
        "visit_concept_id",
        "visit_start_date",
        "C.visit_end_date",
        "visit_source_concept_id",
        "visit_type_concept_id",
    ),
    "DeviceExposure": Domain(
        "device_exposure",
        "device_exposure_id",
        "device_concept_id",
        "device_exposure_start_date",
        "COALESCE(C.device_exposure_end_date, C.device_exposure_start_date + 1)",
        "device_source_concept_id",
        "device_type_concept_id",
    ),
    "Death": Domain(
        "death",
        "person_id",
        "cause_concept_id",
        "death_date",
        _plus_one("death_date"),
        "cause_source_concept_id",
        "death_type_concept_id",
        visit=False,
    ),
    "ObservationPeriod": Domain(
        "observation_period",
        "observation_period_id",
        "period_type_concept_id",
        "observation_period_start_date",
        "C.observation_period_end_date",
        visit=False,
    ),
}

# The Circe names of the "type" attributes and of the attributes that are plain
# concept lists on a column of the domain's own table.
TYPE_ATTRIBUTES = {
    "ConditionType",
    "DrugType",
    "ProcedureType",
    "MeasurementType",
    "ObservationType",
    "VisitType",
    "DeviceType",
    "DeathType",
    "PeriodType",
}
SOURCE_ATTRIBUTES = {
    "ConditionSourceConcept",
    "DrugSourceConcept",
    "ProcedureSourceConcept",
    "MeasurementSourceConcept",
    "ObservationSourceConcept",
    "VisitSourceConcept",
    "DeviceSourceConcept",
    "DeathSourceConcept",
}
CONCEPT_LIST_COLUMNS = {
    ("ConditionOccurrence", "ConditionStatus"): "condition_status_concept_id",
    ("DrugExposure", "RouteConcept"): "route_concept_id",
    ("ProcedureOccurrence", "Modifier"): "modifier_concept_id",
    ("Measurement", "Operator"): "operator_concept_id",
    ("Measurement", "ValueAsConcept"): "value_as_concept_id",
    ("Measurement", "Unit"): "unit_concept_id",
    ("Observation", "ValueAsConcept"): "value_as_concept_id",
    ("Observation", "Qualifier"): "qualifier_concept_id",
    ("Observation", "Unit"): "unit_concept_id",
}
NUMERIC_COLUMNS = {
    ("Measurement", "ValueAsNumber"): "C.value_as_number",
    ("Measurement", "RangeLow"): "C.range_low",
    ("Measurement", "RangeHigh"): "C.range_high",
    ("Observation", "ValueAsNumber"): "C.value_as_number",
    ("DrugExposure", "DaysSupply"): "C.days_supply",
    ("DrugExposure", "Quantity"): "C.quantity",
    ("DrugExposure", "Refills"): "C.refills",
    ("ProcedureOccurrence", "Quantity"): "C.quantity",
    ("DeviceExposure", "Quantity"): "C.quantity",
    ("DrugEra", "OccurrenceCount"): "C.drug_exposure_count",
    ("DrugEra", "GapDays"): "C.gap_days",
    ("ConditionEra", "OccurrenceCount"): "C.condition_occurrence_count",
    ("DrugEra", "EraLength"): "date_diff('day', C.drug_era_start_date, C.drug_era_end_date)",
    ("ConditionEra", "EraLength"): (
        "date_diff('day', C.condition_era_start_date, C.condition_era_end_date)"
    ),
    ("VisitOccurrence", "VisitLength"): ("date_diff('day', C.visit_start_date, C.visit_end_date)"),
    ("ObservationPeriod", "PeriodLength"): (
        "date_diff('day', C.observation_period_start_date, C.observation_period_end_date)"
    ),
}
DATE_COLUMNS = {
    ("DrugEra", "EraStartDate"): "C.drug_era_start_date",
    ("DrugEra", "EraEndDate"): "C.drug_era_end_date",
    ("ConditionEra", "EraStartDate"): "C.condition_era_start_date",
    ("ConditionEra", "EraEndDate"): "C.condition_era_end_date",
    ("ObservationPeriod", "PeriodStartDate"): "C.observation_period_start_date",
    ("ObservationPeriod", "PeriodEndDate"): "C.observation_period_end_date",
}
AGE_COLUMNS = {
    "AgeAtStart": "start",
    "AgeAtEnd": "end",
}
# Keys that carry no condition (ATLAS writes them with empty or false values).
IGNORED_KEYS = {"ConditionTypeExclude", "CorrelatedCriteria"}
NUMERIC_OPS = {"lt": "<", "lte": "<=", "eq": "=", "!eq": "<>", "gt": ">", "gte": ">="}
OCCURRENCE_OPS = {0: "=", 1: "<=", 2: ">="}
ABNORMAL_VALUE_CONCEPTS = (4155142, 4155143)


@dataclass
class CountedSet:
    """One set of persons whose size the query reports (a row of the attrition)."""

    key: str
    label: str


@dataclass
class CompiledQuery:
    sql: str
    sets: list[CountedSet]
    rules: list[str]
    tables: set[str] = field(default_factory=set)

    def for_engine(self, dialect: str) -> str:
        return transpile(self.sql, dialect)


def transpile(sql: str, dialect: str) -> str:
    if dialect == "duckdb":
        return sql
    tree = sqlglot.parse_one(sql, read="duckdb")
    if dialect == "spark":
        # Spark SQL has no MATERIALIZED hint on common table expressions.
        for cte in tree.find_all(sqlglot.exp.CTE):
            cte.set("materialized", None)
    return tree.sql(dialect=dialect)


def _number(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DefinitionError(f"{where}: expected a number, got {value!r}.")
    if value != value or value in (float("inf"), float("-inf")):
        raise DefinitionError(f"{where}: not a finite number.")
    return repr(value)


def _integer(value: Any, where: str) -> int:
    if type(value) is not int:
        raise DefinitionError(f"{where}: expected an integer, got {value!r}.")
    return value


def _date(value: Any, where: str) -> str:
    import datetime as dt

    if not isinstance(value, str):
        raise DefinitionError(f"{where}: expected a date YYYY-MM-DD, got {value!r}.")
    try:
        parsed = dt.date.fromisoformat(value[:10])
    except ValueError:
        raise DefinitionError(f"{where}: {value!r} is not a date YYYY-MM-DD.") from None
    return f"DATE '{parsed.isoformat()}'"


def _range(expr: str, spec: Any, where: str, literal=_number) -> str:
    if not isinstance(spec, dict):
        raise DefinitionError(f"{where}: expected an object with Op and Value.")
    op = spec.get("Op")
    value = literal(spec.get("Value"), f"{where}.Value")
    if op in NUMERIC_OPS:
        return f"{expr} {NUMERIC_OPS[op]} {value}"
    if op in ("bt", "!bt"):
        extent = literal(spec.get("Extent"), f"{where}.Extent")
        between = f"({expr} >= {value} AND {expr} <= {extent})"
        return between if op == "bt" else f"NOT {between}"
    raise DefinitionError(f"{where}: unknown operator {op!r}.")


def _concept_list(items: Any, where: str) -> list[int]:
    if not isinstance(items, list):
        raise DefinitionError(f"{where}: expected a list of concepts.")
    ids = []
    for position, item in enumerate(items):
        concept_id = item.get("CONCEPT_ID") if isinstance(item, dict) else None
        ids.append(_integer(concept_id, f"{where}[{position}].CONCEPT_ID"))
    return ids


def _in(expr: str, ids: Iterable[int], negate: bool = False) -> str:
    values = sorted(set(ids))
    if not values:
        return "1 = 0" if not negate else "1 = 1"
    listed = ", ".join(str(v) for v in values)
    return f"{expr} {'NOT IN' if negate else 'IN'} ({listed})"


def _empty(value: Any) -> bool:
    return value is None or value is False or value == [] or value == {}


class Compiler:
    """Builds the statement; ``codesets`` maps a concept set id to its concept ids."""

    def __init__(self, definition: Mapping[str, Any], codesets: Mapping[int, Sequence[int]]):
        self.definition = definition
        self.codesets = codesets
        self.tables: set[str] = {"observation_period"}

    # -- concept sets ---------------------------------------------------------------

    def codeset(self, codeset_id: Any, where: str) -> list[int]:
        codeset_id = _integer(codeset_id, where)
        if codeset_id not in self.codesets:
            raise DefinitionError(f"{where}: concept set {codeset_id} is not defined.")
        return list(self.codesets[codeset_id])

    # -- domain criteria ----------------------------------------------------------------

    def criteria_query(self, criteria: Any, where: str) -> str:
        """Events of one domain criterion: person_id, event_id, start_date, end_date,
        visit_occurrence_id, sort_date, domain_concept_id."""
        if not isinstance(criteria, dict) or len(criteria) != 1:
            raise DefinitionError(f"{where}: a criterion names exactly one domain.")
        ((name, attrs),) = criteria.items()
        domain = DOMAINS.get(name)
        if domain is None:
            raise DefinitionError(f"{where}: the criterion type {name!r} is not supported.")
        if not isinstance(attrs, dict):
            raise DefinitionError(f"{where}.{name}: expected an object.")
        self.tables.add(domain.table)
        where = f"{where}.{name}"
        inner_filters: list[str] = []
        outer: list[str] = []
        joins: list[str] = []
        person_join = False
        first = False
        for key, value in attrs.items():
            here = f"{where}.{key}"
            if key in IGNORED_KEYS:
                if key == "CorrelatedCriteria" and value and _group_has_content(value):
                    raise DefinitionError(
                        f"{here}: correlated criteria nested in a criterion are not supported."
                    )
                continue
            if _empty(value) and key != "First":
                continue
            if key == "CodesetId":
                inner_filters.append(_in(f"t.{domain.concept}", self.codeset(value, here)))
            elif key == "First":
                first = bool(value)
            elif key in SOURCE_ATTRIBUTES and domain.source_concept:
                outer.append(_in(f"C.{domain.source_concept}", self.codeset(value, here)))
            elif key in TYPE_ATTRIBUTES and domain.type_concept:
                exclude = bool(attrs.get(f"{key}Exclude"))
                if key == "VisitType" and name != "VisitOccurrence":
                    joins.append(
                        "JOIN visit_occurrence V ON C.visit_occurrence_id = V.visit_occurrence_id"
                    )
                    self.tables.add("visit_occurrence")
                    outer.append(_in("V.visit_concept_id", _concept_list(value, here), exclude))
                else:
                    column = f"C.{domain.type_concept}"
                    outer.append(_in(column, _concept_list(value, here), exclude))
            elif key.endswith("TypeExclude"):
                continue
            elif key == "VisitType":
                joins.append(
                    "JOIN visit_occurrence V ON C.visit_occurrence_id = V.visit_occurrence_id"
                )
                self.tables.add("visit_occurrence")
                outer.append(_in("V.visit_concept_id", _concept_list(value, here)))
            elif (name, key) in CONCEPT_LIST_COLUMNS:
                outer.append(
                    _in(f"C.{CONCEPT_LIST_COLUMNS[(name, key)]}", _concept_list(value, here))
                )
            elif (name, key) in NUMERIC_COLUMNS:
                outer.append(_range(NUMERIC_COLUMNS[(name, key)], value, here))
            elif (name, key) in DATE_COLUMNS:
                outer.append(_range(DATE_COLUMNS[(name, key)], value, here, _date))
            elif key == "OccurrenceStartDate":
                outer.append(_range(f"C.{domain.start}", value, here, _date))
            elif key == "OccurrenceEndDate":
                outer.append(_range(domain.end, value, here, _date))
            elif key == "Age":
                person_join = True
                outer.append(_range(f"(year(C.{domain.start}) - P.year_of_birth)", value, here))
            elif key in AGE_COLUMNS and name in ("DrugEra", "ConditionEra", "ObservationPeriod"):
                person_join = True
                date = f"C.{domain.start}" if AGE_COLUMNS[key] == "start" else domain.end
                outer.append(_range(f"(year({date}) - P.year_of_birth)", value, here))
            elif key == "Gender":
                person_join = True
                outer.append(_in("P.gender_concept_id", _concept_list(value, here)))
            elif key == "Abnormal" and name == "Measurement":
                outer.append(
                    "(C.value_as_number < C.range_low OR C.value_as_number > C.range_high OR "
                    + _in("C.value_as_concept_id", ABNORMAL_VALUE_CONCEPTS)
                    + ")"
                )
            elif key in ("RangeLowRatio", "RangeHighRatio") and name == "Measurement":
                bound = "C.range_low" if key == "RangeLowRatio" else "C.range_high"
                outer.append(_range(f"(C.value_as_number / NULLIF({bound}, 0))", value, here))
            else:
                raise DefinitionError(f"{here}: this attribute is not supported.")
        if person_join:
            joins.append("JOIN person P ON C.person_id = P.person_id")
            self.tables.add("person")
        ordinal = ""
        if first:
            ordinal = (
                f", row_number() OVER (PARTITION BY t.person_id ORDER BY t.{domain.start}, "
                f"t.{domain.id}) AS ordinal"
            )
            outer.append("C.ordinal = 1")
        inner_where = f" WHERE {' AND '.join(inner_filters)}" if inner_filters else ""
        visit = "C.visit_occurrence_id" if domain.visit else "CAST(NULL AS BIGINT)"
        if name == "VisitOccurrence":
            visit = "C.visit_occurrence_id"
        outer_where = f" WHERE {' AND '.join(outer)}" if outer else ""
        return (
            f"SELECT C.person_id AS person_id, C.{domain.id} AS event_id, "
            f"C.{domain.start} AS start_date, {domain.end} AS end_date, "
            f"{visit} AS visit_occurrence_id, C.{domain.start} AS sort_date, "
            f"C.{domain.concept} AS domain_concept_id "
            f"FROM (SELECT t.*{ordinal} FROM {domain.table} t{inner_where}) C "
            f"{' '.join(joins)}{outer_where}"
        )

    # -- groups of criteria ----------------------------------------------------------

    def group_query(self, group: Any, events: str, where: str) -> str:
        """(person_id, event_id) of the events in ``events`` that satisfy the group."""
        if not isinstance(group, dict):
            raise DefinitionError(f"{where}: a criteria group is an object.")
        parts: list[str] = []
        for index, item in enumerate(group.get("CriteriaList") or []):
            parts.append(self.correlated_query(item, events, f"{where}.CriteriaList[{index}]"))
        for index, item in enumerate(group.get("DemographicCriteriaList") or []):
            here = f"{where}.DemographicCriteriaList[{index}]"
            parts.append(self.demographic_query(item, events, here))
        for index, item in enumerate(group.get("Groups") or []):
            parts.append(self.group_query(item, events, f"{where}.Groups[{index}]"))
        if not parts:
            return f"SELECT person_id, event_id FROM {events}"
        kind = str(group.get("Type") or "ALL").upper()
        count = group.get("Count")
        join = "JOIN"
        if kind == "ALL":
            having = f"= {len(parts)}"
        elif kind == "ANY":
            having = "> 0"
        elif kind in ("AT_LEAST", "AT_MOST"):
            number = _integer(count, f"{where}.Count")
            if kind == "AT_LEAST":
                having = f">= {number}"
            else:
                having = f"<= {number}"
                join = "LEFT JOIN"
            if number == 0:
                join = "LEFT JOIN"
        else:
            raise DefinitionError(f"{where}.Type: unknown group type {kind!r}.")
        union = " UNION ALL ".join(
            f"SELECT {i} AS index_id, person_id, event_id FROM ({part}) g{i}"
            for i, part in enumerate(parts)
        )
        return (
            f"SELECT E.person_id, E.event_id FROM {events} E {join} ({union}) CQ "
            "ON E.person_id = CQ.person_id AND E.event_id = CQ.event_id "
            f"GROUP BY E.person_id, E.event_id HAVING COUNT(CQ.index_id) {having}"
        )

    def demographic_clauses(
        self, criteria: Any, where: str, event: str = "E", person: str = "P"
    ) -> list[str]:
        if not isinstance(criteria, dict):
            raise DefinitionError(f"{where}: expected an object.")
        self.tables.add("person")
        clauses: list[str] = []
        for key, value in criteria.items():
            here = f"{where}.{key}"
            if _empty(value):
                continue
            if key == "Age":
                age = f"(year({event}.start_date) - {person}.year_of_birth)"
                clauses.append(_range(age, value, here))
            elif key == "Gender":
                clauses.append(_in(f"{person}.gender_concept_id", _concept_list(value, here)))
            elif key == "Race":
                clauses.append(_in(f"{person}.race_concept_id", _concept_list(value, here)))
            elif key == "Ethnicity":
                clauses.append(_in(f"{person}.ethnicity_concept_id", _concept_list(value, here)))
            elif key == "OccurrenceStartDate":
                clauses.append(_range(f"{event}.start_date", value, here, _date))
            elif key == "OccurrenceEndDate":
                clauses.append(_range(f"{event}.end_date", value, here, _date))
            else:
                raise DefinitionError(f"{here}: this demographic attribute is not supported.")
        return clauses

    def demographic_query(self, criteria: Any, events: str, where: str) -> str:
        clauses = self.demographic_clauses(criteria, where)
        condition = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return (
            f"SELECT E.person_id, E.event_id FROM {events} E "
            f"JOIN person P ON P.person_id = E.person_id{condition}"
        )

    def inline_demographics(self, group: Any, where: str) -> str | None:
        """A rule made only of demographic criteria (all or any of them) as a condition
        on the event and its person, instead of a group query of its own."""
        if not isinstance(group, dict) or group.get("CriteriaList") or group.get("Groups"):
            return None
        items = group.get("DemographicCriteriaList") or []
        kind = str(group.get("Type") or "ALL").upper()
        if not items or kind not in ("ALL", "ANY"):
            return None
        parts = []
        for index, item in enumerate(items):
            here = f"{where}.DemographicCriteriaList[{index}]"
            clauses = self.demographic_clauses(item, here, event="Q", person="PD")
            parts.append("(" + (" AND ".join(clauses) or "1 = 1") + ")")
        return (" AND " if kind == "ALL" else " OR ").join(parts)

    def _window(self, window: Any, where: str, *, end_window: bool, check_op: bool) -> list[str]:
        if _empty(window):
            return []
        if not isinstance(window, dict):
            raise DefinitionError(f"{where}: a window is an object.")
        index_date = "P.end_date" if window.get("UseIndexEnd") else "P.start_date"
        if end_window:
            use_event_end = window.get("UseEventEnd")
            event_date = "A.end_date" if use_event_end is None or use_event_end else "A.start_date"
        else:
            event_date = "A.end_date" if window.get("UseEventEnd") else "A.start_date"
        clauses = []
        for bound, op in (("Start", ">="), ("End", "<=")):
            spec = window.get(bound) or {}
            coeff = spec.get("Coeff", 1)
            if coeff not in (-1, 1):
                raise DefinitionError(f"{where}.{bound}.Coeff must be -1 or 1.")
            days = spec.get("Days")
            if days is not None:
                days = _integer(days, f"{where}.{bound}.Days")
                if abs(days) > 100_000:
                    raise DefinitionError(f"{where}.{bound}.Days is out of range.")
                clauses.append(f"{event_date} {op} ({index_date} + {coeff * days})")
            elif check_op:
                limit = "P.op_start_date" if coeff == -1 else "P.op_end_date"
                clauses.append(f"{event_date} {op} {limit}")
        return clauses

    def correlated_query(self, item: Any, events: str, where: str) -> str:
        if not isinstance(item, dict) or "Criteria" not in item:
            raise DefinitionError(f"{where}: expected a correlated criterion with Criteria.")
        criteria = self.criteria_query(item["Criteria"], f"{where}.Criteria")
        check_op = not item.get("IgnoreObservationPeriod")
        clauses = ["A.person_id = P.person_id"]
        clauses += self._window(
            item.get("StartWindow"), f"{where}.StartWindow", end_window=False, check_op=check_op
        )
        clauses += self._window(
            item.get("EndWindow"), f"{where}.EndWindow", end_window=True, check_op=check_op
        )
        if item.get("RestrictVisit"):
            clauses.append("A.visit_occurrence_id = P.visit_occurrence_id")
        if check_op:
            clauses.append("A.start_date >= P.op_start_date AND A.start_date <= P.op_end_date")
        occurrence = item.get("Occurrence") or {"Type": 2, "Count": 1}
        kind = occurrence.get("Type", 2)
        if kind not in OCCURRENCE_OPS:
            raise DefinitionError(f"{where}.Occurrence.Type must be 0, 1 or 2.")
        count = _integer(occurrence.get("Count", 1), f"{where}.Occurrence.Count")
        column = "A.event_id"
        if occurrence.get("IsDistinct"):
            count_column = str(occurrence.get("CountColumn") or "DOMAIN_CONCEPT").upper()
            column = {
                "DOMAIN_CONCEPT": "A.domain_concept_id",
                "START_DATE": "A.start_date",
                "VISIT_ID": "A.visit_occurrence_id",
            }.get(count_column, "")
            if not column:
                raise DefinitionError(f"{where}.Occurrence.CountColumn {count_column!r}.")
            column = f"DISTINCT {column}"
        join = "JOIN" if kind == 2 and count > 0 else "LEFT JOIN"
        return (
            f"SELECT P.person_id, P.event_id FROM {events} P {join} ({criteria}) A "
            f"ON {' AND '.join(clauses)} GROUP BY P.person_id, P.event_id "
            f"HAVING COUNT({column}) {OCCURRENCE_OPS[kind]} {count}"
        )

    # -- the cohort --------------------------------------------------------------------

    def compile(self, keys: Keys) -> CompiledQuery:
        d = self.definition
        primary = d["PrimaryCriteria"]
        events = [
            self.criteria_query(c, f"PrimaryCriteria.CriteriaList[{i}]")
            for i, c in enumerate(primary["CriteriaList"])
        ]
        window = primary.get("ObservationWindow") or {}
        prior = _integer(window.get("PriorDays", 0), "ObservationWindow.PriorDays")
        post = _integer(window.get("PostDays", 0), "ObservationWindow.PostDays")
        limit = str((primary.get("PrimaryCriteriaLimit") or {}).get("Type") or "First").upper()
        order = "DESC" if limit == "LAST" else "ASC"
        # One criterion that takes each person's first occurrence leaves at most one event
        # per person (observation periods do not overlap): no ordering is needed then.
        listed = primary["CriteriaList"]
        single_first = (
            len(listed) == 1
            and isinstance(listed[0], dict)
            and len(listed[0]) == 1
            and isinstance(next(iter(listed[0].values())), dict)
            and bool(next(iter(listed[0].values())).get("First"))
        )
        ordinal = (
            "1"
            if single_first
            else "row_number() OVER "
            f"(PARTITION BY E.person_id ORDER BY E.sort_date {order}, E.event_id)"
        )
        primary_filter = "" if limit == "ALL" or single_first else " WHERE ordinal = 1"
        ctes = [
            "primary_events AS (SELECT person_id, ordinal AS event_id, start_date, end_date, "
            "op_start_date, op_end_date, visit_occurrence_id FROM (SELECT E.person_id, "
            "E.start_date, E.end_date, E.visit_occurrence_id, "
            "OP.observation_period_start_date AS op_start_date, "
            f"OP.observation_period_end_date AS op_end_date, {ordinal} AS ordinal "
            f"FROM ({' UNION ALL '.join(events)}) E JOIN observation_period OP "
            "ON E.person_id = OP.person_id AND E.start_date >= OP.observation_period_start_date "
            "AND E.start_date <= OP.observation_period_end_date "
            f"WHERE (OP.observation_period_start_date + {prior}) <= E.start_date "
            f"AND (E.start_date + {post}) <= OP.observation_period_end_date) pe0"
            f"{primary_filter})"
        ]
        additional = d.get("AdditionalCriteria")
        qualified_limit = str((d.get("QualifiedLimit") or {}).get("Type") or "First").upper()
        qualified_has_limit = not _empty(additional) and _group_has_content(additional)
        if qualified_has_limit:
            group = self.group_query(additional, "primary_events", "AdditionalCriteria")
            q_order = "DESC" if qualified_limit == "LAST" else "ASC"
            q_filter = "" if qualified_limit == "ALL" else " WHERE ordinal = 1"
            ctes.append(
                "qualified_events AS MATERIALIZED (SELECT person_id, event_id, start_date, "
                "end_date, "
                "op_start_date, op_end_date, visit_occurrence_id FROM (SELECT pe.*, "
                "row_number() OVER (PARTITION BY pe.person_id ORDER BY pe.start_date "
                f"{q_order}, pe.event_id) AS ordinal FROM primary_events pe JOIN ({group}) AC "
                "ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id) qe0"
                f"{q_filter})"
            )
        else:
            # Materialised when the inclusion rules read it more than once.
            hint = " MATERIALIZED" if d.get("InclusionRules") else ""
            ctes.append(f"qualified_events AS{hint} (SELECT * FROM primary_events)")
        rules = d.get("InclusionRules") or []
        names = []
        joins = []
        flags = []
        person_join = False
        for index, rule in enumerate(rules):
            names.append(str(rule.get("name") or f"Rule {index + 1}"))
            inline = self.inline_demographics(
                rule.get("expression") or {}, f"InclusionRules[{index}].expression"
            )
            if inline is not None:
                person_join = True
                # A missing person row satisfies no demographic criterion, as in the join.
                flags.append(
                    f"CASE WHEN PD.person_id IS NOT NULL AND ({inline}) THEN 1 ELSE 0 END "
                    f"AS r{index}"
                )
                continue
            group = self.group_query(
                rule.get("expression") or {}, "qualified_events", f"InclusionRules[{index}]"
            )
            ctes.append(f"inclusion_{index} AS ({group})")
            joins.append(
                f"LEFT JOIN inclusion_{index} I{index} ON I{index}.person_id = Q.person_id "
                f"AND I{index}.event_id = Q.event_id"
            )
            flags.append(f"CASE WHEN I{index}.event_id IS NULL THEN 0 ELSE 1 END AS r{index}")
        if person_join:
            joins.append("LEFT JOIN person PD ON PD.person_id = Q.person_id")
        rule_count = " + ".join(f"r{i}" for i in range(len(rules))) or "0"
        ctes.append(
            "event_rules AS (SELECT Q.person_id, Q.event_id, Q.start_date"
            + "".join(f", {flag}" for flag in flags)
            + f" FROM qualified_events Q {' '.join(joins)})"
        )
        # The best event of each person: the one that satisfies the most rules (circe-be's
        # inclusion statistics, mode "by person"). With at most one qualified event per
        # person (a First or Last limit) that is the event itself, and without rules any
        # event will do: the two windows are needed only otherwise.
        one_per_person = (
            limit != "ALL" or single_first or (qualified_has_limit and qualified_limit != "ALL")
        )
        if one_per_person:
            ctes.append("ranked AS (SELECT * FROM event_rules)")
        elif not rules:
            ctes.append("ranked AS (SELECT person_id FROM event_rules GROUP BY person_id)")
        else:
            ctes.append(
                "ranked AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id "
                "ORDER BY rule_count DESC, min_event_id, start_date, event_id) AS rank_value "
                f"FROM (SELECT *, {rule_count} AS rule_count, min(event_id) OVER (PARTITION BY "
                "person_id, start_date) AS min_event_id FROM event_rules) er) rk "
                "WHERE rank_value = 1)"
            )
        ctes.append(
            f"best AS (SELECT *, ((person_id % {PRIME}) * {keys.a1} + {keys.b1}) % {PRIME} AS h1, "
            f"((person_id % {PRIME}) * {keys.a2} + {keys.b2}) % {PRIME} AS h2 FROM ranked)"
        )
        ctes.append(
            f"keyed AS (SELECT *, (h1 * h1 + {keys.c1}) % {PRIME} AS k, "
            f"((h2 * h2 + {keys.c2}) % {PRIME}) % {BUCKETS} AS bucket FROM best)"
        )
        sets = [CountedSet("initial", "Qualifying persons")]
        conditions = ["1 = 1"]
        all_rules = [f"r{i} = 1" for i in range(len(rules))]
        for index, name in enumerate(names):
            sets.append(CountedSet(f"rule_{index}", name))
            conditions.append(f"r{index} = 1")
            others = [f"r{i} = {0 if i == index else 1}" for i in range(len(rules))]
            sets.append(CountedSet(f"gain_{index}", name))
            conditions.append(" AND ".join(others))
            sets.append(CountedSet(f"after_{index}", name))
            conditions.append(" AND ".join(all_rules[: index + 1]))
        sets.append(CountedSet("final", "Cohort"))
        conditions.append(" AND ".join(all_rules) if all_rules else "1 = 1")
        columns = ", ".join(
            f"SUM(CASE WHEN {c} THEN 1 ELSE 0 END) AS n{i}, "
            f"SUM(CASE WHEN {c} THEN k ELSE 0 END) AS k{i}"
            for i, c in enumerate(conditions)
        )
        sql = (
            f"WITH {', '.join(ctes)} SELECT bucket, {columns} FROM keyed GROUP BY bucket "
            "ORDER BY bucket"
        )
        return CompiledQuery(sql=sql, sets=sets, rules=names, tables=set(self.tables))


@dataclass(frozen=True)
class Keys:
    """The secret constants of the record-key hash (see ``protection.keys_from_secret``)."""

    a1: int
    b1: int
    c1: int
    a2: int
    b2: int
    c2: int


def _group_has_content(group: Any) -> bool:
    if not isinstance(group, dict):
        return False
    return bool(
        group.get("CriteriaList") or group.get("DemographicCriteriaList") or group.get("Groups")
    )


def codeset_sql(definition: Mapping[str, Any]) -> str:
    """One statement resolving every concept set to (codeset_id, concept_id) rows,
    as circe-be does: the concepts, their descendants, the source concepts mapped to
    them, less the excluded ones (with their descendants and mappings)."""
    parts = []
    for concept_set in definition.get("ConceptSets") or []:
        codeset_id = _integer(concept_set.get("id"), "ConceptSets.id")
        items = (concept_set.get("expression") or {}).get("items") or []
        included = [i for i in items if not i.get("isExcluded")]
        excluded = [i for i in items if i.get("isExcluded")]
        include_sql = _concept_expression(included)
        if not include_sql:
            continue
        exclude_sql = _concept_expression(excluded)
        body = f"SELECT DISTINCT concept_id FROM ({include_sql}) inc"
        if exclude_sql:
            body += f" WHERE concept_id NOT IN (SELECT concept_id FROM ({exclude_sql}) exc)"
        parts.append(f"SELECT {codeset_id} AS codeset_id, concept_id FROM ({body}) cs{codeset_id}")
    if not parts:
        return ""
    return " UNION ALL ".join(parts)


def _concept_expression(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    plain = sorted({i["concept"]["CONCEPT_ID"] for i in items})
    descendants = sorted({i["concept"]["CONCEPT_ID"] for i in items if i.get("includeDescendants")})
    mapped = [i for i in items if i.get("includeMapped")]
    parts = [f"SELECT concept_id FROM concept WHERE {_in('concept_id', plain)}"]
    if descendants:
        parts.append(
            "SELECT c.concept_id FROM concept c JOIN concept_ancestor ca "
            "ON c.concept_id = ca.descendant_concept_id WHERE "
            + _in("ca.ancestor_concept_id", descendants)
            + " AND c.invalid_reason IS NULL"
        )
    selection = " UNION ".join(parts)
    if mapped:
        mapped_plain = sorted({i["concept"]["CONCEPT_ID"] for i in mapped})
        mapped_desc = sorted(
            {i["concept"]["CONCEPT_ID"] for i in mapped if i.get("includeDescendants")}
        )
        targets = [f"SELECT concept_id FROM concept WHERE {_in('concept_id', mapped_plain)}"]
        if mapped_desc:
            targets.append(
                "SELECT c.concept_id FROM concept c JOIN concept_ancestor ca "
                "ON c.concept_id = ca.descendant_concept_id WHERE "
                + _in("ca.ancestor_concept_id", mapped_desc)
                + " AND c.invalid_reason IS NULL"
            )
        selection += (
            " UNION SELECT cr.concept_id_1 AS concept_id FROM concept_relationship cr "
            f"WHERE cr.concept_id_2 IN ({' UNION '.join(targets)}) "
            "AND cr.relationship_id = 'Maps to' AND cr.invalid_reason IS NULL"
        )
    return selection
