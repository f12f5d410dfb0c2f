"""The public search's narrow rows (``PublicSearchRow``), kept in step with the studies.

A row exists for every study that ``Study.objects.published()`` shows, and for no other.
Besides the text vector and the sort keys, a row carries its *tags*: one for every filter
value the study meets (``status:RECRUITING``, ``region:uppsala``, ``age_group:adults``,
...), so that every filter is one array overlap and all facets are counted in one pass
over the matching rows (see ``StudySearch.run_public``). The rows hold the tags as numbers
from the dictionary ``studies_searchtag``; a number's millions are its filter's code
(``FACET_CODES``), so the facet of a tag needs no look-up. A row's tags are sorted by
number, so the tags of one facet are one run of them, found by binary search
(``facet_tags``).

``refresh_search_rows`` rewrites the rows of some studies (and of the records marked as
the same study as them, whose visibility follows theirs); it is called after every save
of a study, its sites and its conditions (``studies.signals``) and at the end of every
re-index (``search.index_studies``). Studies created in bulk (imports, the benchmark
generator) get theirs from ``add_search_rows`` (``search.index_new_studies``). Every
rewrite also advances the *data version* (``data_version``), which the caches of the
search page are keyed by. The database itself keeps how many rows carry each tag
(``TAG_COUNTS``, migration 0013), so a search without text and with at most one filter
does not count over every row. PostgreSQL only: on SQLite the search reads the studies
themselves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction
from django.db.models import Q

from trialnode.studies.models import RegistrationState, Study

VERSION_SEQUENCE = "studies_search_data_version"

# The stable code of each filter in the tag numbers: never change or reuse one (the rows
# and the dictionary hold them); a new filter takes the next free code.
FACET_CODES = {
    "status": 1,
    "study_type": 2,
    "phase": 3,
    "sponsor_type": 4,
    "recruiting": 5,
    "healthy_volunteers": 6,
    "sex": 7,
    "age_group": 8,
    "region": 9,
    "care_provider": 10,
    "condition_area": 11,
}
TAG_BLOCK = 1_000_000
TOTAL_TAG = 0  # counted for every row meeting every filter
FACET_CODE_SQL = (
    "CASE split_part(t, ':', 1) "
    + " ".join(f"WHEN '{name}' THEN {code}" for name, code in FACET_CODES.items())
    + " END"
)

# The filters' conditions on a study, as tags. The tests comparing the search with and
# without the rows (tests/studies/test_public_search_rows.py) hold these to the filters'
# own definitions in studies.filters.
TAGS = """
array_remove(ARRAY[
    'status:' || s.status,
    'study_type:' || s.study_type,
    'phase:' || s.phase,
    'sponsor_type:' || s.sponsor_type,
    CASE WHEN s.status = 'RECRUITING' THEN 'recruiting:true' ELSE 'recruiting:false' END,
    CASE WHEN s.healthy_volunteers THEN 'healthy_volunteers:true' END,
    CASE WHEN s.sex IN ('ALL', 'FEMALE') THEN 'sex:FEMALE' END,
    CASE WHEN s.sex IN ('ALL', 'MALE') THEN 'sex:MALE' END,
    CASE WHEN s.min_age_years IS NULL OR s.min_age_years < 18 THEN 'age_group:children' END,
    CASE WHEN (s.min_age_years IS NULL OR s.min_age_years <= 64)
              AND (s.max_age_years IS NULL OR s.max_age_years >= 18)
         THEN 'age_group:adults' END,
    CASE WHEN s.max_age_years IS NULL OR s.max_age_years >= 65 THEN 'age_group:older' END
]::text[], NULL)
|| ARRAY(SELECT DISTINCT 'region:' || r.slug FROM studies_studysite x
         JOIN organisations_region r ON r.id = x.region_id WHERE x.study_id = s.id)
|| ARRAY(SELECT DISTINCT 'care_provider:' || p.slug FROM studies_studysite x
         JOIN organisations_careprovider p ON p.id = x.care_provider_id
         WHERE x.study_id = s.id)
|| ARRAY(SELECT DISTINCT 'condition_area:' || c.chapter FROM studies_studycondition c
         WHERE c.study_id = s.id AND c.chapter <> '')
"""
# New tags first get their numbers (a statement of its own, so that the rows' statement
# sees the numbers a concurrent transaction gave).
TAGS_NUMBER = f"""
INSERT INTO studies_searchtag (id, tag)
SELECT ({FACET_CODE_SQL}) * {TAG_BLOCK} + nextval('studies_searchtag_number'), t
FROM (SELECT DISTINCT t FROM studies_study s, unnest({TAGS}) t WHERE s.id IN ({{shown}})) new
WHERE NOT EXISTS (SELECT 1 FROM studies_searchtag k WHERE k.tag = new.t)
ON CONFLICT (tag) DO NOTHING
"""
ROW_SELECT = f"""
INSERT INTO studies_publicsearchrow (study_id, tsv, updated_at, start_date, title_sort, tags)
SELECT s.id, d.tsv, s.updated_at, s.start_date,
       LOWER(COALESCE(NULLIF(s.title_sv, ''), s.title_en)),
       ARRAY(SELECT k.id FROM unnest({TAGS}) t JOIN studies_searchtag k ON k.tag = t
             ORDER BY k.id)
