"""Free text in Swedish and English, typos, and each filter by the rows it returns."""

import pytest

from trialnode.studies.filters import FilterError, StudySearch
from trialnode.studies.models import RegistrationState, Study


def _search(**params):
    result = StudySearch.from_params(params).run(Study.objects.published(), page_size=50)
    return result


def _titles(**params):
    return {s.title for s in _search(**params).studies}


@pytest.fixture
def corpus(make_study):
    make_study(
        title_sv="Träning vid hjärtsvikten",
        title_en="Exercise in heart failure",
        icd10=("I50.9",),
        regions=("uppsala",),
        phase="",
        study_type="INTERVENTIONAL",
        sponsor_type="ACADEMIC",
        min_age_years=18,
        max_age_years=None,
    )
    make_study(
        title_sv="Insulin vid diabetes hos barn",
        title_en="Insulin for diabetes in children",
        icd10=("E10.9",),
        regions=("orebro", "uppsala"),
        phase="PHASE3",
        sponsor_type="INDUSTRY",
        status="ACTIVE_NOT_RECRUITING",
        min_age_years=6,
        max_age_years=17,
    )
    make_study(
        title_sv="Registerstudie om bröstcancer",
        title_en="Registry study of breast cancer",
        icd10=("C50.9",),
        regions=("skane",),
        study_type="OBSERVATIONAL",
        sponsor_type="ACADEMIC",
        sex="FEMALE",
        min_age_years=40,
        max_age_years=None,
        status="COMPLETED",
        healthy_volunteers=True,
        providers=("sus",),
    )
    make_study(
        title_sv="Opublicerad hjärtsviktsstudie",
        icd10=("I50.9",),
        registration_state=RegistrationState.SUBMITTED,
    )


def test_swedish_stemming_finds_other_forms_of_the_word(corpus):
    assert _titles(q="hjärtsvikt") == {"Träning vid hjärtsvikten"}


def test_english_words_find_studies_too(corpus):
    assert _titles(q="heart failure") == {"Träning vid hjärtsvikten"}
    assert _titles(q="children") == {"Insulin vid diabetes hos barn"}


def test_a_typing_error_still_finds_the_study(corpus):
    assert _titles(q="diabets") == {"Insulin vid diabetes hos barn"}
    assert _titles(q="bröstcanser") == {"Registerstudie om bröstcancer"}


def test_all_words_must_match(corpus):
    assert _titles(q="insulin barn") == {"Insulin vid diabetes hos barn"}
    assert _titles(q="insulin bröstcancer") == set()


def test_unpublished_studies_are_never_found(corpus):
    assert "Opublicerad hjärtsviktsstudie" not in _titles(q="hjärtsviktsstudie")


def test_punctuation_alone_is_no_search_at_all(corpus):
    assert _titles(q='" * ( -- ; )') == _titles()


def test_query_syntax_of_the_database_is_searched_as_plain_words(corpus):
    assert _titles(q='hjärtsvikt" OR NEAR(*') <= {"Träning vid hjärtsvikten"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"region": "orebro"}, {"Insulin vid diabetes hos barn"}),
        (
            {"region": "uppsala,skane"},
            {
                "Träning vid hjärtsvikten",
                "Insulin vid diabetes hos barn",
                "Registerstudie om bröstcancer",
            },
        ),
        ({"care_provider": "sus"}, {"Registerstudie om bröstcancer"}),
        ({"status": "COMPLETED"}, {"Registerstudie om bröstcancer"}),
        ({"recruiting": "true"}, {"Träning vid hjärtsvikten"}),
        (
            {"recruiting": "false"},
            {"Insulin vid diabetes hos barn", "Registerstudie om bröstcancer"},
        ),
        ({"study_type": "OBSERVATIONAL"}, {"Registerstudie om bröstcancer"}),
        ({"phase": "PHASE3"}, {"Insulin vid diabetes hos barn"}),
        ({"sponsor_type": "INDUSTRY"}, {"Insulin vid diabetes hos barn"}),
        ({"condition_area": "IX"}, {"Träning vid hjärtsvikten"}),
        ({"condition_area": "II"}, {"Registerstudie om bröstcancer"}),
        ({"age_group": "children"}, {"Insulin vid diabetes hos barn"}),
        ({"age_group": "older"}, {"Träning vid hjärtsvikten", "Registerstudie om bröstcancer"}),
        ({"age_group": "adults"}, {"Träning vid hjärtsvikten", "Registerstudie om bröstcancer"}),
        ({"sex": "MALE"}, {"Träning vid hjärtsvikten", "Insulin vid diabetes hos barn"}),
        ({"healthy_volunteers": "true"}, {"Registerstudie om bröstcancer"}),
        (
            {"region": "uppsala", "phase": "PHASE3", "q": "diabetes"},
            {"Insulin vid diabetes hos barn"},
        ),
    ],
)
def test_each_filter_returns_its_rows(corpus, params, expected):
    assert _titles(**params) == expected


def test_facets_count_each_value_with_the_other_filters_applied(corpus):
    result = _search(region="uppsala")
    regions = {f.value: f.count for f in result.facets["region"]}
    # The region facet ignores its own filter so other regions stay choosable.
    assert regions == {"uppsala": 2, "orebro": 1, "skane": 1}
    statuses = {f.value: f.count for f in result.facets["status"]}
    assert statuses == {"RECRUITING": 1, "ACTIVE_NOT_RECRUITING": 1}
    areas = {f.value: f.count for f in result.facets["condition_area"]}
    assert areas == {"IX": 1, "IV": 1}
    assert [f.value for f in result.facets["region"] if f.selected] == ["uppsala"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "FINISHED"}, "status"),
        ({"region": "atlantis"}, "region"),
        ({"recruiting": "maybe"}, "recruiting"),
        ({"age_group": "babies"}, "age_group"),
        ({"sort": "random"}, "sort"),
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"q": "x" * 201}, "q"),
        ({"sex": "FEMALE,MALE"}, "sex"),
    ],
)
def test_unknown_filter_values_are_errors_naming_the_parameter(reference_data, params, field):
    with pytest.raises(FilterError) as error:
        StudySearch.from_params(params)
    assert field in error.value.errors


def test_filter_values_are_case_insensitive(corpus):
    assert _titles(status="completed") == {"Registerstudie om bröstcancer"}


def test_results_are_paged(make_study):
    for number in range(25):
        make_study(title_sv=f"Studie {number:02d}")
    first = StudySearch.from_params({"sort": "title"}).run(Study.objects.all(), page_size=20)
    second = StudySearch.from_params({"sort": "title", "page": "2"}).run(
        Study.objects.all(), page_size=20
    )
    assert first.count == 25 and first.page_count == 2
    assert [s.title for s in first.studies][:2] == ["Studie 00", "Studie 01"]
    assert [s.title for s in second.studies] == [f"Studie {n}" for n in range(20, 25)]


def test_relevance_puts_title_matches_first(make_study):
    make_study(title_sv="Studie om träning", summary_sv="Deltagare med astma tränar.")
    make_study(title_sv="Astma hos vuxna")
    result = _search(q="astma")
    assert [s.title for s in result.studies] == ["Astma hos vuxna", "Studie om träning"]


def test_a_shareable_url_carries_the_whole_search(reference_data):
    search = StudySearch.from_params({"q": "hjärta", "region": "uppsala,orebro", "sort": "title"})
    assert search.query_items(page=2) == [
        ("q", "hjärta"),
        ("region", "uppsala"),
        ("region", "orebro"),
        ("sort", "title"),
        ("page", "2"),
    ]
