"""Local registrations and registry records of one study: suggested, decided, counted once."""

import orjson
import pytest
from django.core.exceptions import PermissionDenied

from tests.conftest import complete_children, complete_fields
from tests.interop import in_sweden
from trialnode.interop.ctgov import import_records
from trialnode.interop.linking import link_confirm, link_reject, suggest_links
from trialnode.interop.models import StudyLink
from trialnode.organisations.models import Region
from trialnode.studies import services
from trialnode.studies.filters import StudySearch
from trialnode.studies.models import Study


@pytest.fixture
def registry(reference_data, sample_data):
    import_records(orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes()))


def _local(users, **fields):
    """A submitted local registration (drafts are the registrant's own business)."""
    study = services.study_create(
        by=users.registrant,
        fields=complete_fields(**fields),
        allow_duplicate=True,
        **complete_children(),
    )
    return services.study_submit(study=study, by=users.registrant)


def test_the_same_nct_number_registered_locally_makes_one_study_without_a_coordinator(
    registry, users
):
    local = _local(
        users, title_sv="Stamcellstransplantation för barn med ALL", nct_id="NCT01949129"
    )
    link = StudyLink.objects.get()
    assert (link.local, link.registry.nct_id, link.state) == (
        local,
        "NCT01949129",
        StudyLink.State.CONFIRMED,
    )
    assert link.decided_by is None
    registry_record = link.registry
    assert registry_record.duplicate_of == local
    # Until the local registration is published, the registry record is what the public sees.
    assert list(Study.objects.published().filter(nct_id="NCT01949129")) == [registry_record]
    services.study_publish(
        study=local, by=users.coordinator, password="pw-coordinator", reason="Validerad"
    )
    assert list(Study.objects.published().filter(nct_id="NCT01949129")) == [local]
    assert suggest_links() == 0


def test_a_local_study_with_a_different_eu_ct_number_is_only_suggested(registry, users):
    registry_record = Study.objects.get(nct_id="NCT01949129")
    Study.objects.filter(pk=registry_record.pk).update(eu_ct_number="2023-501234-12-00")
    _local(users, nct_id="NCT01949129", eu_ct_number="2024-509999-12-00")
    assert suggest_links() == 1
    assert StudyLink.objects.get().state == StudyLink.State.SUGGESTED


def test_a_near_same_title_and_sponsor_is_suggested_without_an_identifier(registry, users):
    _local(
        users,
        title_en="Allogeneic stem cell transplantation for children and adolescents "
        "with acute lymphoblastic leukemia",
        sponsor_name="St Anna Kinderkrebsforschung",
        epm_dnr="2013/1620-31/2",
    )
    suggest_links()
    assert StudyLink.objects.get().registry.nct_id == "NCT01949129"


def test_an_unrelated_local_study_gets_no_suggestion(registry, users):
    _local(users)
    assert suggest_links() == 0


def _near_match(users):
    """A local registration of NCT01949129 that does not name the number."""
    return _local(
        users,
        title_en="Allogeneic stem cell transplantation for children and adolescents "
        "with acute lymphoblastic leukemia",
        sponsor_name="St Anna Kinderkrebsforschung",
        epm_dnr="2013/1620-31/2",
    )


def test_suggesting_again_does_not_repeat_decided_pairs(registry, users):
    _near_match(users)
    suggest_links()
    link_reject(link=StudyLink.objects.get(), by=users.coordinator)
    assert suggest_links() == 0


def test_confirming_makes_one_study_with_both_identifiers_counted_once(registry, users):
    local = _local(
        users,
        title_sv="Stamcellstransplantation för barn med ALL",
        eu_ct_number="2023-501234-12-00",
        epm_dnr="2013/1620-31/2",
    )
    services.study_publish(
        study=local, by=users.coordinator, password="pw-coordinator", reason="OK"
    )
    registry_record = Study.objects.get(nct_id="NCT01949129")
    link = StudyLink.objects.create(local=local, registry=registry_record, score=90, reasons="test")
    link_confirm(link=link, by=users.coordinator)
    local.refresh_from_db()
    registry_record.refresh_from_db()
    assert local.nct_id == "NCT01949129"
    assert registry_record.duplicate_of == local
    published = Study.objects.published()
    assert local in published and registry_record not in published
    found = StudySearch.from_params({"q": "NCT01949129"}).run(published, page_size=20)
    assert [s.pk for s in found.studies] == [local.pk]


def test_only_a_coordinator_of_the_local_studys_region_decides(registry, users):
    _near_match(users)
    suggest_links()
    link = StudyLink.objects.get()
    with pytest.raises(PermissionDenied):
        link_confirm(link=link, by=users.other_coordinator)
    with pytest.raises(PermissionDenied):
        link_confirm(link=link, by=users.registrant)


def test_the_coordinator_queue_shows_and_decides_suggestions(client, registry, users):
    _near_match(users)
    suggest_links()
    client.force_login(users.coordinator)
    page = client.get("/koppling/").content.decode()
    assert "NCT01949129" in page
    link = StudyLink.objects.get()
    client.post(f"/koppling/{link.pk}/", {"decision": "confirm"})
    link.refresh_from_db()
    assert link.state == StudyLink.State.CONFIRMED


