"""The criteria builder: criteria in Swedish codes become an OHDSI cohort definition.

A ``Spec`` says what a coordinator or sponsor asks in the field's own terms (a
diagnosis by ICD-10-SE, a drug by ATC, a procedure by KVÅ, a lab value by LOINC with
a threshold, age, sex, time windows, inclusion and exclusion); ``build`` resolves the
codes through the vocabulary (``vocab``) and writes Circe JSON that any OHDSI tool can
read, with one concept set per criterion and one inclusion rule per condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trialnode.counts.engines import Engine
from trialnode.counts.vocab import CodeError, Resolution, resolve

KINDS = {
    "diagnosis": ("icd10", "ConditionOccurrence"),
    "drug": ("atc", "DrugExposure"),
    "procedure": ("kva", "ProcedureOccurrence"),
    "lab": ("loinc", "Measurement"),
}
KIND_NAMES_SV = {
    "diagnosis": "Diagnos",
    "drug": "Läkemedel",
    "procedure": "Åtgärd",
    "lab": "Labbvärde",
}
OPS_SV = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "="}
GENDER = {"male": (8507, "MALE"), "female": (8532, "FEMALE")}
MAX_CODES = 50
MAX_CRITERIA = 20


class BuildError(ValueError):
    """``problems`` lists what is wrong, each tied to the part of the spec it is about."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(message for _where, message in problems))
        self.problems = problems


@dataclass
class Criterion:
    kind: str
    codes: list[str]
    include: bool = True
    days_before: int | None = None
    days_after: int | None = None
    min_count: int = 1
    lab_op: str = ""
    lab_value: float | None = None


@dataclass
class Spec:
    entry: Criterion
    first_event: bool = True
    prior_days: int = 0
    age_min: int | None = None
    age_max: int | None = None
    sex: str = ""
    criteria: list[Criterion] = field(default_factory=list)


@dataclass
class Built:
    definition: dict[str, Any]
    resolutions: list[list[Resolution]]


def _window_text(criterion: Criterion) -> str:
    before, after = criterion.days_before, criterion.days_after
    if before is None and after is None:
        return "någon gång"
    if before is not None and after is not None:
        return f"från {before} dagar före till {after} dagar efter"
    if before is not None:
        return f"inom {before} dagar före"
    return f"inom {after} dagar efter"


def rule_name(criterion: Criterion) -> str:
    codes = ", ".join(criterion.codes)
    text = f"{KIND_NAMES_SV[criterion.kind]} {codes}"
    if criterion.kind == "lab" and criterion.lab_op and criterion.lab_value is not None:
        text += f" {OPS_SV.get(criterion.lab_op, criterion.lab_op)} {criterion.lab_value:g}"
    if not criterion.include:
        return f"Inte: {text} ({_window_text(criterion)})"
    times = f", minst {criterion.min_count} gånger" if criterion.min_count > 1 else ""
    return f"{text} ({_window_text(criterion)}{times})"


def _concept_item(concept_id: int, name: str) -> dict[str, Any]:
    return {
        "concept": {"CONCEPT_ID": concept_id, "CONCEPT_NAME": name},
        "isExcluded": False,
        "includeDescendants": True,
        "includeMapped": False,
    }


def _criteria(criterion: Criterion, codeset_id: int) -> dict[str, Any]:
    _system, domain = KINDS[criterion.kind]
    attributes: dict[str, Any] = {"CodesetId": codeset_id}
    if criterion.kind == "lab" and criterion.lab_op and criterion.lab_value is not None:
        attributes["ValueAsNumber"] = {"Value": criterion.lab_value, "Op": criterion.lab_op}
    return {domain: attributes}


def _window(days: int | None, coeff: int) -> dict[str, Any]:
    return {"Coeff": coeff} if days is None else {"Days": days, "Coeff": coeff}


