"""A long import reads and maps its records in a second process while it writes: what
it writes and counts is what one process alone writes and counts, a record whose batch
fails is still written alone, and a failure in the mapping process stops the import."""

from __future__ import annotations

import copy
import json
import multiprocessing
import threading
import time
from dataclasses import replace
from functools import partial
from typing import Any

import orjson
import pytest
from django.db import connection, transaction

from trialnode.audit import trail
from trialnode.audit.models import AuditEvent
from trialnode.interop import ctgov, mapping, upsert
from trialnode.interop.files import import_ctgov_paths
from trialnode.interop.upsert import Unreadable
from trialnode.studies.models import PublicSearchRow, Study, StudySearchDocument

BATCH = 5


@pytest.fixture
def mapping_runs(monkeypatch) -> list[Any]:
    """The mapping processes started (allowed here: the browser tests' live server may run
    a thread in this process, which the import would otherwise not fork beside)."""
    runs: list[Any] = []
    started = mapping.mapped_elsewhere

    def counted(*args: Any, **kwargs: Any):
        runs.append(args)
        return started(*args, **kwargs)

    monkeypatch.setattr(mapping, "_no_other_thread", lambda: True)
    monkeypatch.setattr(mapping, "mapped_elsewhere", counted)
    return runs


def _copies(sample_data, count: int) -> list[dict[str, Any]]:
    """``count`` records in Sweden: the sample's, again and again with new numbers."""
    sweden = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    records = []
    for number in range(count):
        record = copy.deepcopy(sweden[number % len(sweden)])
        identification = record["protocolSection"]["identificationModule"]
        identification["nctId"] = f"NCT{90000000 + number:08d}"
        identification["briefTitle"] = f"{identification.get('briefTitle', '')} ({number})"
        records.append(record)
    return records


def _mixed(sample_data) -> list[dict[str, Any]]:
    """Records in Sweden, with one outside it, one the mapping rejects and one unreadable
    among them, after the first batches (those are mapped before the process starts)."""
    records = _copies(sample_data, 30)
    outside = copy.deepcopy(records[3])
    outside["protocolSection"]["identificationModule"]["nctId"] = "NCT08999999"
    outside["protocolSection"]["contactsLocationsModule"]["locations"] = [
        {"facility": "Rigshospitalet", "city": "Copenhagen", "country": "Denmark"}
    ]
    bad = copy.deepcopy(records[4])
    bad["protocolSection"]["identificationModule"]["nctId"] = "NCT08999998"
    bad["protocolSection"]["statusModule"]["overallStatus"] = "SOMETIMES"
    unreadable = Unreadable(where="studies.ndjson line 27", error="not JSON")
    return [*records[:20], outside, bad, unreadable, *records[20:]]


def _written() -> dict[str, Any]:
    """What the studies hold, by registry number, without keys and times."""
    skipped = {"id", "created_at", "updated_at", "submitted_at"}
    fields = [f.attname for f in Study._meta.concrete_fields if f.attname not in skipped]
    held = {}
    for study in Study.objects.prefetch_related("sites", "conditions", "interventions"):
        held[study.nct_id] = {
            "study": {name: getattr(study, name) for name in fields},
            "sites": sorted(
                (s.facility_name, s.city, s.region_id or 0, s.care_provider_id or 0)
                for s in study.sites.all()
            ),
            "conditions": sorted(c.text for c in study.conditions.all()),
            "interventions": sorted(i.name for i in study.interventions.all()),
            "statuses": list(study.status_history.values_list("status", "effective_date")),
        }
    for document in StudySearchDocument.objects.select_related("study"):
        held[document.study.nct_id]["document"] = (document.title, document.body)
    if connection.vendor == "postgresql":  # the public search rows (SQLite searches FTS5)
        for nct_id in PublicSearchRow.objects.values_list("study__nct_id", flat=True):
            held[nct_id]["public"] = True
    return held


def _counts(summary: upsert.ImportSummary) -> tuple:
    return (
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.outside_sweden,
        summary.unplaced_sites,
        sorted(summary.rejected),
    )


def test_the_mapping_process_writes_and_counts_what_one_process_does(
    reference_data, sample_data, mapping_runs
):
    records = _mixed(sample_data)
    with transaction.atomic():
        alone = ctgov.import_records(records, batch_size=BATCH, mapping_process_after=None)
        written = _written()
        transaction.set_rollback(True)
    assert not Study.objects.exists()

    both = ctgov.import_records(records, batch_size=BATCH, mapping_process_after=2 * BATCH)

    assert len(mapping_runs) == 1
    assert _counts(both) == _counts(alone)
    assert (both.created, both.outside_sweden, len(both.rejected)) == (30, 1, 2)
    assert "NCT08999998" in dict(both.rejected)
    assert _written() == written
    assert trail.verify().intact


def test_importing_the_same_records_again_through_the_mapping_process_changes_nothing(
    reference_data, sample_data, mapping_runs
):
    records = _copies(sample_data, 25)
    ctgov.import_records(records, batch_size=BATCH, mapping_process_after=BATCH)
    events = AuditEvent.objects.count()

    again = ctgov.import_records(records, batch_size=BATCH, mapping_process_after=BATCH)

    assert len(mapping_runs) == 2
    assert (again.created, again.updated, again.unchanged) == (0, 0, 25)
    assert AuditEvent.objects.count() == events


