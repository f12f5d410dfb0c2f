"""Disease groups: the everyday words that find a study, and the condition areas it counts in.

A leukaemia study in ClinicalTrials.gov never says "cancer", but its record places
the condition under the MeSH descriptor *Neoplasms*; a local registration coded C91.0
lies in ICD-10 chapter II. Both belong to the group "cancer", whose everyday words
(cancer, tumör, tumour…) are added to the study's search document, so a patient's lay
word finds it. The groups that are ICD-10 chapters are the study's condition areas,
which the statistics count and the search filters by (``ConditionArea``).

The groups live in ``data/disease_groups.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from django.db import transaction

from trialnode.studies.models import ConditionArea, Study, StudyCondition

GROUPS_FILE = Path(__file__).resolve().parent / "data" / "disease_groups.json"
MESH_TREE_RE = re.compile(r"\[([A-Z]\d{2})\]")
SYMPTOMS_CHAPTER = "XVIII"
NEOPLASMS_CHAPTER = "II"


@dataclass(frozen=True)
class DiseaseGroup:
    key: str
    chapter: str
    icd10: tuple[tuple[str, str], ...]
    mesh: frozenset[str]
    mesh_tree: frozenset[str]
    terms: tuple[str, ...]

    def has_code(self, code: str) -> bool:
        head = code[:3].upper()
        return any(first <= head <= last for first, last in self.icd10)


@cache
def disease_groups() -> tuple[DiseaseGroup, ...]:
    data = json.loads(GROUPS_FILE.read_text(encoding="utf-8"))
    return tuple(
        DiseaseGroup(
            key=group["key"],
            chapter=group.get("chapter", ""),
            icd10=tuple((first, last) for first, last in group.get("icd10", [])),
            mesh=frozenset(term.casefold() for term in group.get("mesh", [])),
            mesh_tree=frozenset(group.get("mesh_tree", [])),
            terms=tuple(group["terms"]),
        )
        for group in data["groups"]
    )


def mesh_lines(text: str) -> frozenset[str]:
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class ConceptSources:
    """What places a study in disease groups."""

    icd10_codes: tuple[str, ...] = ()
    mesh_terms: frozenset[str] = frozenset()
    mesh_tree: frozenset[str] = frozenset()

    @classmethod
    def of(cls, study: Study, conditions: Iterable[StudyCondition]) -> ConceptSources:
        return cls(
            icd10_codes=tuple(c.icd10_code for c in conditions if c.icd10_code),
            mesh_terms=mesh_lines(study.mesh_terms),
            mesh_tree=frozenset(MESH_TREE_RE.findall(study.therapeutic_area)),
        )


def groups_of(sources: ConceptSources) -> list[DiseaseGroup]:
    return [
        group
        for group in disease_groups()
        if any(group.has_code(code) for code in sources.icd10_codes)
        or group.mesh & sources.mesh_terms
        or group.mesh_tree & sources.mesh_tree
    ]


# Many studies share their sources (a code, the same headings): each is placed once.
@lru_cache(maxsize=4096)
def _condition_areas(sources: ConceptSources) -> frozenset[str]:
    return frozenset(_placed_areas(sources))


def condition_areas(sources: ConceptSources) -> set[str]:
    """The ICD-10 chapters a study counts in (see ``_placed_areas``)."""
    return set(_condition_areas(sources))


def _placed_areas(sources: ConceptSources) -> set[str]:
    """The ICD-10 chapters a study counts in.

    Coded conditions give their chapters as they are. From the registry's subject
    headings, a neoplasm counts as a neoplasm only (MeSH also files breast cancer under
    skin diseases, ICD-10 does not), and "symptoms and findings" only when nothing more
    specific is known.
    """
    coded = {group.chapter for group in groups_of(ConceptSources(icd10_codes=sources.icd10_codes))}
    headed = {
        group.chapter
        for group in groups_of(
            ConceptSources(mesh_terms=sources.mesh_terms, mesh_tree=sources.mesh_tree)
        )
    }
    coded.discard("")
    headed.discard("")
    if NEOPLASMS_CHAPTER in headed:
        headed = {NEOPLASMS_CHAPTER}
    if len(headed) > 1:
        headed.discard(SYMPTOMS_CHAPTER)
    return coded | headed


@lru_cache(maxsize=4096)
def concept_words(sources: ConceptSources) -> str:
    """The everyday words of the study's disease groups, for its search document."""
    return " ".join(term for group in groups_of(sources) for term in group.terms)


def refresh_condition_areas(study_ids: Iterable[int]) -> None:
    """Recompute the condition areas of these studies (in the caller's transaction)."""
    ids = sorted(set(study_ids))
    for offset in range(0, len(ids), 2000):
        chunk = ids[offset : offset + 2000]
        codes: dict[int, list[StudyCondition]] = {}
        for condition in StudyCondition.objects.filter(study_id__in=chunk).exclude(icd10_code=""):
            codes.setdefault(condition.study_id, []).append(condition)
        rows = [
            ConditionArea(study_id=study.pk, chapter=chapter)
            for study in Study.objects.filter(pk__in=chunk).only(
                "id", "mesh_terms", "therapeutic_area"
            )
            for chapter in sorted(
                condition_areas(ConceptSources.of(study, codes.get(study.pk, [])))
            )
        ]
        with transaction.atomic():
            ConditionArea.objects.filter(study_id__in=chunk).delete()
            ConditionArea.objects.bulk_create(rows, batch_size=2000)


def condition_areas_of_new(
    studies: Iterable[tuple[Study, list[StudyCondition]]],
) -> list[ConditionArea]:
    """The unsaved condition areas of studies just created, from their conditions at hand
    (the same rows ``refresh_condition_areas`` computes, without reading anything back)."""
    chapters: dict[ConceptSources, list[str]] = {}
    rows: list[ConditionArea] = []
    for study, conditions in studies:
        sources = ConceptSources.of(study, conditions)
        if sources not in chapters:
            chapters[sources] = sorted(condition_areas(sources))
        rows.extend(ConditionArea(study_id=study.pk, chapter=c) for c in chapters[sources])
    return rows


def rebuild_all_condition_areas() -> int:
    refresh_condition_areas(Study.objects.values_list("pk", flat=True))
    return ConditionArea.objects.count()
