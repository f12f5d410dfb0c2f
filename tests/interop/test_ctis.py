"""CTIS trials in both published structures and the CSV download: mapping, upsert, bad input."""

import json

import pytest

from tests.interop import ctis_in_sweden, minimal_ctgov_record
from trialnode.audit.models import AuditEvent
from trialnode.interop import ctis
from trialnode.interop.ctgov import import_records as import_ctgov_records
from trialnode.interop.files import import_ctis_paths
from trialnode.studies.models import Phase, Sex, Source, SponsorType, Status, Study


@pytest.fixture
def ctis_files(sample_data, tmp_path):
    """The real trials, each with Sweden added to its member states concerned."""
    paths = []
    for path in sorted((sample_data / "ctis").glob("*.json")):
        copy = tmp_path / path.name
        copy.write_text(json.dumps(ctis_in_sweden(json.loads(path.read_text()))))
        paths.append(copy)
    return paths


def _record(sample_data, number):
    return ctis_in_sweden(json.loads((sample_data / "ctis" / f"{number}.json").read_text()))


def test_trials_not_conducted_in_sweden_are_skipped_not_rejected(reference_data, sample_data):
    summary = import_ctis_paths(sorted((sample_data / "ctis").glob("*.json")))
    assert (summary.created, summary.outside_sweden, summary.rejected) == (0, 4, [])
    assert not Study.objects.exists()


def test_the_real_trials_of_both_structures_import_with_their_fields(reference_data, ctis_files):
    summary = import_ctis_paths(ctis_files)
    assert (summary.created, summary.rejected) == (4, [])

    before_2024 = Study.objects.get(eu_ct_number="2023-508143-51-01")
    assert before_2024.source == Source.CTIS
    assert before_2024.title_en.startswith("Pulmonary function and sleep related disorders")
    assert before_2024.status == Status.NOT_YET_RECRUITING  # "Authorised, not started"
    assert before_2024.sponsor_name == "Roessingh Centrum Voor Revalidatie"
    assert before_2024.sponsor_type == SponsorType.ACADEMIC
    assert before_2024.phase == Phase.PHASE4
    assert before_2024.member_states == "Netherlands, Sweden"
    assert before_2024.therapeutic_area == "Diseases [C] - Nervous System Diseases [C10]"
    assert before_2024.eudract_number == "2021-004994-30"
    assert before_2024.planned_enrolment == 11
    assert (before_2024.min_age_years, before_2024.max_age_years) == (18, None)
    assert before_2024.sex == Sex.ALL
    assert before_2024.conditions.get().text == "Spinal cord Injury"

    since_2024 = Study.objects.get(eu_ct_number="2023-505613-24-00")
    assert since_2024.status == Status.RECRUITING  # code 4, "Ongoing, recruiting"
    assert since_2024.title_en.startswith("A Phase 2, Open-Label, Single-Arm")
    assert since_2024.sponsor_name == "Merck Sharp & Dohme LLC"
    assert since_2024.sponsor_type == SponsorType.INDUSTRY
    assert since_2024.phase == Phase.PHASE2
    assert since_2024.member_states == "Belgium, Greece, Poland, Sweden"
    assert since_2024.nct_id == "NCT04665037"
    assert since_2024.eudract_number == "2019-003842-34"
    assert since_2024.local_id == "MK-5592-127"
    assert str(since_2024.start_date) == "2021-04-28"
    assert (since_2024.min_age_years, since_2024.max_age_years) == (0, 17)
    assert since_2024.is_published and since_2024 in Study.objects.published()


def test_status_codes_and_wording_map_to_one_status_vocabulary():
    assert ctis.resolve_status({"ctPublicStatusCode": 5}) == Status.ACTIVE_NOT_RECRUITING
    assert ctis.resolve_status({"ctStatus": 7}) == Status.SUSPENDED
    assert ctis.resolve_status({"ctStatus": "Ended"}) == Status.COMPLETED
    ended_early = {
        "ctPublicStatusCode": 8,
        "events": {"trialEvents": [{"events": [{"notificationType": "EARLY_TERMINATION"}]}]},
    }
    assert ctis.resolve_status(ended_early) == Status.TERMINATED
    assert ctis.resolve_status({"ctStatus": "Ongoing", "recruitmentStatus": "SE:Recruiting"}) == (
        Status.RECRUITING
    )
    with pytest.raises(ctis.RecordError, match="unknown CTIS status code 13"):
        ctis.resolve_status({"ctPublicStatusCode": 13})
    with pytest.raises(ctis.RecordError, match="unknown CTIS trial status"):
        ctis.resolve_status({"ctStatus": "Paused for lunch"})


