"""The public search finds the same studies, in the same order and with the same facet
counts, whether it reads the narrow public search rows or the studies themselves; and
the rows follow every change that decides what the public sees."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trialnode.organisations.models import CareProvider, Region
from trialnode.studies.filters import StudySearch
from trialnode.studies.models import (
    PublicSearchRow,
    RegistrationState,
    Study,
    StudyCondition,
    StudySite,
)
from trialnode.studies.searchrows import rebuild_search_rows
from trialnode.studies.synthetic import synthetic_studies_create

pytestmark = pytest.mark.postgresql  # the rows exist on PostgreSQL only

SEARCHES = [
    {},
    {"q": "diabetes"},
    {"q": "diabets"},
    {"q": "hjärtsvikt", "region": "uppsala"},
    {"q": "cancer", "recruiting": "true", "sort": "title"},
    {"q": "heart failure", "phase": "PHASE3,PHASE2", "age_group": "adults"},
    {"region": "stockholm,skane", "sponsor_type": "INDUSTRY", "sort": "start"},
    {"condition_area": "IX", "sex": "FEMALE", "sort": "updated"},
    {"care_provider": "sus", "healthy_volunteers": "true"},
    {"status": "COMPLETED,RECRUITING", "study_type": "OBSERVATIONAL", "page": "2"},
    {"q": "studie", "age_group": "children,older", "recruiting": "false"},
    {"q": "metformin astma"},
    {"q": "kol ms"},
    # One filter: its own facet counts every row, the others the rows meeting it.
    {"recruiting": "true"},
    {"region": "uppsala,stockholm", "sort": "title"},
    {"condition_area": "IX"},
    # Text and several filters: only the rows failing at most one filter are read.
    {"q": "studie", "region": "uppsala", "recruiting": "true", "study_type": "INTERVENTIONAL"},
    {
        "q": "diabetes",
        "region": "stockholm,skane",
        "sponsor_type": "INDUSTRY,ACADEMIC",
        "phase": "PHASE3,PHASE2,NA",
        "sex": "FEMALE",
    },
]


def _outcome(result):
    facets = {
        name: [(f.value, f.count, f.selected) for f in values]
        for name, values in result.facets.items()
    }
    return result.count, [s.pk for s in result.studies], facets


def assert_same_results():
    for params in SEARCHES:
        search = StudySearch.from_params(params)
        with_rows = search.run_public(page_size=10)
        without = search.run(Study.objects.published(), page_size=10)
        assert _outcome(with_rows) == _outcome(without), params
        # Without facets only the rows meeting every filter are read.
        assert _outcome(search.run_public(page_size=10, with_facets=False)) == _outcome(
            search.run(Study.objects.published(), page_size=10, with_facets=False)
        ), params


@pytest.fixture
def studies(make_study):
    synthetic_studies_create(160, seed=7)
    make_study(title_sv="Opublicerad hjärtsviktsstudie", registration_state="submitted")
    make_study(title_sv="Hjärtsvikt utan sökdokument", icd10=("I50.9",), providers=("sus",))


def _values(instance) -> list[tuple[str, object, type]]:
    return [
        (f.attname, getattr(instance, f.attname), type(getattr(instance, f.attname)))
        for f in instance._meta.concrete_fields
    ]


def test_a_facet_counts_a_value_from_rows_meeting_every_filter_and_from_those_failing_it(
    make_study,
):
    """A study in Stockholm and Skåne meets the filter Stockholm; one only in Skåne fails
    it: with text, both count for Skåne in the region facet, as without the filter."""
    make_study(title_sv="Cancerstudie ett", regions=("stockholm", "skane"), sex="ALL")
    make_study(title_sv="Cancerstudie två", regions=("skane",), sex="FEMALE")
    make_study(title_sv="Cancerstudie tre", regions=("ostergotland", "skane"), sex="MALE")
    for params, facet, value, expected in (
        ({"q": "cancerstudie", "region": "stockholm"}, "region", "skane", 3),
        ({"q": "cancerstudie", "sex": "FEMALE"}, "sex", "MALE", 2),
    ):
        search = StudySearch.from_params(params)
        with_rows = search.run_public(page_size=10)
        assert {f.value: f.count for f in with_rows.facets[facet]}[value] == expected, params
        assert _outcome(with_rows) == _outcome(
            search.run(Study.objects.published(), page_size=10)
        ), params


def test_the_pages_studies_are_those_the_orm_loads_with_their_sites_and_regions(studies):
    """The page's studies come with the counts, their sites and regions as JSON: every
    field must arrive with the value and the type the ORM gives it."""
    for params in SEARCHES:
        page = StudySearch.from_params(params).run_public(page_size=10).listed
        loaded = Study.objects.prefetch_related("sites__region").in_bulk([s.pk for s, _ in page])
        for study, sites in page:
            expected = loaded[study.pk]
            assert _values(study) == _values(expected), params
            with CaptureQueriesContext(connection) as queries:
                regions = [site.region for site in sites]
            assert not queries.captured_queries  # read with the page
            assert [_values(site) for site in sites] == [
                _values(site) for site in expected.sites.all()
            ]
            assert [_values(region) for region in regions] == [
                _values(site.region) for site in expected.sites.all()
            ]


def test_searches_give_the_same_results_with_and_without_the_rows(studies):
    assert_same_results()


def test_the_rows_follow_publication_sites_conditions_and_same_study_marks(studies):
    submitted = Study.objects.get(title_sv="Opublicerad hjärtsviktsstudie")
    submitted.registration_state = RegistrationState.PUBLISHED
    submitted.save()
    assert_same_results()

    first, second = Study.objects.published().order_by("pk")[:2]
    second.duplicate_of = first
    second.save()
    assert_same_results()
    first.registration_state = RegistrationState.RETURNED
    first.save()  # its twin is shown on its own again
    assert_same_results()

    site = StudySite.objects.filter(study__in=Study.objects.published()).first()
    site.region = Region.objects.get(slug="norrbotten")
    site.save()
    StudyCondition.objects.create(study=site.study, icd10_code="I21.9", text="Hjärtinfarkt")
    assert_same_results()

    first.delete()
    assert_same_results()


def test_rebuilding_gives_the_rows_the_changes_kept_in_step(studies):
    before = [_outcome(StudySearch.from_params(p).run_public(page_size=10)) for p in SEARCHES]
    rebuild_search_rows()
    after = [_outcome(StudySearch.from_params(p).run_public(page_size=10)) for p in SEARCHES]
    assert before == after


def _planned_rows(table: str) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_of_studies_leaves_the_planner_statistics_up_to_date(monkeypatch):
    from trialnode.core import copyinsert
    from trialnode.organisations.services import reference_data_load

    if not Region.objects.exists():
        reference_data_load()
    monkeypatch.setattr(copyinsert, "ANALYZE_AFTER_ROWS", 25)
    synthetic_studies_create(20, seed=3)  # below the threshold: left to autovacuum
    assert _planned_rows("studies_study") != 20
    synthetic_studies_create(30, seed=4)
    assert _planned_rows("studies_study") == Study.objects.count() == 50
    assert _planned_rows("studies_publicsearchrow") == PublicSearchRow.objects.count() > 0


def _rows() -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT study_id, tsv::text, updated_at, start_date, title_sort, "
            "ARRAY(SELECT unnest(tags) ORDER BY 1) FROM studies_publicsearchrow ORDER BY 1"
        )
        return cursor.fetchall()


def test_new_studies_get_the_rows_a_rebuild_gives_them(make_study):
    """``add_search_rows`` decides from the rows in hand which new studies are shown: the
    same as ``Study.objects.published()``, for every state a new record can be in."""
    from django.db import connection

    from trialnode.studies.searchrows import add_search_rows

    shown = make_study(title_sv="Visad hjärtsviktsstudie", icd10=("I50.9",))
    made = [
        shown,
        make_study(title_sv="Inskickad", registration_state=RegistrationState.SUBMITTED),
        make_study(title_sv="Utan svensk ort", conducted_in_sweden=False),
        make_study(title_sv="Samma studie", duplicate_of=shown),
        make_study(title_sv="Utkast", registration_state=RegistrationState.DRAFT),
    ]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM studies_publicsearchrow")
    add_search_rows(made)
    added = _rows()
    rebuild_search_rows()
    assert added == _rows()
    assert [row[0] for row in added] == [shown.pk]


def test_a_filter_value_no_study_has_yet_gives_what_the_studies_give(studies):
    """A new care provider has no tag yet: its filter is an empty list of numbers."""
    CareProvider.objects.create(
        slug="ny-vardgivare",
        name="Ny vårdgivare",
        kind=CareProvider.Kind.choices[0][0],
        region=Region.objects.get(slug="uppsala"),
    )
    new = "ny-vardgivare"
    for params in (
        {"care_provider": new},
        {"care_provider": new, "recruiting": "true"},
        {"q": "studie", "care_provider": new},
        {"q": "studie", "care_provider": new, "recruiting": "true", "region": "uppsala"},
    ):
        search = StudySearch.from_params(params)
        for with_facets in (True, False):
            with_rows = search.run_public(page_size=10, with_facets=with_facets)
            without = search.run(Study.objects.published(), page_size=10, with_facets=with_facets)
            assert _outcome(with_rows) == _outcome(without), params
            assert with_rows.count == 0
        # The studies meeting the other filters still count in the care provider facet.
        assert search.run_public(page_size=10).facets["care_provider"], params


def _prepared_searches() -> dict[str, tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, statement, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%%studies_publicsearchrow%%'"
        )
        return {name: (statement, generic, custom) for name, statement, generic, custom in cursor}


def test_a_search_with_text_is_planned_once_per_connection(studies):
    """The search with text is a prepared statement with one generic plan, reused for
    other words and filters; a search without text is planned for its own values."""
    before = _prepared_searches()
    for params in SEARCHES:
        StudySearch.from_params(params).run_public(page_size=10)
    after = _prepared_searches()
    runs = {
        name: (statement, generic - before.get(name, ("", 0, 0))[1], custom)
        for name, (statement, generic, custom) in after.items()
    }
    used = {name: run for name, run in runs.items() if run[1]}
    with_text = [p for p in SEARCHES if p.get("q")]
    assert used, "no search was prepared"
    assert all("tsv @@" in statement for statement, _generic, _custom in used.values())
    assert sum(generic for _statement, generic, _custom in used.values()) == len(with_text)
    assert all(custom == 0 for _statement, _generic, custom in used.values())
    # Fewer statements than searches: the shapes are shared between words and filters.
    assert len(used) < len(with_text)


def test_deferred_refreshes_rewrite_each_row_once_when_the_block_ends(studies):
    from django.db import transaction

    from trialnode.studies.searchrows import refreshes_deferred

    study = Study.objects.published().first()
    before = _rows()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        with refreshes_deferred():
            study.title_sv = "Ändrad titel om astma"
            study.save()
            StudySite.objects.filter(study=study).first().delete()
            # Not yet rewritten: the row still says what it said.
            assert _rows() == before
        rewritten = _rows()
    deletes = [q for q in queries if q["sql"].startswith("DELETE FROM studies_publicsearchrow")]
    assert len(deletes) == 1
    rebuild_search_rows()
    assert rewritten == _rows() != before

    # A block that fails rewrites nothing (its transaction is rolled back).
    with pytest.raises(RuntimeError), transaction.atomic(), refreshes_deferred():
        study.title_sv = "Aldrig sparad"
        study.save()
        raise RuntimeError("the batch fails")
    assert _rows() == rewritten


def _tag_counts() -> tuple[dict[int, int], dict[int, int]]:
    """The counts the database keeps, and the counts of the rows themselves."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tag, SUM(delta) FROM studies_searchtagdelta GROUP BY tag HAVING SUM(delta) <> 0"
        )
        kept = {tag: int(n) for tag, n in cursor.fetchall()}
        cursor.execute(
            "SELECT t, COUNT(*) FROM (SELECT unnest(tags || 0) AS t "
            "FROM studies_publicsearchrow) u GROUP BY t"
        )
        counted = dict(cursor.fetchall())
    return kept, counted


