"""Swedish codes (ICD-10-SE, ATC, KVÅ) and LOINC to OMOP standard concepts.

The lookup uses the data's own vocabulary tables first, as OMOP intends:

1. ``concept`` with the code in its vocabulary (ICD10 or ICD10CM, ATC, KVÅ, LOINC):
   a standard concept is used as it is, a classification (ATC) with its descendants,
   a non-standard one through its "Maps to" relationships;
2. the data's ``source_to_concept_map`` (where a node maps local codes such as KVÅ);
3. a small crosswalk shipped with trialnode (``data/crosswalk.json``) for data sets
   whose vocabulary lacks these systems, such as the GiBleed test data.

An ICD-10-SE code with a Swedish extension letter (``B34.1A``) that is not found falls
back to its ICD-10 parent (``B34.1``), then to the category (``B34``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from trialnode.counts.engines import Engine

SYSTEMS = {
    "icd10": ("ICD10", "ICD10CM"),
    "atc": ("ATC",),
    "kva": ("KVÅ", "KVA", "NCSP"),
    "loinc": ("LOINC",),
}
PATTERNS = {
    "icd10": re.compile(r"^[A-Z][0-9]{2}(\.?[0-9]{1,2})?[A-Z]?$"),
    "atc": re.compile(r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$"),
    "kva": re.compile(r"^([A-Z]{3}[0-9]{2}|[A-Z]{2}[0-9]{3})$"),
    "loinc": re.compile(r"^[0-9]{1,7}-[0-9]$"),
}


class CodeError(ValueError):
    pass


@dataclass
class Resolution:
    system: str
    code: str
    used_code: str = ""
    concepts: list[tuple[int, str]] = field(default_factory=list)
    descendants: bool = True
    via: str = ""

    @property
    def found(self) -> bool:
        return bool(self.concepts)


def normalise(system: str, code: str) -> str:
    if system not in SYSTEMS:
        raise CodeError(f"unknown code system {system!r}")
    value = code.strip().upper().replace(" ", "")
    if system == "icd10" and len(value) > 3 and value[3] != ".":
        value = f"{value[:3]}.{value[3:]}"
    if system == "kva":
        value = value.replace("Å", "A")
    if not PATTERNS[system].match(value):
        raise CodeError(f"{code!r} is not a valid {system.upper()} code")
    return value.rstrip(".")


def fallbacks(system: str, code: str) -> list[str]:
    """The code, then for ICD-10-SE its parent without the extension letter, then its
    category."""
    candidates = [code]
    if system == "icd10":
        if code[-1].isalpha() and len(code) > 3:
            candidates.append(code[:-1].rstrip("."))
        if "." in code:
            candidates.append(code.split(".")[0])
    seen: list[str] = []
    for candidate in candidates:
        if candidate not in seen:
            seen.append(candidate)
    return seen


@cache
def crosswalk() -> dict[str, dict[str, list[int]]]:
    data = json.loads((Path(__file__).parent / "data" / "crosswalk.json").read_text())
    return {system: data.get(system, {}) for system in SYSTEMS}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _names(engine: Engine, ids: list[int]) -> list[tuple[int, str]]:
    if not ids:
        return []
    listed = ", ".join(str(int(i)) for i in sorted(set(ids)))
    rows = engine.run(
        f"SELECT concept_id, concept_name FROM concept WHERE concept_id IN ({listed}) "
        "ORDER BY concept_id",
        timeout=30,
    )
    return [(int(row[0]), str(row[1])) for row in rows]


def _lookup(engine: Engine, system: str, code: str) -> Resolution | None:
    vocabularies = ", ".join(_quote(v) for v in SYSTEMS[system])
    codes = [code, code.replace(".", "")] if system == "icd10" else [code]
    listed = ", ".join(_quote(c) for c in codes)
    rows = engine.run(
        "SELECT concept_id, concept_name, standard_concept FROM concept "
        f"WHERE vocabulary_id IN ({vocabularies}) AND concept_code IN ({listed})",
        timeout=30,
    )
    if rows:
        standard = [(int(r[0]), str(r[1])) for r in rows if r[2] in ("S", "C")]
        if standard:
            return Resolution(system, code, code, standard, True, "vocabulary")
        ids = ", ".join(str(int(r[0])) for r in rows)
        mapped = engine.run(
            "SELECT DISTINCT c.concept_id, c.concept_name FROM concept_relationship cr "
            "JOIN concept c ON c.concept_id = cr.concept_id_2 "
            f"WHERE cr.concept_id_1 IN ({ids}) AND cr.relationship_id = 'Maps to' "
            "AND cr.invalid_reason IS NULL ORDER BY c.concept_id",
            timeout=30,
        )
        if mapped:
            return Resolution(
                system, code, code, [(int(r[0]), str(r[1])) for r in mapped], True, "mapping"
            )
    if "source_to_concept_map" in engine.tables():
        vocabularies = ", ".join(_quote(v) for v in (*SYSTEMS[system], system.upper()))
        mapped = engine.run(
            "SELECT DISTINCT target_concept_id FROM source_to_concept_map "
            f"WHERE source_vocabulary_id IN ({vocabularies}) AND source_code IN ({listed}) "
            "AND target_concept_id <> 0",
            timeout=30,
        )
        if mapped:
            concepts = _names(engine, [int(r[0]) for r in mapped])
            return Resolution(system, code, code, concepts, True, "source_to_concept_map")
    crossed = crosswalk()[system].get(code)
    if crossed:
        return Resolution(system, code, code, _names(engine, crossed), True, "crosswalk")
    return None


def resolve(engine: Engine, system: str, code: str) -> Resolution:
    """The standard concepts of a code; ``found`` is false when nothing matched."""
    normalised = normalise(system, code)
    for candidate in fallbacks(system, normalised):
        found = _lookup(engine, system, candidate)
        if found is not None and found.concepts:
            found.code = normalised
            return found
    return Resolution(system, normalised)
