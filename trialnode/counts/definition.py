"""Reading OHDSI cohort definitions (Circe JSON, as ATLAS exports them), with bounds.

A definition comes from outside (a file, a request body, a federated hub), so it is
read strictly: bounded in size, depth and count, every key checked against what the
compiler understands. An attribute the compiler does not support is refused with its
name rather than ignored, because ignoring it would silently give a wrong count.
"""

from __future__ import annotations

import json
from typing import Any

MAX_BYTES = 512 * 1024
MAX_DEPTH = 24
MAX_CRITERIA = 200
MAX_CONCEPT_SET_ITEMS = 2000
MAX_CONCEPT_SETS = 100


class DefinitionError(ValueError):
    """The definition cannot be counted; ``str(exc)`` says why, in English."""


def load_definition(raw: str | bytes) -> dict[str, Any]:
    """Parse and check a Circe JSON document; raise DefinitionError with the reason."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise DefinitionError(f"The definition is larger than {MAX_BYTES // 1024} KB.")
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DefinitionError("The definition is not UTF-8 text.") from None
    if len(raw) > MAX_BYTES:
        raise DefinitionError(f"The definition is larger than {MAX_BYTES // 1024} KB.")
    if "\x00" in raw:
        raise DefinitionError("The definition contains a NUL character.")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            f"The definition is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    return check_definition(data)


def check_definition(data: Any) -> dict[str, Any]:
    """Check the structure of an already parsed definition."""
    if not isinstance(data, dict):
        raise DefinitionError("A cohort definition is a JSON object.")
    _check_depth(data, 0)
    primary = data.get("PrimaryCriteria")
    if not isinstance(primary, dict) or not isinstance(primary.get("CriteriaList"), list):
        raise DefinitionError("The definition has no PrimaryCriteria with a CriteriaList.")
    if not primary["CriteriaList"]:
        raise DefinitionError("PrimaryCriteria.CriteriaList is empty: there is nothing to count.")
    concept_sets = data.get("ConceptSets", [])
    if not isinstance(concept_sets, list):
        raise DefinitionError("ConceptSets must be a list.")
    if len(concept_sets) > MAX_CONCEPT_SETS:
        raise DefinitionError(f"More than {MAX_CONCEPT_SETS} concept sets.")
    for index, concept_set in enumerate(concept_sets):
        if not isinstance(concept_set, dict) or not isinstance(concept_set.get("id"), int):
            raise DefinitionError(f"ConceptSets[{index}] has no integer id.")
        items = (concept_set.get("expression") or {}).get("items", [])
        if not isinstance(items, list):
            raise DefinitionError(f"ConceptSets[{index}].expression.items must be a list.")
        if len(items) > MAX_CONCEPT_SET_ITEMS:
            raise DefinitionError(
                f"ConceptSets[{index}] has more than {MAX_CONCEPT_SET_ITEMS} concepts."
            )
        for position, item in enumerate(items):
            concept = item.get("concept") if isinstance(item, dict) else None
            if not isinstance(concept, dict) or type(concept.get("CONCEPT_ID")) is not int:
                raise DefinitionError(
                    f"ConceptSets[{index}].items[{position}] has no integer CONCEPT_ID."
                )
    if _count_criteria(data) > MAX_CRITERIA:
        raise DefinitionError(f"The definition has more than {MAX_CRITERIA} criteria.")
    rules = data.get("InclusionRules", [])
    if not isinstance(rules, list):
        raise DefinitionError("InclusionRules must be a list.")
    if len(rules) > 30:
        raise DefinitionError("The definition has more than 30 inclusion rules.")
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("expression", {}), dict):
            raise DefinitionError(f"InclusionRules[{index}] must be an object with an expression.")
        name = rule.get("name", "")
        if not isinstance(name, str) or len(name) > 500:
            raise DefinitionError(f"InclusionRules[{index}].name must be text (at most 500).")
    return data


def _check_depth(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise DefinitionError(f"The definition is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)
    elif isinstance(value, str) and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise DefinitionError("The definition contains control characters in a text value.")


def _count_criteria(value: Any) -> int:
    if isinstance(value, dict):
        own = 1 if "Criteria" in value or "CodesetId" in value else 0
        return own + sum(_count_criteria(item) for item in value.values())
    if isinstance(value, list):
        return sum(_count_criteria(item) for item in value)
    return 0


def concept_ids(data: dict[str, Any]) -> set[int]:
    """Every concept id the definition names (concept sets and concept-valued attributes)."""
    found: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            concept_id = value.get("CONCEPT_ID")
            if type(concept_id) is int and concept_id != 0:
                found.add(concept_id)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return found
