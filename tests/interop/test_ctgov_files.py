"""ClinicalTrials.gov files in every layout, streamed; re-import is a no-op; bad input."""

import io
import json
import zipfile

import pytest

from tests.interop import in_sweden
from trialnode.audit.models import AuditEvent
from trialnode.interop.files import import_ctgov_paths
from trialnode.interop.upsert import ImportSummary
from trialnode.studies.models import Study


@pytest.fixture
def sweden(sample_data):
    return json.loads((sample_data / "ctgov" / "sweden.json").read_text())


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_an_array_ndjson_an_api_page_and_a_zip_all_import(
    reference_data, sweden, sample_data, tmp_path
):
    array = _write(tmp_path / "array.json", json.dumps(sweden[:4]))
    ndjson = _write(tmp_path / "studies.ndjson", "\n".join(json.dumps(r) for r in sweden[4:8]))
    single = _write(tmp_path / "one.json", json.dumps(sweden[8], indent=2))
    bulk = tmp_path / "bulk.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        for record in sweden[9:]:
            nct = record["protocolSection"]["identificationModule"]["nctId"]
            archive.writestr(f"{nct}.json", json.dumps(record))
    summary = import_ctgov_paths([array, ndjson, single, bulk])
    assert (summary.created, summary.rejected) == (18, [])
    page = json.loads((sample_data / "ctgov" / "api-pages" / "page-1.json").read_text())
    page["studies"] = [in_sweden(record) for record in page["studies"]]
    page_summary = import_ctgov_paths([_write(tmp_path / "page.json", json.dumps(page))])
    assert page_summary.created == len(page["studies"])


def test_importing_the_same_file_again_changes_nothing(reference_data, sample_data):
    path = sample_data / "ctgov" / "sweden.json"
    import_ctgov_paths([path])
    events = AuditEvent.objects.count()
    updated_at = list(Study.objects.order_by("pk").values_list("updated_at", flat=True))
    summary = import_ctgov_paths([path])
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 18)
    assert AuditEvent.objects.count() == events
    assert list(Study.objects.order_by("pk").values_list("updated_at", flat=True)) == updated_at