def build(spec: Spec, engine: Engine) -> Built:
    """Resolve the codes and write the definition; BuildError lists every problem."""
    problems: list[tuple[str, str]] = []
    everything = [("entry", spec.entry)] + [
        (f"criteria-{i}", c) for i, c in enumerate(spec.criteria)
    ]
    if len(spec.criteria) > MAX_CRITERIA:
        problems.append(("criteria", f"at most {MAX_CRITERIA} criteria"))
    concept_sets = []
    resolutions: list[list[Resolution]] = []
    for index, (where, criterion) in enumerate(everything):
        if criterion.kind not in KINDS:
            problems.append((where, f"unknown kind {criterion.kind!r}"))
            resolutions.append([])
            continue
        if not criterion.codes:
            problems.append((where, "give at least one code"))
        if len(criterion.codes) > MAX_CODES:
            problems.append((where, f"at most {MAX_CODES} codes"))
        system = KINDS[criterion.kind][0]
        found: list[Resolution] = []
        items: dict[int, dict[str, Any]] = {}
        for code in criterion.codes[:MAX_CODES]:
            try:
                resolution = resolve(engine, system, code)
            except CodeError as exc:
                problems.append((where, str(exc)))
                continue
            if not resolution.found:
                problems.append((where, f"{resolution.code}: no OMOP concept for this code"))
            found.append(resolution)
            for concept_id, name in resolution.concepts:
                items.setdefault(concept_id, _concept_item(concept_id, name))
        resolutions.append(found)
        concept_sets.append(
            {
                "id": index,
                "name": f"{KIND_NAMES_SV.get(criterion.kind, '')} {', '.join(criterion.codes)}",
                "expression": {"items": list(items.values())},
            }
        )
    if spec.sex and spec.sex not in GENDER:
        problems.append(("sex", f"unknown sex {spec.sex!r}"))
    if spec.age_min is not None and spec.age_max is not None and spec.age_min > spec.age_max:
        problems.append(("age", "the lowest age is above the highest"))
    if problems:
        raise BuildError(problems)
    rules: list[dict[str, Any]] = []
    if spec.age_min is not None or spec.age_max is not None:
        if spec.age_min is not None and spec.age_max is not None:
            age = {"Value": spec.age_min, "Op": "bt", "Extent": spec.age_max}
            name = f"Ålder {spec.age_min}–{spec.age_max} år"
        elif spec.age_min is not None:
            age, name = {"Value": spec.age_min, "Op": "gte"}, f"Ålder minst {spec.age_min} år"
        else:
            age, name = {"Value": spec.age_max, "Op": "lte"}, f"Ålder högst {spec.age_max} år"
        rules.append(_demographic(name, {"Age": age}))
    if spec.sex:
        concept_id, label = GENDER[spec.sex]
        name = "Kön: man" if spec.sex == "male" else "Kön: kvinna"
        rules.append(
            _demographic(name, {"Gender": [{"CONCEPT_ID": concept_id, "CONCEPT_NAME": label}]})
        )
    for index, criterion in enumerate(spec.criteria, start=1):
        occurrence = (
            {"Type": 2, "Count": max(1, criterion.min_count)}
            if criterion.include
            else {"Type": 0, "Count": 0}
        )
        rules.append(
            {
                "name": rule_name(criterion),
                "expression": {
                    "Type": "ALL",
                    "CriteriaList": [
                        {
                            "Criteria": _criteria(criterion, index),
                            "StartWindow": {
                                "Start": _window(criterion.days_before, -1),
                                "End": _window(criterion.days_after, 1),
                                "UseIndexEnd": False,
                                "UseEventEnd": False,
                            },
                            "RestrictVisit": False,
                            "IgnoreObservationPeriod": False,
                            "Occurrence": occurrence,
                        }
                    ],
                    "DemographicCriteriaList": [],
                    "Groups": [],
                },
            }
        )
    entry = _criteria(spec.entry, 0)
    next(iter(entry.values()))["First"] = spec.first_event
    limit = "First" if spec.first_event else "All"
    definition = {
        "ConceptSets": concept_sets,
        "PrimaryCriteria": {
            "CriteriaList": [entry],
            "ObservationWindow": {"PriorDays": max(0, spec.prior_days), "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": limit},
        },
        "QualifiedLimit": {"Type": "First"},
        "ExpressionLimit": {"Type": limit},
        "InclusionRules": rules,
        "CensoringCriteria": [],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
        "CensorWindow": {},
        "cdmVersionRange": ">=5.0.0",
    }
    return Built(definition=definition, resolutions=resolutions)


def _demographic(name: str, criteria: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "expression": {
            "Type": "ALL",
            "CriteriaList": [],
            "DemographicCriteriaList": [criteria],
            "Groups": [],
        },
    }