def test_a_flush_empties_the_tag_counts_with_the_rows(transactional_db, make_study):
    """The demo starts again with ``flush``, which runs without triggers: a search without
    text must then count the new studies only, not those of the runs before."""
    from django.core.management import call_command

    make_study(title_sv="Före tömningen")
    call_command("flush", interactive=False, verbosity=0)
    call_command("load_reference_data", verbosity=0)
    make_study(title_sv="Efter tömningen")
    result = StudySearch.from_params({}).run_public(page_size=10)
    assert result.count == 1 == Study.objects.published().count()
    assert sum(f.count for f in result.facets["status"]) == 1


def test_the_tag_counts_follow_every_change_of_the_rows(studies):
    from trialnode.studies.searchrows import compact_tag_counts

    kept, counted = _tag_counts()
    assert kept == counted and counted[0] == PublicSearchRow.objects.count() > 100

    study = Study.objects.published().first()
    study.status = "COMPLETED" if study.status == "RECRUITING" else "RECRUITING"
    study.save()  # its row rewritten: deleted and inserted
    StudySite.objects.filter(study=Study.objects.published().last()).delete()
    Study.objects.published().order_by("pk")[2].delete()  # its row goes with it (cascade)
    synthetic_studies_create(5, seed=11)  # rows of new studies, in bulk
    kept, counted = _tag_counts()
    assert kept == counted

    compact_tag_counts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT tag) FROM studies_searchtagdelta")
        rows, tags = cursor.fetchone()
    assert rows == tags == len(counted)
    assert _tag_counts()[0] == counted

    rebuild_search_rows()  # the table emptied and filled again
    kept, counted = _tag_counts()
    assert kept == counted


def test_a_rows_tags_are_sorted_so_that_each_facets_tags_are_one_run(studies):
    """The facet counts read a facet's tags of a row as one slice (``facet_tags``)."""
    from trialnode.studies.searchrows import FACET_CODES, TAG_BLOCK, facet_tags

    study = Study.objects.published().first()
    StudyCondition.objects.create(study=study, icd10_code="C50.9", text="Bröstcancer")
    synthetic_studies_create(5, seed=12)  # rows of new studies, in bulk
    slices = ", ".join(facet_tags(str(code)) for code in FACET_CODES.values())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tags, {slices} FROM studies_publicsearchrow")
        rows = cursor.fetchall()
    assert len(rows) == PublicSearchRow.objects.count() > 100
    for tags, *runs in rows:
        assert tags == sorted(tags)
        assert runs == [
            [tag for tag in tags if tag // TAG_BLOCK == code] for code in FACET_CODES.values()
        ]
        assert sum(map(len, runs)) == len(tags)