def test_reimport_changes_nothing_and_a_change_updates_with_an_event(
    reference_data, sample_data, ctis_files, tmp_path
):
    import_ctis_paths(ctis_files)
    events = AuditEvent.objects.count()
    assert import_ctis_paths(ctis_files).unchanged == 4
    assert AuditEvent.objects.count() == events

    record = _record(sample_data, "2024-510663-34-00")
    record["ctPublicStatusCode"] = 5
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(record))
    summary = import_ctis_paths([changed])
    assert summary.updated == 1
    study = Study.objects.get(eu_ct_number="2024-510663-34-00")
    assert study.status == Status.ACTIVE_NOT_RECRUITING
    assert AuditEvent.objects.filter(
        object_type="studies.study", object_id=str(study.pk), action="transition"
    ).exists()


def test_a_bad_record_is_reported_by_its_number_and_the_others_import(
    reference_data, sample_data, tmp_path
):
    good = _record(sample_data, "2023-505613-24-00")
    unknown_status = {**_record(sample_data, "2024-510663-34-00"), "ctPublicStatusCode": 42}
    wrong_type = {**_record(sample_data, "2022-500244-37-00"), "totalNumberEnrolled": "many"}
    path = tmp_path / "trials.json"
    path.write_text(json.dumps([good, unknown_status, wrong_type, {"ctNumber": "nonsense"}]))
    summary = import_ctis_paths([path])
    assert summary.created == 1
    reasons = dict(summary.rejected)
    assert "unknown CTIS status code 42" in reasons["2024-510663-34-00"]
    assert "not a number" in reasons["2022-500244-37-00"]
    assert "invalid ctNumber" in reasons["nonsense"]
    assert Study.objects.count() == 1


CSV_HEADER = (
    "Trial number;Title of the trial;Overall trial status;Sponsor/Co-Sponsors;Sponsor type;"
    "Trial phase;Location(s);Therapeutic areas;Number of participants enrolled\n"
)


def test_the_search_download_csv_imports_row_by_row(reference_data, tmp_path):
    path = tmp_path / "ctis.csv"
    path.write_text(
        CSV_HEADER + "2024-512345-11-00;A trial of something;Ongoing, recruiting;Region Uppsala;"
        "Hospital/Clinic/Other health care facility;Therapeutic confirmatory (Phase III);"
        "Sweden, Norway;Diseases [C] - Neoplasms [C04];120\n"
        + "2024-512346-11-00;Another trial;Dancing;Some company;Pharmaceutical company;"
        "Human pharmacology (Phase I);Sweden;;10\n",
        encoding="utf-8",
    )
    summary = import_ctis_paths([path])
    assert summary.created == 1
    assert summary.rejected == [("2024-512346-11-00", "unknown CTIS trial status 'Dancing'")]
    study = Study.objects.get()
    assert (study.status, study.phase, study.sponsor_type) == (
        Status.RECRUITING,
        Phase.PHASE3,
        SponsorType.ACADEMIC,
    )
    assert (study.member_states, study.planned_enrolment) == ("Norway, Sweden", 120)


def test_a_csv_without_the_required_columns_is_refused_whole(reference_data, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Number;Name\n2024-512345-11-00;A trial\n", encoding="utf-8")
    with pytest.raises(ctis.CsvTemplateError, match="missing columns: trial number"):
        import_ctis_paths([path])
    assert not Study.objects.exists()


def test_a_trial_in_both_registries_is_counted_once(reference_data, sample_data, tmp_path):
    record = _record(sample_data, "2023-505613-24-00")
    ctgov_record = minimal_ctgov_record(
        "NCT04665037", "Posaconazole in children under 2 years", "2023-505613-24-00"
    )
    import_ctgov_records([ctgov_record])
    path = tmp_path / "trial.json"
    path.write_text(json.dumps(record))
    import_ctis_paths([path])
    registry_copy = Study.objects.get(source=Source.CTIS)
    assert registry_copy.duplicate_of == Study.objects.get(source=Source.CTGOV)
    assert Study.objects.published().filter(nct_id="NCT04665037").count() == 1


def test_an_upload_does_not_hide_another_regions_trial_behind_its_record(
    reference_data, sample_data, tmp_path
):
    from trialnode.interop.files import import_ctgov_paths
    from trialnode.organisations.models import Region

    path = tmp_path / "trial.json"
    path.write_text(json.dumps(_record(sample_data, "2023-505613-24-00")))
    import_ctis_paths([path])  # the registry sync: no site in Uppsala
    uploaded = tmp_path / "upload.json"
    uploaded.write_text(
        json.dumps(  # a site in Uppsala
            minimal_ctgov_record(
                "NCT90000043", "A record naming another region's trial", "2023-505613-24-00"
            )
        )
    )

    summary = import_ctgov_paths(
        [uploaded], regions=frozenset({Region.objects.get(slug="uppsala").pk})
    )

    assert summary.created == 1
    assert Study.objects.get(source=Source.CTIS).duplicate_of is None