FROM studies_study s
LEFT JOIN studies_studysearchdocument d ON d.study_id = s.id
WHERE s.id IN ({{shown}})
"""


def facet_tags(code: str) -> str:
    """SQL: the tags of a row (``tags``) of the facet whose code is the SQL expression
    ``code``. ``width_bucket`` counts by binary search the sorted tags below a number;
    a facet's tags are the ones from its block's first number to the next block's."""
    return (
        f"tags[width_bucket({code} * {TAG_BLOCK} - 1, tags) + 1"
        f" : width_bucket(({code} + 1) * {TAG_BLOCK} - 1, tags)]"
    )


def maintained() -> bool:
    return connection.vendor == "postgresql"


def tag(name: str, value: str) -> str:
    return f"{name}:{value}"


# The numbers of tags, as committed: a tag's number never changes once committed.
_tag_numbers: dict[str, int] = {}


def tag_numbers(tags: Iterable[str]) -> list[int]:
    """The numbers of these tags (none for a tag no row has had)."""
    wanted = list(tags)
    # Inside a transaction a number may yet be rolled back: read, and keep nothing.
    keep = not connection.in_atomic_block
    known = {t: _tag_numbers[t] for t in wanted if keep and t in _tag_numbers}
    missing = [t for t in wanted if t not in known]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tag, id FROM studies_searchtag WHERE tag = ANY(%s)", [missing])
            found = dict(cursor.fetchall())
        if keep:
            _tag_numbers.update(found)
        known.update(found)
    return [known[t] for t in wanted if t in known]


def data_version() -> int:
    """A number that changes after every change of what the public search shows
    (PostgreSQL; 0 on SQLite)."""
    if not maintained():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {VERSION_SEQUENCE}")
        return int(cursor.fetchone()[0])


# How long a server process trusts the data version it last read, in seconds: the
# longest a page kept by one process can be served after a change made by another.
# Changes made by the process itself count at once.
VERSION_MAX_AGE = 0.2
_version_read: tuple[int, float] | None = None


def recent_data_version() -> int:
    """``data_version`` as read at most ``VERSION_MAX_AGE`` seconds ago by this process
    (and always afresh inside a transaction)."""
    global _version_read
    read = _version_read
    now = time.monotonic()
    if read is not None and now - read[1] < VERSION_MAX_AGE and not connection.in_atomic_block:
        return read[0]
    version = data_version()
    _version_read = (version, now)
    return version


def advance_data_version() -> None:
    """Mark what the public search shows as changed, now and again once the transaction
    commits: a cache filled between the two (from data not yet committed) is never read
    after the commit."""
    if not maintained():
        return

    def advance() -> None:
        global _version_read
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nextval('{VERSION_SEQUENCE}')")
        _version_read = None

    advance()
    transaction.on_commit(advance)


def _rows_written() -> None:
    """After a statement that wrote rows: the data version advances, and once committed
    the changes of the tag counts are summed up (``compact_tag_counts``)."""
    advance_data_version()
    transaction.on_commit(compact_tag_counts)


# Each tag's count over all rows (``TOTAL_TAG``: the rows), from the changes the database
# records with every statement that writes rows (migration 0013).
TAG_COUNTS = """
SELECT tag AS t, SUM(delta)::bigint AS n FROM studies_searchtagdelta
WHERE {where} GROUP BY tag HAVING SUM(delta) <> 0
"""


