"""Full-text search over studies, in Swedish and English, tolerant of typing errors.

PostgreSQL: a ``tsvector`` generated from the search document with both the
Swedish and the English configuration, a GIN index, ``ts_rank`` for relevance,
and ``pg_trgm`` over the vocabulary for typos. SQLite: an FTS5 table over
snowball-stemmed text (both languages), ``bm25`` for relevance, and rapidfuzz
over the vocabulary for typos.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from rapidfuzz import fuzz, process

from trialnode.audit.models import AuditEvent
from trialnode.core.copyinsert import analyze_after_bulk_load, copy_insert
from trialnode.studies.concepts import ConceptSources, concept_words
from trialnode.studies.models import (
    SearchTerm,
    Study,
    StudyCondition,
    StudyIntervention,
    StudySearchDocument,
    StudySite,
)
from trialnode.studies.searchrows import add_search_rows, refresh_search_rows

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
MAX_QUERY_WORDS = 12
MIN_FUZZY_LENGTH = 5
FUZZY_LIMIT = 4
FUZZY_SCORE = 85  # rapidfuzz ratio, 0–100
TRIGRAM_SIMILARITY = 0.5


@cache
def _stemmers() -> tuple[Any, Any]:
    """The Swedish and English stemmers, loaded when first needed (SQLite only): the
    stemmer package loads every language, a cost every command would pay at start-up."""
    import snowballstemmer

    return snowballstemmer.stemmer("swedish"), snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    return [w.casefold() for w in WORD_RE.findall(text)]


def stems(text: str) -> str:
    """Each word with its Swedish and English stems, for the SQLite FTS5 index."""
    out: list[str] = []
    swedish, english_stemmer = _stemmers()
    for word in words(text):
        out.append(swedish.stemWord(word))
        english = english_stemmer.stemWord(word)
        if english != out[-1]:
            out.append(english)
    return " ".join(out)


def document_texts(
    study: Study,
    *,
    conditions: Iterable[StudyCondition],
    interventions: Iterable[StudyIntervention],
    sites: Iterable[StudySite],
) -> tuple[str, str]:
    """The title and body of a study's search document, from its rows."""
    title = " ".join(filter(None, [study.title_sv, study.title_en, study.acronym]))
    identifiers = " ".join(study.identifiers().values())
    conditions = list(conditions)
    body_parts = [
        identifiers,
        study.summary_sv,
        study.summary_en,
        study.sponsor_name,
        " ".join(str(c) for c in conditions),
        # The everyday words of its disease groups: "cancer" finds a leukaemia study.
        concept_words(ConceptSources.of(study, conditions)),
        " ".join(f"{i.name} {i.atc_code}" for i in interventions),
        " ".join(f"{s.display_name} {s.city} {s.investigator}" for s in sites),
    ]
    return title, " ".join(p for p in body_parts if p)


def _stored_texts(study: Study) -> tuple[str, str]:
    return document_texts(
        study,
        conditions=study.conditions.all(),
        interventions=study.interventions.all(),
        sites=study.sites.all(),
    )


def vocabulary_of(title: str, body: str) -> set[str]:
    """The words of a search document that join the vocabulary (for spelling help)."""
    return {w for w in words(f"{title} {body}") if 3 <= len(w) <= 60}


def _documents(
    studies: Iterable[Study],
    texts: Iterable[tuple[str, str]] | None = None,
    vocabulary: set[str] | None = None,
) -> tuple[list[StudySearchDocument], set[str]]:
    """The search documents of these studies (from their ``document_texts`` when given),
    and the words of their vocabulary (unless given: those of the ``texts``)."""
    documents = []
    given = vocabulary is not None
    vocabulary = vocabulary if vocabulary is not None else set()
    # Only SQLite's FTS5 index reads the stemmed columns; PostgreSQL stems by itself.
    stemmed = connection.vendor != "postgresql"
    pairs = (
        ((study, _stored_texts(study)) for study in studies)
        if texts is None
        else zip(studies, texts, strict=True)
    )
    for study, (title, body) in pairs:
        documents.append(
            StudySearchDocument(
                study=study,
                title=title,
                body=body,
                title_stems=stems(title) if stemmed else "",
                body_stems=stems(body) if stemmed else "",
            )
        )
        if not given:
            vocabulary |= vocabulary_of(title, body)
    return documents, vocabulary


def _add_vocabulary(vocabulary: set[str]) -> None:
    terms = sorted(vocabulary)
    if connection.vendor == "postgresql":
        # What bulk_create(ignore_conflicts=True) sends, without a model instance per word.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO studies_searchterm (term) SELECT unnest(%s::varchar[]) "
                "ON CONFLICT DO NOTHING",
                [terms],
            )
    else:
        SearchTerm.objects.bulk_create(
            [SearchTerm(term=w) for w in terms], ignore_conflicts=True, batch_size=1000
        )
    _vocabulary_snapshot.cache_clear()


