"""An import writes each batch with one advance of the audit chain, and every row it
creates still has its own creation event, the same one a single save would leave."""

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trialnode.audit import trail
from trialnode.audit.models import AuditEvent
from trialnode.interop.ctgov import import_records
from trialnode.studies.concepts import refresh_condition_areas
from trialnode.studies.models import (
    ConditionArea,
    StatusSpan,
    Study,
    StudyCondition,
    StudySite,
    StudyStatusChange,
)
from trialnode.studies.spans import refresh_spans


@pytest.fixture
def imported(reference_data, sample_data):
    records = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    return import_records(records)


def test_every_row_of_an_import_has_its_creation_event_and_the_chain_holds(imported):
    assert imported.created > 10
    for model in (Study, StudySite, StudyCondition, StudyStatusChange):
        rows = {str(pk) for pk in model.objects.values_list("pk", flat=True)}
        created = set(
            AuditEvent.objects.filter(
                object_type=model._meta.label_lower, action=AuditEvent.Action.CREATE
            ).values_list("object_id", flat=True)
        )
        assert rows and rows == created, model.__name__
    assert trail.verify().intact


def test_a_batch_creation_event_says_what_a_single_creation_event_says(imported):
    for instance in (Study.objects.first(), StudySite.objects.first()):
        batch = trail.created_entries([instance])[0]
        single = trail._created_entry(instance)
        assert (batch.action, batch.object_type, batch.object_id) == (
            single.action,
            single.object_type,
            single.object_id,
        )
        ours, theirs = orjson.loads(batch.payload), orjson.loads(single.payload)
        ours["occurred_at"] = theirs["occurred_at"]
        assert ours == theirs


def test_the_periods_and_areas_of_imported_studies_are_those_recomputed_from_the_database(
    imported,
):
    def periods() -> list[tuple]:
        return sorted(
            StatusSpan.objects.values_list("study_id", "status", "start", "end", "first_ongoing")
        )

    def areas() -> list[tuple]:
        return sorted(ConditionArea.objects.values_list("study_id", "chapter"))

    written = periods(), areas()
    assert written[0] and written[1]
    ids = list(Study.objects.values_list("pk", flat=True))
    refresh_spans(ids)
    refresh_condition_areas(ids)
    assert (periods(), areas()) == written


def _with_locations(record: dict, nct_id: str, locations: list[dict]) -> dict:
    protocol = record["protocolSection"]
    return {
        **record,
        "protocolSection": {
            **protocol,
            "identificationModule": {**protocol["identificationModule"], "nctId": nct_id},
            "contactsLocationsModule": {
                **protocol.get("contactsLocationsModule", {}),
                "locations": locations,
            },
        },
    }


def _elsewhere(record: dict) -> dict:
    """The record with no word "Sweden" left in it."""
    return orjson.loads(orjson.dumps(record).replace(b"Sweden", b"Norway"))


def test_a_record_naming_no_place_in_sweden_is_recognised_without_parsing_it(sample_data):
    from trialnode.interop.ctgov import outside_sweden_key

    record = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())[0]
    assert outside_sweden_key(orjson.dumps(record)) is None  # names Sweden: read whole
    oslo = _with_locations(_elsewhere(record), "NCT99000001", [{"country": "Norway"}])
    raw = orjson.dumps(oslo)
    assert outside_sweden_key(raw + b"\n") == "NCT99000001"
    assert outside_sweden_key(raw[:-10]) is None  # cut off: read whole, and rejected
    assert outside_sweden_key(b'{"nctId": "NCT99000001", "x": "Sw\\u0065den"}') is None


def test_a_bulk_file_counts_records_outside_sweden_and_still_updates_stored_ones(
    reference_data, sample_data, tmp_path
):
    from trialnode.interop.files import import_ctgov_paths

    record = _elsewhere(orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())[0])
    in_sweden = _with_locations(
        record, "NCT99000001", [{"facility": "Akademiska", "city": "Uppsala", "country": "Sweden"}]
    )
    path = tmp_path / "bulk.ndjson"
    path.write_bytes(orjson.dumps(in_sweden) + b"\n")
    assert import_ctgov_paths([path]).created == 1
    moved = _with_locations(record, "NCT99000001", [{"city": "Oslo", "country": "Norway"}])
    elsewhere = _with_locations(record, "NCT99000002", [{"city": "Oslo", "country": "Norway"}])
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in (moved, elsewhere)) + b"\n")
    summary = import_ctgov_paths([path])
    assert (summary.updated, summary.outside_sweden, summary.created) == (1, 1, 0)
    assert not Study.objects.filter(nct_id="NCT99000002").exists()
    assert not Study.objects.get(nct_id="NCT99000001").sites.filter(city="Uppsala").exists()


def _changed(record: dict) -> dict:
    """The record with a new title and, when it has several, its last location dropped."""
    changed = orjson.loads(orjson.dumps(record))
    protocol = changed["protocolSection"]
    protocol["identificationModule"]["briefTitle"] += " (uppdaterad)"
    locations = protocol.get("contactsLocationsModule", {}).get("locations", [])
    sweden = [i for i, loc in enumerate(locations) if loc.get("country") == "Sweden"]
    if len(sweden) > 1:
        del locations[sweden[-1]]
    return changed