def test_a_record_mapped_in_the_process_is_written_alone_when_its_batch_fails(
    reference_data, sample_data, mapping_runs
):
    records = _copies(sample_data, 15)
    # A second, different version of a number in the same batch: the batch cannot be
    # written as one, so each of its records is written alone, in order.
    later = copy.deepcopy(records[11])
    later["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"
    records.insert(12, later)

    summary = ctgov.import_records(records, batch_size=BATCH, mapping_process_after=BATCH)

    assert mapping_runs
    assert (summary.created, summary.updated, summary.rejected) == (15, 1, [])
    number = records[11]["protocolSection"]["identificationModule"]["nctId"]
    assert Study.objects.get(nct_id=number).status == "TERMINATED"
    assert trail.verify().intact


def test_an_error_reading_the_input_in_the_process_stops_the_import_as_it_would_alone(
    reference_data, sample_data, mapping_runs
):
    records = _copies(sample_data, 20)

    def read_until_the_disk_fails():
        yield from records[:12]
        raise OSError("the disk was removed")

    for after in (None, BATCH):
        with transaction.atomic():
            with pytest.raises(OSError, match="the disk was removed"):
                ctgov.import_records(
                    read_until_the_disk_fails(), batch_size=BATCH, mapping_process_after=after
                )
            # The batches read in full before the failure are written, the rest not.
            assert Study.objects.count() == 10
            transaction.set_rollback(True)
    assert len(mapping_runs) == 1


def test_the_mapping_process_cannot_use_the_database_and_this_process_still_can(
    reference_data, sample_data, mapping_runs, monkeypatch
):
    def map_with_a_query(record, matcher):
        Study.objects.count()
        return ctgov.map_record(record, matcher)

    monkeypatch.setattr(ctgov, "CTGOV", replace(ctgov.CTGOV, map_record=map_with_a_query))

    with pytest.raises(RuntimeError, match="does not use the database"):
        ctgov.import_records(
            _copies(sample_data, 20), batch_size=BATCH, mapping_process_after=BATCH
        )
    assert mapping_runs
    # The first batch, mapped here, was written; the connection the child inherited is
    # still this process's own.
    assert Study.objects.count() == BATCH


def test_progress_through_the_mapping_process_reaches_the_whole_file(
    reference_data, sample_data, mapping_runs, monkeypatch, tmp_path
):
    path = tmp_path / "studies.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in _copies(sample_data, 40)))
    monkeypatch.setattr(
        ctgov,
        "import_records",
        partial(ctgov.import_records, batch_size=BATCH, mapping_process_after=BATCH),
    )
    reports: list[tuple[int, float]] = []

    summary = import_ctgov_paths(
        [path], progress=lambda counted, fraction: reports.append((counted.seen, fraction))
    )

    assert mapping_runs and summary.created == 40
    fractions = [fraction for _seen, fraction in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert 0 < fractions[len(fractions) // 2] < 1
    assert reports[-1][0] == 40


def test_a_failure_while_writing_ends_the_mapping_process(
    reference_data, sample_data, mapping_runs
):
    def give_up(summary, fraction):
        if summary.seen > 2 * BATCH:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ctgov.import_records(
            _copies(sample_data, 40),
            batch_size=BATCH,
            mapping_process_after=BATCH,
            progress=give_up,
        )
    assert mapping_runs
    assert multiprocessing.active_children() == []
    assert [t.name for t in threading.enumerate() if t.name.startswith("trialnode-")] == []


def test_the_inbox_holds_the_messages_in_order_up_to_its_limit_and_then_none():
    receiver, sender = multiprocessing.Pipe(duplex=False)
    inbox = mapping._Inbox(limit=10)
    reader = threading.Thread(target=inbox.fill_from, args=(receiver,))
    reader.start()
    for message in (b"123456", b"7890", b"abc"):
        sender.send_bytes(message)
    sender.close()

    for _wait in range(1000):
        if inbox.size == 10:
            break
        time.sleep(0.01)
    time.sleep(0.2)  # time enough for the reader to take the third, were there room
    assert list(inbox.messages) == [b"123456", b"7890"]

    got = [inbox.get(), inbox.get(), inbox.get(), inbox.get()]
    assert got == [b"123456", b"7890", b"abc", None]
    reader.join(timeout=10)
    assert not reader.is_alive()


def test_closing_the_inbox_frees_a_reader_waiting_for_room():
    receiver, sender = multiprocessing.Pipe(duplex=False)
    inbox = mapping._Inbox(limit=4)
    reader = threading.Thread(target=inbox.fill_from, args=(receiver,))
    reader.start()
    sender.send_bytes(b"full")
    sender.send_bytes(b"more")  # no room: the reader waits

    inbox.close()
    reader.join(timeout=10)
    assert not reader.is_alive()
    sender.close()
    receiver.close()