def test_imported_sites_without_a_provider_are_listed_for_the_regions_coordinator(
    client, registry, users
):
    from trialnode.organisations.models import CareProvider
    from trialnode.studies.models import StudySite

    client.force_login(users.coordinator)
    page = client.get("/koppling/platser/").content.decode()
    uppsala_site = StudySite.objects.filter(
        care_provider__isnull=True, region__slug="uppsala"
    ).first()
    assert uppsala_site.city in page
    assert "Karlshamn" not in page  # Blekinge is not the coordinator's region
    client.post("/koppling/platser/", {"site": uppsala_site.pk, "care_provider": "akademiska"})
    uppsala_site.refresh_from_db()
    assert uppsala_site.care_provider == CareProvider.objects.get(slug="akademiska")


def test_a_node_can_review_imported_records_before_they_are_public(
    reference_data, sample_data, settings
):
    from trialnode.studies.models import RegistrationState

    settings.TRIALNODE_IMPORT_REVIEW = True
    import_records(orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())[:2])
    assert set(Study.objects.values_list("registration_state", flat=True)) == {
        RegistrationState.SUBMITTED
    }
    assert not Study.objects.published().exists()


def _import_file(tmp_path, records) -> None:
    from trialnode.interop.files import import_ctgov_paths

    path = tmp_path / "records.json"
    path.write_bytes(orjson.dumps(records))
    import_ctgov_paths([path])


def _sweden_records(sample_data) -> list[dict]:
    return orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())


def test_importing_a_record_like_a_local_registration_suggests_the_link(
    reference_data, sample_data, users, tmp_path
):
    local = _near_match(users)
    record = next(
        r
        for r in _sweden_records(sample_data)
        if r["protocolSection"]["identificationModule"]["nctId"] == "NCT01949129"
    )
    _import_file(tmp_path, [record])
    link = StudyLink.objects.get()
    assert (link.local, link.registry.nct_id, link.state) == (
        local,
        "NCT01949129",
        StudyLink.State.SUGGESTED,
    )


def test_importing_a_record_with_a_local_registrations_nct_number_makes_one_study(
    reference_data, sample_data, users, tmp_path
):
    local = _local(users, title_sv="Något helt annat", nct_id="NCT01949129")
    _import_file(tmp_path, _sweden_records(sample_data))
    link = StudyLink.objects.get()
    assert (link.local, link.registry.nct_id, link.state) == (
        local,
        "NCT01949129",
        StudyLink.State.CONFIRMED,
    )


def test_an_import_does_not_look_at_unrelated_local_registrations(
    reference_data, sample_data, users, tmp_path
):
    """The work after an import follows what it wrote, not the size of the local register."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    record = _sweden_records(sample_data)[0]

    def queries_to_import(nct_id: str) -> int:
        protocol = record["protocolSection"]
        identification = {**protocol["identificationModule"], "nctId": nct_id}
        copy = {**record, "protocolSection": {**protocol, "identificationModule": identification}}
        with CaptureQueriesContext(connection) as captured:
            _import_file(tmp_path, [copy])
        return len(captured.captured_queries)

    _local(users)
    with_one_local = queries_to_import("NCT99000001")
    for _number in range(5):
        _local(users)
    with_six_locals = queries_to_import("NCT99000002")
    assert with_six_locals == with_one_local
    assert not StudyLink.objects.exists()


def test_an_upload_does_not_make_another_regions_study_one_with_its_record(
    reference_data, sample_data, users, tmp_path
):
    """Making the two one study writes the record's numbers into the local one: an
    upload does so only for the uploader's regions; the other region's coordinators are
    asked instead."""
    from trialnode.interop.files import import_ctgov_paths

    orebro = services.study_create(
        by=users.registrant,
        fields=complete_fields(title_sv="Örebros studie", eu_ct_number="2024-512345-11-00"),
        allow_duplicate=True,
        **complete_children("uso"),
    )
    services.study_submit(study=orebro, by=users.registrant)
    record = in_sweden(_sweden_records(sample_data)[0])  # a site in Uppsala
    record["protocolSection"]["identificationModule"].update(
        nctId="NCT90000042",
        secondaryIdInfos=[{"id": "2024-512345-11-00"}, {"id": "2019-001234-56"}],
    )
    path = tmp_path / "records.json"
    path.write_bytes(orjson.dumps([record]))

    summary = import_ctgov_paths([path], regions=frozenset({Region.objects.get(slug="uppsala").pk}))

    assert summary.created == 1
    orebro.refresh_from_db()
    assert (orebro.nct_id, orebro.eudract_number) == ("", "")
    uploaded = Study.objects.get(nct_id="NCT90000042")
    assert uploaded.duplicate_of is None
    link = StudyLink.objects.get()
    assert (link.local, link.registry, link.state) == (
        orebro,
        uploaded,
        StudyLink.State.SUGGESTED,
    )
    # Örebro's coordinator decides it; Uppsala's does not see it.
    with pytest.raises(PermissionDenied):
        link_confirm(link=link, by=users.coordinator)
    link_confirm(link=link, by=users.other_coordinator)
    orebro.refresh_from_db()
    assert orebro.nct_id == "NCT90000042"