def test_a_batch_of_changed_records_updates_each_study_with_its_own_events(
    reference_data, sample_data
):
    records = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    import_records(records)
    sites_before = StudySite.objects.count()
    last_event = AuditEvent.objects.order_by("seq").last().seq
    changed = [_changed(record) for record in records]
    with CaptureQueriesContext(connection) as queries:
        summary = import_records(changed)

    assert (summary.created, summary.updated, summary.rejected) == (0, len(records), [])
    fewer_sites = sites_before - StudySite.objects.count()
    assert fewer_sites > 0
    events = AuditEvent.objects.filter(seq__gt=last_event)
    for study in Study.objects.all():
        assert study.title_en.endswith(" (uppdaterad)")
        update = events.get(object_type="studies.study", object_id=str(study.pk))
        assert orjson.loads(update.payload)["changes"]["title_en"][1] == study.title_en
    deleted = events.filter(object_type="studies.studysite", action=AuditEvent.Action.DELETE)
    assert deleted.count() == fewer_sites
    # The batch's events advance the chain once, and the chain holds.
    head_updates = [
        q for q in queries if "UPDATE audit_auditchainhead" in q["sql"].replace('"', "")
    ]
    assert len(head_updates) == 1
    assert trail.verify().intact


@pytest.mark.postgresql
def test_a_batch_of_changed_records_leaves_the_search_rows_a_rebuild_gives(
    reference_data, sample_data
):
    from tests.studies.test_public_search_rows import _rows as rows
    from trialnode.studies.searchrows import rebuild_search_rows

    records = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    import_records(records)
    with CaptureQueriesContext(connection) as queries:
        import_records([_changed(record) for record in records])
    # Each row is rewritten once, not after every save of its study, sites and conditions.
    rewrites = [q for q in queries if q["sql"].startswith("DELETE FROM studies_publicsearchrow")]
    assert len(rewrites) == 1

    written = rows()
    assert len(written) == Study.objects.published().count() > 0
    assert all("uppdaterad" in row[1] for row in written)
    rebuild_search_rows()
    assert rows() == written


def test_an_update_from_the_registry_keeps_what_the_node_decided_about_the_study(
    sample_data, settings, users
):
    """The registry's record sets the study's registry fields; its review, publication,
    owner, same-study mark and Swedish texts are the node's, and a new version of the
    record keeps them."""
    from django.utils import timezone

    from trialnode.studies.models import RegistrationState

    settings.TRIALNODE_IMPORT_REVIEW = True
    records = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())[:2]
    import_records(records)
    study, other = Study.objects.order_by("pk")
    decided = {
        "registration_state": RegistrationState.PUBLISHED,
        "published_at": timezone.now(),
        "published_by": users.coordinator,
        "owner": users.registrant,
        "return_comment": "Kontrollerad mot EPM",
        "duplicate_of": other,
        # Not in the registry's record: the node's own Swedish text for patients.
        "title_sv": "Stress och erektionsproblem",
        "summary_sv": "Studien jämför hur läkemedlet verkar hos män med och utan oro.",
    }
    for name, value in decided.items():
        setattr(study, name, value)
    study.save()
    last_event = AuditEvent.objects.order_by("seq").last().seq

    import_records([_changed(records[0])])

    study.refresh_from_db()
    assert study.title_en.endswith(" (uppdaterad)")
    assert {name: getattr(study, name) for name in decided} == decided
    change = AuditEvent.objects.get(
        seq__gt=last_event, object_type="studies.study", object_id=str(study.pk)
    )
    assert set(orjson.loads(change.payload)["changes"]) >= {"title_en", "version"}
    assert not set(orjson.loads(change.payload)["changes"]) & set(decided)


def test_a_batch_of_changed_records_leaves_the_search_documents_a_reindex_gives(
    reference_data, sample_data
):
    from trialnode.studies import search
    from trialnode.studies.models import StudySearchDocument

    records = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    import_records(records)
    import_records([_changed(record) for record in records])

    def documents() -> dict[int, tuple[str, list[str]]]:
        # The words of the body, in any order: the rows' order is not the document's.
        return {
            d.study_id: (d.title, sorted(d.body.split())) for d in StudySearchDocument.objects.all()
        }

    written = documents()
    assert len(written) == len(records)
    assert all(title.count("(uppdaterad)") == 1 for title, _words in written.values())
    search.index_studies(list(written))
    assert documents() == written


@pytest.mark.parametrize("registry_name", ["ctgov", "ctis"])
def test_each_registry_names_every_study_field_its_records_set(
    reference_data, sample_data, registry_name
):
    """An update writes only the registry's ``fields``: a field its records set but the
    list left out would never change again after the first import."""
    from tests.interop import ctis_in_sweden
    from trialnode.interop import ctgov, ctis
    from trialnode.interop.upsert import SiteMatcher

    if registry_name == "ctgov":
        registry = ctgov.CTGOV
        records = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    else:
        registry = ctis.CTIS
        records = [
            ctis_in_sweden(orjson.loads(path.read_bytes()))
            for path in sorted((sample_data / "ctis").glob("*.json"))
        ]
    names = {f.attname for f in Study._meta.concrete_fields}
    assert registry.fields <= names
    # What a study is when nothing sets it, and what the node decides.
    node = {"id", "created_at", "updated_at", "registration_state", "source_hash", "version"}
    blank = Study()
    matcher = SiteMatcher()
    set_by_records = {
        name
        for record in records
        for name in names - node
        if getattr(registry.map_record(record, matcher).study, name) != getattr(blank, name)
    }
    assert set_by_records <= registry.fields
    # Records that set none of a listed field would leave the list untested.
    assert len(set_by_records) > len(registry.fields) * 2 // 3