def index_studies(study_ids: Iterable[int]) -> None:
    """Rebuild the search documents (and vocabulary) of the given studies."""
    ids = list(study_ids)
    if not ids:
        return
    studies = Study.objects.filter(pk__in=ids).prefetch_related(
        "conditions", "interventions", "sites__care_provider", "sites__unit"
    )
    documents, vocabulary = _documents(studies)
    StudySearchDocument.objects.filter(study_id__in=ids).delete()
    StudySearchDocument.objects.bulk_create(documents, batch_size=500)
    _add_vocabulary(vocabulary)
    refresh_search_rows(ids)


def analyze_after_new_studies(added: int) -> None:
    """Planner statistics of the tables new studies fill, after a bulk load of ``added``.

    Not of the audit events: the trail is read through its indexes (an object's events,
    a stretch of the chain), whose plans its statistics do not change, and sampling it
    was half the time of this analysis (autovacuum gathers them in its time)."""
    tables = [
        model._meta.db_table
        for label in ("studies", "audit")
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy and model is not AuditEvent
    ]
    analyze_after_bulk_load(tables, added)


def index_new_studies(
    studies: list[Study], *, texts: list[tuple[str, str]], vocabulary: set[str] | None = None
) -> None:
    """Write the search documents, vocabulary and public search rows of studies created
    in the caller's transaction (``index_studies`` for rows that nothing refers to yet).

    ``texts``: each study's ``document_texts``, from the rows the caller has at hand, so
    nothing is read back; and there is nothing to delete first. ``vocabulary``: their
    words (``vocabulary_of`` each text), when the caller has them already.
    """
    if not studies:
        return
    documents, vocabulary = _documents(studies, texts, vocabulary)
    _insert_documents(documents)
    _add_vocabulary(vocabulary)
    add_search_rows(studies)


def _insert_documents(documents: list[StudySearchDocument]) -> None:
    if connection.vendor == "postgresql":
        copy_insert(documents)
    else:
        StudySearchDocument.objects.bulk_create(documents, batch_size=500)


def reindex_studies(studies: list[Study], *, texts: list[tuple[str, str]]) -> None:
    """``index_studies`` for changed studies whose rows the caller has at hand (``texts``:
    each study's ``document_texts`` from them), so that nothing is read back."""
    if not studies:
        return
    ids = [study.pk for study in studies]
    documents, vocabulary = _documents(studies, texts)
    StudySearchDocument.objects.filter(study_id__in=ids).delete()
    _insert_documents(documents)
    _add_vocabulary(vocabulary)
    refresh_search_rows(ids)


@lru_cache(maxsize=1)
def _vocabulary_snapshot() -> tuple[str, ...]:
    return tuple(SearchTerm.objects.values_list("term", flat=True))


def _similar_terms(word: str) -> list[str]:
    if len(word) < MIN_FUZZY_LENGTH:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT term FROM studies_searchterm WHERE term %% %s AND similarity(term, %s) >= %s "
                "ORDER BY similarity(term, %s) DESC LIMIT %s",
                [word, word, TRIGRAM_SIMILARITY, word, FUZZY_LIMIT],
            )
            return [row[0] for row in cursor.fetchall()]
    matches = process.extract(
        word,
        _vocabulary_snapshot(),
        scorer=fuzz.ratio,
        score_cutoff=FUZZY_SCORE,
        limit=FUZZY_LIMIT,
    )
    return [match[0] for match in matches]


def _fts5_any(tokens: list[str]) -> str:
    return "(" + " OR ".join(f'"{token}"' for token in sorted(set(tokens))) + ")"


SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.json"


@cache
def _synonyms() -> dict[str, tuple[str, ...]]:
    data = json.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))
    return {word: tuple(phrases) for word, phrases in data["synonyms"].items()}


def synonyms_of(word: str) -> tuple[str, ...]:
    """What a search word stands for when it is an abbreviation patients search by ("kol":
    "kroniskt obstruktiv lungsjukdom", "copd"), from ``data/synonyms.json``."""
    return tuple(phrase for phrase in _synonyms().get(word, ()) if phrase != word)


# The tsquery of a text's words with their spelling alternatives (see
# ``TextQuery.tsquery_sql_of``): one row, one column ``q``.
TSQUERY_SQL = """
    WITH w(word, ord) AS (SELECT * FROM unnest(%(tsquery_words)s::text[]) WITH ORDINALITY),
    spellings AS (
        SELECT ord, word AS spelling, 0 AS n FROM w
        UNION ALL
        SELECT w.ord, f.term, f.n FROM w CROSS JOIN LATERAL (
            SELECT term, row_number() OVER () AS n FROM (
                SELECT term FROM studies_searchterm
                WHERE length(w.word) >= %(tsquery_min_length)s AND term %% w.word
                  AND similarity(term, w.word) >= %(tsquery_similarity)s
                ORDER BY similarity(term, w.word) DESC LIMIT %(tsquery_limit)s
            ) close_terms
        ) f
        WHERE f.term <> w.word
    ),
    -- What an abbreviation stands for (``synonyms_of``), after the close terms.
    written_out AS (
        SELECT ord, spelling, %(tsquery_limit)s + n AS n
        FROM unnest(%(tsquery_synonym_ords)s::int[], %(tsquery_synonyms)s::text[])
            WITH ORDINALITY AS s(ord, spelling, n)
    )
    SELECT trialnode_tsquery_and(q ORDER BY ord) AS q FROM (
        SELECT ord, trialnode_tsquery_or(
            plainto_tsquery('swedish', spelling) || plainto_tsquery('english', spelling)
            ORDER BY n
        ) AS q
        FROM (SELECT * FROM spellings UNION ALL SELECT * FROM written_out) alternatives
        GROUP BY ord
    ) groups
"""