def test_a_changed_record_updates_and_leaves_an_audit_event(reference_data, sweden, tmp_path):
    import_ctgov_paths([_write(tmp_path / "a.json", json.dumps(sweden[:1]))])
    sweden[0]["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"
    summary = import_ctgov_paths([_write(tmp_path / "b.json", json.dumps(sweden[:1]))])
    assert summary.updated == 1
    study = Study.objects.get()
    assert study.status == "TERMINATED"
    assert AuditEvent.objects.filter(object_id=str(study.pk), action="transition").exists()


def test_a_truncated_array_keeps_the_records_before_the_break(reference_data, sweden, tmp_path):
    text = json.dumps(sweden[:3])
    broken = _write(tmp_path / "broken.json", text[: len(text) * 2 // 3])
    summary = import_ctgov_paths([broken])
    assert summary.created >= 1
    assert summary.rejected and summary.rejected[-1][0].startswith("broken.json element")
    assert "truncated" in summary.rejected[-1][1]


def test_a_zip_with_a_member_that_is_not_json(reference_data, sweden, tmp_path):
    bulk = tmp_path / "bulk.zip"
    with zipfile.ZipFile(bulk, "w") as archive:
        archive.writestr("NCT00000001.json", json.dumps(sweden[0]))
        archive.writestr("README.txt", "not a study")
    summary = import_ctgov_paths([bulk])
    assert summary.created == 1
    [(where, reason)] = summary.rejected
    assert where == "bulk.zip:README.txt" and reason.startswith("not JSON: give the registry's")


def test_an_empty_file_is_said_to_be_empty(reference_data, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"  \n")
    assert import_ctgov_paths([empty]).rejected == [("empty.json", "the file is empty")]


def test_a_line_that_is_not_json_says_where_in_the_line(reference_data, sweden, tmp_path):
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(json.dumps(sweden[0]).encode() + b'\n{"title": "a\tb"}\n')
    [(where, reason)] = import_ctgov_paths([path]).rejected
    assert where == "mixed.ndjson line 2"
    assert reason.startswith("not JSON at character 13 (")


def test_wrong_types_and_unknown_values_are_rejected_per_record(reference_data, sweden, tmp_path):
    bad_type = json.loads(json.dumps(sweden[0]))
    bad_type["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": "many"}
    bad_enum = json.loads(json.dumps(sweden[1]))
    bad_enum["protocolSection"]["statusModule"]["overallStatus"] = "PAUSED"
    path = _write(tmp_path / "mixed.json", json.dumps([bad_type, bad_enum, sweden[2]]))
    summary = import_ctgov_paths([path])
    assert summary.created == 1
    rejected = dict(summary.rejected)
    assert sweden[0]["protocolSection"]["identificationModule"]["nctId"] in rejected
    assert "PAUSED" in rejected[sweden[1]["protocolSection"]["identificationModule"]["nctId"]]
    assert Study.objects.count() == 1


def test_ndjson_with_a_broken_line_names_the_line(reference_data, sweden, tmp_path):
    lines = [json.dumps(sweden[0]), "{not json", json.dumps(sweden[1])]
    summary = import_ctgov_paths([_write(tmp_path / "s.ndjson", "\n".join(lines))])
    assert summary.created == 2
    assert summary.rejected[0][0] == "s.ndjson line 2"


def test_a_large_array_is_read_as_a_stream(reference_data, sweden):
    from trialnode.interop.files import iter_stream_records

    payload = io.BytesIO(json.dumps(sweden * 50).encode())
    records = iter_stream_records(payload, "big.json")
    first = next(records)
    # The stream is consumed as records are asked for, not read whole up front.
    assert first["protocolSection"]["identificationModule"]["nctId"]
    assert payload.tell() < len(payload.getvalue())


def test_the_same_study_twice_in_one_file_is_imported_once_and_counted(
    reference_data, sweden, tmp_path
):
    changed = json.loads(json.dumps(sweden[0]))
    changed["protocolSection"]["identificationModule"]["acronym"] = "ANDRA"
    path = _write(tmp_path / "twice.json", json.dumps([sweden[0], sweden[1], changed]))
    summary = import_ctgov_paths([path])
    assert (summary.created, summary.updated, summary.rejected) == (2, 1, [])
    nct = sweden[0]["protocolSection"]["identificationModule"]["nctId"]
    assert Study.objects.get(nct_id=nct).acronym == "ANDRA"


def test_records_are_written_in_batches_with_their_audit_events(reference_data, sweden, tmp_path):
    from trialnode.audit.trail import verify

    summary = import_ctgov_paths([_write(tmp_path / "all.json", json.dumps(sweden))])
    assert summary.created == 18
    study = Study.objects.get(nct_id="NCT01949129")
    assert study.sites.count() == 4 and study.status_history.count() == 1
    assert AuditEvent.objects.filter(object_type="studies.study", action="create").count() == 18
    assert verify().intact


def test_a_lone_object_larger_than_any_record_is_refused_without_being_read(
    reference_data, sweden, tmp_path, monkeypatch
):
    from trialnode.interop import files

    monkeypatch.setattr(files, "MAX_RECORD_BYTES", 5_000)
    lone = _write(tmp_path / "huge.json", json.dumps({**sweden[0], "padding": "x" * 10_000}))
    summary = import_ctgov_paths([lone])
    assert summary.created == 0
    ((where, reason),) = summary.rejected
    assert where == "huge.json" and "larger than any registry record" in reason
    # An API page of the same size is a stream of small records and imports.
    page = _write(tmp_path / "page.json", json.dumps({"studies": sweden[:3]}))
    assert import_ctgov_paths([page]).created == 3


def test_an_overlong_ndjson_line_is_rejected_and_the_next_lines_import(
    reference_data, sweden, tmp_path, monkeypatch
):
    from trialnode.interop import files

    monkeypatch.setattr(files, "MAX_RECORD_BYTES", 60_000)
    small = [r for r in sweden if len(json.dumps(r)) < 60_000][:2]
    lines = [json.dumps(small[0]), json.dumps({"padding": "x" * 200_000}), json.dumps(small[1])]
    summary = import_ctgov_paths([_write(tmp_path / "s.ndjson", "\n".join(lines))])
    assert summary.created == 2
    assert summary.rejected == [("s.ndjson line 2", "line longer than any registry record")]


def test_progress_reports_the_share_of_input_read_up_to_all_of_it(reference_data, sweden, tmp_path):
    from trialnode.cli import ProgressBar

    path = _write(tmp_path / "s.ndjson", "\n".join(json.dumps(r) for r in sweden))
    reports = []
    import_ctgov_paths(
        [path], progress=lambda summary, fraction: reports.append((summary.seen, fraction))
    )
    fractions = [fraction for _seen, fraction in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert reports[-1][0] == 18

    screen = io.StringIO()
    bar = ProgressBar(screen, width=10)
    bar(ImportSummary(created=9, outside_sweden=3), 0.5)
    bar.close()
    assert screen.getvalue() == (
        "\r[#####-----]  50%  12 read: 9 new, 0 updated, 0 unchanged, 3 outside Sweden, "
        "0 rejected\n"
    )
