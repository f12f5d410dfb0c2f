"""Search results as CSV or XLSX: the same filters as the search page and the API."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from django.db.models import QuerySet

from trialnode.studies.models import Study, region_names

COLUMNS = [
    ("reference", "reference"),
    ("title_sv", "title_sv"),
    ("title_en", "title_en"),
    ("acronym", "acronym"),
    ("status", "status"),
    ("study_type", "study_type"),
    ("phase", "phase"),
    ("sponsor_name", "sponsor"),
    ("sponsor_type", "sponsor_type"),
    ("nct_id", "nct_id"),
    ("eu_ct_number", "eu_ct_number"),
    ("eudract_number", "eudract_number"),
    ("epm_dnr", "epm_dnr"),
    ("isrctn", "isrctn"),
    ("start_date", "start_date"),
    ("planned_enrolment", "planned_enrolment"),
    ("regions", "regions"),
    ("conditions", "conditions"),
    ("source", "source"),
]
MAX_ROWS = 200_000


def _rows(queryset: QuerySet[Study]) -> Iterator[list[object]]:
    studies = queryset.prefetch_related("sites__region", "conditions")
    for study in studies.iterator(chunk_size=1000):
        values: list[object] = []
        for attribute, _header in COLUMNS:
            if attribute == "regions":
                values.append("; ".join(region_names(study.sites.all())))
            elif attribute == "conditions":
                values.append("; ".join(str(c) for c in study.conditions.all()))
            else:
                value = getattr(study, attribute)
                values.append("" if value is None else value)
        yield values


HEADER = [header for _attribute, header in COLUMNS]


def study_rows(queryset: QuerySet[Study]) -> Iterator[list[object]]:
    """One row per study under ``HEADER``, for the safe spreadsheet writer."""
    return _rows(queryset[:MAX_ROWS])


def ctgov_json_lines(queryset: QuerySet[Study]) -> Iterator[bytes]:
    """A JSON array of ClinicalTrials.gov-shaped records, written as it is read."""
    from trialnode.interop.ctgov_export import ctgov_record

    studies = queryset[:MAX_ROWS].prefetch_related(
        "conditions", "interventions", "contacts", "sites__care_provider"
    )
    yield b"["
    for number, study in enumerate(studies.iterator(chunk_size=500)):
        yield (b"," if number else b"") + orjson.dumps(ctgov_record(study))
    yield b"]"