def compact_tag_counts() -> None:
    """Sum the recorded changes of each tag's count into one row (after a commit, so that
    the rows it replaces are locked only for this statement). A concurrent writer's
    changes, not yet committed, are left for the next time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH gone AS (DELETE FROM studies_searchtagdelta RETURNING tag, delta) "
            "INSERT INTO studies_searchtagdelta (tag, delta) "
            "SELECT tag, SUM(delta) FROM gone GROUP BY tag HAVING SUM(delta) <> 0"
        )


# The studies whose rows wait to be rewritten at the end of a ``refreshes_deferred``
# block; None outside one.
_deferred: ContextVar[set[int] | None] = ContextVar("search_rows_deferred", default=None)


@contextmanager
def refreshes_deferred() -> Iterator[None]:
    """Inside the block, ``refresh_search_rows`` only notes the studies; their rows are
    rewritten together, once, when the block ends without an error (an error leaves the
    caller's transaction to be rolled back). An import that updates hundreds of studies
    saves each study, site and condition, and each save asks for a rewrite of its
    study's row. In an outer block, an inner one leaves the rewrite to the outer's end."""
    if _deferred.get() is not None:
        yield
        return
    noted: set[int] = set()
    token = _deferred.set(noted)
    try:
        yield
    finally:
        _deferred.reset(token)
    refresh_search_rows(noted)


def refresh_search_rows(study_ids: Iterable[int]) -> None:
    """Rewrite the rows of these studies and of the records that are the same study (at
    the end of the ``refreshes_deferred`` block the caller is in, if any)."""
    ids = list({int(i) for i in study_ids if i is not None})
    if not ids or not maintained():
        return
    noted = _deferred.get()
    if noted is not None:
        noted.update(ids)
        return
    affected = Q(pk__in=ids) | Q(duplicate_of_id__in=ids)
    shown_sql, shown_params = (
        Study.objects.published().filter(affected).order_by().values("pk").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # One list of ids, not "= ANY(…) OR IN (…)": with the OR PostgreSQL reads the
        # whole table (0.8 s at 500,000 rows) instead of the rows' index (0.4 ms).
        cursor.execute(
            "DELETE FROM studies_publicsearchrow WHERE study_id IN "
            "(SELECT unnest(%s::bigint[]) "
            "UNION SELECT id FROM studies_study WHERE duplicate_of_id = ANY(%s))",
            [ids, ids],
        )
        cursor.execute(TAGS_NUMBER.format(shown=shown_sql), shown_params)
        cursor.execute(ROW_SELECT.format(shown=shown_sql), shown_params)
    _rows_written()


def add_search_rows(studies: list[Study]) -> None:
    """Write the rows of studies created in the caller's transaction, with their sites,
    conditions and search documents.

    No row exists for them yet and no other record can be marked as the same study as
    them, so a new study is shown when it is published and conducted in Sweden, unless it
    is itself marked as the same study as another (those go through
    ``refresh_search_rows``). The rows are the ones ``refresh_search_rows`` writes, chosen
    without its search for the records that follow them (whose plan reads every published
    study for each new one while the table's statistics lag behind a bulk load).
    """
    if not studies or not maintained():
        return
    marked = [study.pk for study in studies if study.duplicate_of_id is not None]
    shown = [
        study.pk
        for study in studies
        if study.duplicate_of_id is None
        and study.conducted_in_sweden
        and study.registration_state == RegistrationState.PUBLISHED
    ]
    if shown:
        with connection.cursor() as cursor:
            new = "SELECT unnest(%s::bigint[])"
            cursor.execute(TAGS_NUMBER.format(shown=new), [shown])
            cursor.execute(ROW_SELECT.format(shown=new), [shown])
        _rows_written()
    refresh_search_rows(marked)


def rebuild_search_rows() -> int:
    """Recompute every row from the studies; the number of rows."""
    if not maintained():
        return 0
    shown_sql, shown_params = (
        Study.objects.published().order_by().values("pk").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE studies_publicsearchrow")
        cursor.execute(TAGS_NUMBER.format(shown=shown_sql), shown_params)
        cursor.execute(ROW_SELECT.format(shown=shown_sql), shown_params)
        count = cursor.rowcount
        cursor.execute("ANALYZE studies_publicsearchrow")
    _rows_written()
    return count


def _organisations_changed(sender, **kwargs) -> None:
    # Region and care provider names label the facets; their slugs are tags.
    advance_data_version()


def _database_reset(sender, using: str = "default", **kwargs) -> None:
    # ``flush`` empties the tables without saving anything, then sends post_migrate (so
    # does ``migrate``, possibly before the sequence exists).
    if not maintained():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s), to_regclass('studies_searchtagdelta')", [VERSION_SEQUENCE]
        )
        sequence, tag_counts = cursor.fetchone()
        if tag_counts is not None:
            # ``flush`` runs without triggers (see audit's ``flush``): the rows go with
            # their studies, and the tag counts the rows' triggers keep must go too, or
            # the next rows would be counted on top of the old ones.
            cursor.execute(
                "DELETE FROM studies_searchtagdelta "
                "WHERE NOT EXISTS (SELECT 1 FROM studies_publicsearchrow)"
            )
    if sequence is not None:
        advance_data_version()


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_migrate, post_save

    from trialnode.organisations.models import CareProvider, Region

    for model in (Region, CareProvider):
        post_save.connect(_organisations_changed, sender=model, dispatch_uid=f"search-{model}")
        post_delete.connect(
            _organisations_changed, sender=model, dispatch_uid=f"search-del-{model}"
        )
    post_migrate.connect(_database_reset, dispatch_uid="search-data-version-reset")


connect_signals()