@dataclass(frozen=True)
class TextQuery:
    """A parsed free-text query: for each word, the spellings that may match it."""

    alternatives: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, text: str) -> TextQuery:
        parsed = []
        for word in words(text)[:MAX_QUERY_WORDS]:
            spellings = [
                word,
                *(t for t in _similar_terms(word) if t != word),
                *synonyms_of(word),
            ]
            parsed.append(tuple(spellings))
        return cls(tuple(parsed))

    def __bool__(self) -> bool:
        return bool(self.alternatives)

    @staticmethod
    def tsquery_sql_of(text: str) -> tuple[str, dict[str, Any]] | None:
        """A statement whose one row and column is the ``tsquery`` of ``parse(text)``
        (PostgreSQL): each word's spelling alternatives are looked up and joined in the
        database. Its parameters are named (``%(tsquery_words)s``, ...), so that it can be
        part of a larger statement. None for text without words."""
        query_words = words(text)[:MAX_QUERY_WORDS]
        if not query_words:
            return None
        written_out = [
            (position, phrase)
            for position, word in enumerate(query_words, start=1)
            for phrase in synonyms_of(word)
        ]
        return TSQUERY_SQL, {
            "tsquery_words": query_words,
            "tsquery_min_length": MIN_FUZZY_LENGTH,
            "tsquery_similarity": TRIGRAM_SIMILARITY,
            "tsquery_limit": FUZZY_LIMIT,
            "tsquery_synonym_ords": [position for position, _phrase in written_out],
            "tsquery_synonyms": [phrase for _position, phrase in written_out],
        }

    @staticmethod
    def tsquery_text_of(text: str) -> str:
        """The ``tsquery_text`` of ``parse(text)`` in one statement (PostgreSQL)."""
        statement = TextQuery.tsquery_sql_of(text)
        if statement is None:
            return ""
        sql, params = statement
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT q::text FROM ({sql}) query", params)
            return cursor.fetchone()[0] or ""

    def _fts5_expression(self) -> str:
        """Each word matches any stem of its spellings; a spelling of several words (what
        an abbreviation stands for) matches when each of its words does."""
        groups = []
        for spellings in self.alternatives:
            single = [spelling for spelling in spellings if len(words(spelling)) == 1]
            parts = [
                f'"{token}"' for token in sorted({t for w in single for t in stems(w).split()})
            ]
            for spelling in spellings:
                if len(words(spelling)) > 1:
                    parts.append(
                        "("
                        + " AND ".join(_fts5_any(stems(word).split()) for word in words(spelling))
                        + ")"
                    )
            groups.append("(" + " OR ".join(parts) + ")")
        return " AND ".join(groups)

    def _tsquery_sql(self) -> tuple[str, list[str]]:
        groups, params = [], []
        for spellings in self.alternatives:
            parts = []
            for spelling in spellings:
                parts.append("plainto_tsquery('swedish', %s) || plainto_tsquery('english', %s)")
                params.extend([spelling, spelling])
            groups.append("(" + " || ".join(parts) + ")")
        return " && ".join(groups), params

    def tsquery_text(self) -> str:
        """The whole query as one ``tsquery`` literal (PostgreSQL), computed once so that
        a statement compares each row with a constant."""
        tsquery, params = self._tsquery_sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT ({tsquery})::text", params)
            return cursor.fetchone()[0]

    def filter(self, queryset: QuerySet[Study]) -> QuerySet[Study]:
        if connection.vendor == "postgresql":
            tsquery, params = self._tsquery_sql()
            matching = RawSQL(
                f"SELECT study_id FROM studies_studysearchdocument WHERE tsv @@ ({tsquery})",
                params,
            )
        else:
            matching = RawSQL(
                "SELECT rowid FROM studies_study_fts WHERE studies_study_fts MATCH %s",
                [self._fts5_expression()],
            )
        return queryset.filter(pk__in=matching)

    def rank(self) -> RawSQL:
        """Relevance of each study to this query (higher is better)."""
        if connection.vendor == "postgresql":
            tsquery, params = self._tsquery_sql()
            return RawSQL(
                "(SELECT ts_rank(d.tsv, " + tsquery + ") FROM studies_studysearchdocument d "
                "WHERE d.study_id = studies_study.id)",
                params,
            )
        return RawSQL(
            "(SELECT -bm25(studies_study_fts, 4.0, 1.0) FROM studies_study_fts "
            "WHERE studies_study_fts MATCH %s AND rowid = studies_study.id)",
            [self._fts5_expression()],
        )
