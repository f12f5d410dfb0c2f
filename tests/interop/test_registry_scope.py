"""A node's registry holds the studies conducted in Sweden; no Swedish site is lost."""

from __future__ import annotations

import copy
import json
from datetime import date

import orjson
import pytest

from tests.interop import in_sweden
from trialnode.cli import _report_import
from trialnode.interop.ctgov import import_records
from trialnode.interop.files import import_ctgov_paths
from trialnode.interop.linking import site_assign_provider, unmatched_sites_for
from trialnode.interop.upsert import ReferenceDataMissing
from trialnode.organisations.models import CareProvider, Locality, Region
from trialnode.statistics import definitions as d
from trialnode.studies.filters import StudySearch
from trialnode.studies.models import Study, StudySite


@pytest.fixture
def sweden(sample_data):
    return orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())


def test_the_bulk_file_keeps_the_studies_in_sweden_and_counts_the_others_as_skipped(
    reference_data, sample_data, capsys
):
    summary = import_ctgov_paths([sample_data / "ctgov" / "ctg-studies.zip"])
    assert summary.created == 18
    assert summary.outside_sweden == summary.seen - 18 - len(summary.rejected)
    assert summary.outside_sweden > 1000
    assert Study.objects.count() == 18
    assert all(study.sites.exists() for study in Study.objects.published())
    # Skipped records are not rejections: the command exits 0 when nothing else went wrong.
    exit_code = _report_import("Imported", summary)
    assert exit_code == (1 if summary.rejected else 0)
    assert f"{summary.outside_sweden} outside Sweden (skipped)" in capsys.readouterr().out


def test_a_lay_search_after_the_bulk_import_finds_only_studies_in_sweden(
    reference_data, sample_data
):
    import_ctgov_paths([sample_data / "ctgov" / "ctg-studies.zip"])
    result = StudySearch.from_params({"q": "breast cancer"}).run(
        Study.objects.published(), page_size=20
    )
    for study in result.studies:
        assert StudySite.objects.filter(study=study).exists()


def test_a_stored_record_that_loses_its_last_swedish_site_is_updated_and_kept(
    reference_data, sweden
):
    import_records(sweden[:1])
    study = Study.objects.get()
    moved = copy.deepcopy(sweden[0])
    for location in moved["protocolSection"]["contactsLocationsModule"]["locations"]:
        location["country"] = "Norway"
    summary = import_records([moved])
    assert (summary.updated, summary.outside_sweden) == (1, 0)
    study.refresh_from_db()
    assert not study.conducted_in_sweden
    assert not study.sites.exists()
    assert study not in Study.objects.published()
    assert Study.objects.filter(pk=study.pk).exists()


def test_a_swedish_site_that_cannot_be_placed_is_kept_counted_and_listed(reference_data, users):
    record = in_sweden(
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT09999999", "briefTitle": "A study"},
                "statusModule": {
                    "overallStatus": "RECRUITING",
                    "startDateStruct": {"date": "2024-01"},
                },
                "designModule": {"studyType": "INTERVENTIONAL"},
            }
        },
        location={"facility": "Okänd klinik", "city": "Ingenstans", "country": "Sweden"},
    )
    summary = import_records([record])
    assert (summary.created, summary.unplaced_sites) == (1, 1)
    site = StudySite.objects.get()
    assert (site.region, site.facility_name, site.city) == (None, "Okänd klinik", "Ingenstans")
    study = site.study
    assert study in Study.objects.published()
    # Counted nationally, and in the regional table under "region not known".
    today = d.Period.day(date.today())
    assert d.count(d.Measure.ONGOING, today) == 1
    rows = {row.key: row for row in d.breakdown(d.Measure.ONGOING, d.Dimension.REGION, today)}
    assert rows[d.UNKNOWN_KEY].value == 1
    assert str(rows[d.UNKNOWN_KEY].label) == "Region not known"
    assert list(d.studies_behind(d.Measure.ONGOING, today, by="region", key="")) == [study]
    # Listed for every coordinator; one of them places it at a provider of their region.
    assert site in unmatched_sites_for(users.coordinator)
    assert site in unmatched_sites_for(users.other_coordinator)
    assert site not in unmatched_sites_for(users.registrant)
    site_assign_provider(
        site=site, provider=CareProvider.objects.get(slug="akademiska"), by=users.coordinator
    )
    site.refresh_from_db()
    assert site.region == Region.objects.get(slug="uppsala")


def test_a_site_a_coordinator_placed_stays_placed_when_the_registry_changes_the_record(
    reference_data, users
):
    def record(status: str) -> dict:
        return in_sweden(
            {
                "protocolSection": {
                    "identificationModule": {"nctId": "NCT09999998", "briefTitle": "A study"},
                    "statusModule": {"overallStatus": status},
                    "designModule": {"studyType": "INTERVENTIONAL"},
                }
            },
            location={"facility": "Okänd klinik", "city": "Ingenstans", "country": "Sweden"},
        )

    import_records([record("RECRUITING")])
    placed = site_assign_provider(
        site=StudySite.objects.get(),
        provider=CareProvider.objects.get(slug="akademiska"),
        by=users.coordinator,
    )

    summary = import_records([record("ACTIVE_NOT_RECRUITING")])

    assert (summary.updated, summary.unplaced_sites) == (1, 0)
    site = StudySite.objects.get()
    assert (site.pk, site.care_provider, site.region) == (
        placed.pk,
        placed.care_provider,
        placed.region,
    )
    assert site not in unmatched_sites_for(users.coordinator)
    assert site.study.status == "ACTIVE_NOT_RECRUITING"


def test_the_regional_table_adds_up_to_at_least_the_national_number(reference_data, sample_data):
    import_ctgov_paths([sample_data / "ctgov" / "ctg-studies.zip"])
    for day in (date(2020, 6, 30), date(2023, 12, 31), date.today()):
        period = d.Period.day(day)
        national = d.count(d.Measure.ONGOING, period)
        assert d.regional_total(d.Measure.ONGOING, period) >= national
    year = d.Period.year(date.today().year)
    assert d.regional_total(d.Measure.ONGOING, year) >= d.count(d.Measure.ONGOING, year)


def test_without_reference_data_an_import_refuses_and_names_the_step(db, sweden, tmp_path):
    assert not Region.objects.exists() and not Locality.objects.exists()
    path = tmp_path / "sweden.json"
    path.write_text(json.dumps(sweden))
    with pytest.raises(ReferenceDataMissing, match="trialnode manage load_reference_data"):
        import_ctgov_paths([path])
    assert not Study.objects.exists()


def test_imported_records_get_condition_areas_from_their_subject_headings(reference_data, sweden):
    import_records(sweden)
    leukaemia = Study.objects.get(nct_id="NCT01949129")
    assert "Neoplasms" in leukaemia.mesh_terms.splitlines()
    assert list(leukaemia.condition_areas.values_list("chapter", flat=True)) == ["II"]
    headed = Study.objects.published().exclude(mesh_terms="")
    assert not headed.filter(condition_areas__isnull=True).exists()
