"""A lay word finds the studies of its disease group, in Swedish and English, from the codes
of local registrations and the subject headings of registry records."""

from __future__ import annotations

import orjson
import pytest

from trialnode.interop.ctgov import import_records
from trialnode.studies.concepts import ConceptSources, condition_areas, disease_groups
from trialnode.studies.filters import StudySearch
from trialnode.studies.models import Study


def _found(text: str, **params) -> set[int]:
    search = StudySearch.from_params({"q": text, **params})
    return set(search.filtered(Study.objects.published()).values_list("pk", flat=True))


@pytest.fixture
def registry(reference_data, sample_data):
    import_records(orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes()))


@pytest.mark.parametrize("word", ["cancer", "tumör", "tumour", "Cancer", "cancersjukdom"])
def test_a_leukaemia_study_from_the_registry_is_found_by_cancer(registry, word):
    leukaemia = Study.objects.get(nct_id="NCT01949129")
    myeloma = Study.objects.get(nct_id="NCT05827016")
    assert {leukaemia.pk, myeloma.pk} <= _found(word)


def test_every_study_placed_among_neoplasms_is_found_by_cancer(registry, make_study):
    local = make_study(title_sv="Strålning vid bröstkörtel", icd10=("C50.9",))
    neoplasms = set(
        Study.objects.published().filter(condition_areas__chapter="II").values_list("pk", flat=True)
    )
    assert local.pk in neoplasms
    assert neoplasms <= _found("cancer")
    assert _found("cancer") <= neoplasms | _found("cancer", condition_area="II")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("I50.9", ["hjärtsjukdom", "hjärtsjukdomar", "heart disease", "hjärt- och kärlsjukdom"]),
        ("E11.9", ["diabetes", "sockersjuka"]),
        ("F32.1", ["psykisk ohälsa", "mental health", "psykiatri"]),
        ("J45.9", ["astma", "lungsjukdom"]),
        ("G30.1", ["demens", "alzheimer"]),
    ],
)
def test_a_local_registration_is_found_by_the_everyday_words_of_its_code(make_study, code, words):
    study = make_study(title_sv="En studie utan diagnosord", icd10=(code,))
    unrelated = make_study(title_sv="En annan studie", icd10=("S72.0",))
    for word in words:
        found = _found(word)
        assert study.pk in found, word
        assert unrelated.pk not in found, word


@pytest.mark.parametrize("word", ["KOL", "kol", "copd", "COPD"])
def test_an_abbreviation_finds_what_it_stands_for(make_study, word):
    copd = make_study(title_sv="Träning vid kroniskt obstruktiv lungsjukdom")
    other_lung = make_study(title_sv="Andning vid kronisk lungsjukdom hos barn")
    found = _found(word)
    assert copd.pk in found
    assert other_lung.pk not in found  # every word of what it stands for must be there


def test_ms_finds_multiple_sclerosis_in_swedish_and_english(make_study):
    swedish = make_study(title_sv="Trötthet vid multipel skleros")
    english = make_study(title_sv="", title_en="Fatigue in multiple sclerosis")
    assert {swedish.pk, english.pk} <= _found("MS")


def test_free_text_is_sorted_by_relevance_unless_asked_otherwise(make_study):
    search = StudySearch.from_params({"q": "hjärtsvikt"})
    assert search.sort == "relevance"
    assert StudySearch.from_params({}).sort == "updated"


def test_the_headings_of_a_registry_record_give_its_condition_areas():
    breast_cancer = ConceptSources(
        mesh_terms=frozenset({"breast neoplasms", "neoplasms", "breast diseases", "skin diseases"})
    )
    assert condition_areas(breast_cancer) == {"II"}
    stroke = ConceptSources(
        mesh_terms=frozenset(
            {
                "stroke",
                "cerebrovascular disorders",
                "nervous system diseases",
                "vascular diseases",
                "cardiovascular diseases",
            }
        )
    )
    assert condition_areas(stroke) == {"VI", "IX"}
    ctis = ConceptSources(mesh_tree=frozenset({"C10"}))
    assert condition_areas(ctis) == {"VI"}
    coded = ConceptSources(icd10_codes=("C91.0",), mesh_terms=frozenset({"skin diseases"}))
    assert condition_areas(coded) == {"II", "XII"}


def test_every_icd10_chapter_with_a_group_has_everyday_words_in_both_languages():
    for group in disease_groups():
        assert len(group.terms) >= 2, group.key
        assert group.icd10 or group.mesh, group.key
