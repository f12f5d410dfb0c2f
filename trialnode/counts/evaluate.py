"""Count a cohort definition on one engine: the exact figures, then what may be released."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trialnode.counts.compiler import BUCKETS, PRIME, Compiler, Keys, codeset_sql
from trialnode.counts.definition import DefinitionError, concept_ids
from trialnode.counts.engines import Engine
from trialnode.counts.protection import AnchorStore, Policy, Released, protect

DOMAIN_NAMES = {
    "condition_occurrence": "conditions",
    "condition_era": "condition eras",
    "drug_exposure": "drug exposures",
    "drug_era": "drug eras",
    "procedure_occurrence": "procedures",
    "measurement": "measurements",
    "observation": "observations",
    "visit_occurrence": "visits",
    "device_exposure": "device exposures",
    "death": "deaths",
    "person": "persons",
    "observation_period": "observation periods",
}


@dataclass
class SetCount:
    key: str
    label: str
    n: int
    cell_key: int
    sketch: list[int]


@dataclass
class Evaluation:
    """The exact result: for the data holder and the audit trail only."""

    engine: str
    data_version: str
    rules: list[str]
    sets: list[SetCount]
    seconds: float
    warnings: list[str] = field(default_factory=list)

    def count(self, key: str) -> SetCount:
        return next(s for s in self.sets if s.key == key)

    @property
    def persons(self) -> int:
        return self.count("final").n

    def exact_json(self) -> dict[str, Any]:
        return {
            "persons": self.persons,
            "initial": self.count("initial").n,
            "attrition": [
                {
                    "rule": index,
                    "name": name,
                    "person_count": self.count(f"rule_{index}").n,
                    "gain": self.count(f"gain_{index}").n,
                    "remaining": self.count(f"after_{index}").n,
                }
                for index, name in enumerate(self.rules)
            ],
        }

    def release(self, *, policy: Policy, anchors: AnchorStore) -> dict[str, Released]:
        """Protected values of every set, in a fixed order (anchors depend on it)."""
        released: dict[str, Released] = {}
        order = ["final", "initial"] + [s.key for s in self.sets if s.key[:5] in ("rule_", "after")]
        order += [s.key for s in self.sets if s.key.startswith("gain_")]
        for key in order:
            item = self.count(key)
            released[key] = protect(
                item.n,
                item.cell_key,
                item.sketch,
                data_version=self.data_version,
                policy=policy,
                anchors=anchors,
            )
        return released

    def released_json(self, released: Mapping[str, Released]) -> dict[str, Any]:
        return {
            "persons": released["final"].as_json(),
            "interval": [released["final"].low, released["final"].high],
            "initial": released["initial"].as_json(),
            "attrition": [
                {
                    "rule": index,
                    "name": name,
                    "person_count": released[f"rule_{index}"].as_json(),
                    "gain": released[f"gain_{index}"].as_json(),
                    "remaining": released[f"after_{index}"].as_json(),
                }
                for index, name in enumerate(self.rules)
            ],
        }


def evaluate(
    definition: Mapping[str, Any],
    engine: Engine,
    *,
    keys: Keys,
    timeout: float = 120.0,
    data_version: str | None = None,
) -> Evaluation:
    """Run the definition on ``engine``. Raises DefinitionError for what the data
    cannot answer (unknown concepts, a missing table) and EngineError/QueryTimeout."""
    started = time.perf_counter()
    tables = engine.tables()
    for needed in ("person", "observation_period", "concept"):
        if needed not in tables:
            raise DefinitionError(f"The OMOP data has no {needed} table.")
    named = concept_ids({"ConceptSets": definition.get("ConceptSets") or []})
    if named:
        listed = ", ".join(str(i) for i in sorted(named))
        known = {
            row[0]
            for row in engine.run(
                f"SELECT concept_id FROM concept WHERE concept_id IN ({listed})", timeout=timeout
            )
        }
        unknown = sorted(named - known)
        if unknown:
            shown = ", ".join(str(i) for i in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise DefinitionError(
                f"Unknown concept ids in the concept sets: {shown}{more} "
                "(not in this data's vocabulary)."
            )
    codesets: dict[int, list[int]] = {cs["id"]: [] for cs in definition.get("ConceptSets") or []}
    statement = codeset_sql(definition)
    if statement:
        if "concept_ancestor" not in tables and "concept_ancestor" in statement:
            raise DefinitionError("The OMOP data has no concept_ancestor table (descendants).")
        for codeset_id, concept_id in engine.run(statement, timeout=timeout):
            codesets[int(codeset_id)].append(int(concept_id))
    compiled = Compiler(definition, codesets).compile(keys)
    missing = sorted(compiled.tables - tables)
    if missing:
        names = ", ".join(f"{DOMAIN_NAMES.get(t, t)} ({t})" for t in missing)
        raise DefinitionError(f"The definition uses data this source does not have: {names}.")
    rows = engine.run(compiled.sql, timeout=timeout)
    sets = []
    for index, counted in enumerate(compiled.sets):
        sketch = [0] * BUCKETS
        total = key_sum = 0
        for row in rows:
            n = int(row[1 + 2 * index] or 0)
            sketch[int(row[0])] = n
            total += n
            key_sum += int(row[2 + 2 * index] or 0)
        sets.append(SetCount(counted.key, counted.label, total, key_sum % PRIME, sketch))
    version = data_version or engine.data_version()
    return Evaluation(
        engine=engine.name,
        data_version=version,
        rules=compiled.rules,
        sets=sets,
        seconds=time.perf_counter() - started,
    )
