"""Who sees and who handles an inquiry, rule by rule, and who maintains the directory;
with an owner, a colleague, another sponsor and staff of another region in each."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from tests.feasibility.conftest import submit_site
from trialnode.feasibility import services
from trialnode.feasibility.models import DirectoryEntry, Inquiry, SponsorMembership
from trialnode.organisations.models import CareProvider, Role, RoleAssignment, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(users, organisation) -> User:
    user = User.objects.create_user(username="colleague", email="colleague@example.se")
    RoleAssignment.objects.create(user=user, role=Role.SPONSOR)
    services.organisation_add_member(
        organisation=organisation, by=users.sponsor, email="colleague@example.se"
    )
    return user


def _visible(user) -> set[int]:
    return set(Inquiry.objects.visible_to(user).values_list("pk", flat=True))


def _handled(user) -> set[int]:
    return set(Inquiry.objects.handled_by(user).values_list("pk", flat=True))


def test_the_sponsors_colleagues_see_its_inquiries_and_no_other_sponsor_does(
    users, organisation, colleague, other_sponsor
):
    inquiry = submit_site(users.sponsor)
    assert _visible(users.sponsor) == _visible(colleague) == {inquiry.pk}
    assert _visible(other_sponsor) == set()
    assert _visible(users.outsider) == _visible(users.registrant) == set()


def test_a_coordinator_handles_the_inquiries_that_ask_their_regions(
    users, organisation, national_coordinator
):
    uppsala = submit_site(users.sponsor, regions=("uppsala",))
    skane = submit_site(users.sponsor, regions=("skane",))
    assert _handled(users.coordinator) == {uppsala.pk}
    assert _handled(users.other_coordinator) == set()
    assert _handled(national_coordinator) == {uppsala.pk, skane.pk}
    # Node staff read their regions' inquiries but do not handle them.
    assert _visible(users.node_admin) == {uppsala.pk}
    assert _handled(users.node_admin) == set()
    assert _visible(users.other_node_admin) == {skane.pk}
    with pytest.raises(PermissionDenied):
        services.inquiry_triage(inquiry=uppsala, by=users.other_coordinator)
    with pytest.raises(PermissionDenied):
        services.inquiry_triage(inquiry=uppsala, by=users.node_admin)


def test_an_inquiry_for_all_of_sweden_is_in_every_coordinators_queue(users, organisation):
    from tests.feasibility.conftest import submit_country

    inquiry = submit_country(users.sponsor)
    assert inquiry.pk in _handled(users.coordinator)
    assert inquiry.pk in _handled(users.other_coordinator)


def test_steps_out_of_order_are_refused(users, organisation, directory):
    inquiry = submit_site(users.sponsor)
    with pytest.raises(ValidationError):
        services.inquiry_dispatch(
            inquiry=inquiry, by=users.coordinator, entries=[directory["uppsala_heart"]]
        )
    with pytest.raises(ValidationError):
        services.inquiry_compile(inquiry=inquiry, by=users.coordinator, text="Svar")
    with pytest.raises(ValidationError):
        services.inquiry_reply_to_question(inquiry=inquiry, by=users.sponsor, text="?")
    with pytest.raises(ValidationError, match="without an answer"):
        services.inquiry_close(inquiry=inquiry, by=users.coordinator)
    assert Inquiry.objects.get(pk=inquiry.pk).state == "submitted"


def test_only_sponsors_with_an_organisation_submit(users, reference_data):
    with pytest.raises(PermissionDenied):
        submit_site(users.coordinator)
    with pytest.raises(PermissionDenied):
        submit_site(users.sponsor)  # no organisation yet
    assert not Inquiry.objects.exists()


def test_a_sponsor_registers_an_organisation_once_and_adds_only_sponsor_accounts(users):
    client = Client()
    client.force_login(users.sponsor)
    response = client.post("/forfragningar/organisation/", {"name": "Bolaget AB", "kind": "cro"})
    assert response.status_code == 302
    membership = SponsorMembership.objects.get(user=users.sponsor)
    assert membership.organisation.name == "Bolaget AB"
    with pytest.raises(ValidationError):
        services.organisation_create(by=users.sponsor, name="Andra AB", kind="cro")
    with pytest.raises(ValidationError):
        services.organisation_add_member(
            organisation=membership.organisation, by=users.sponsor, email=users.outsider.email
        )
    with pytest.raises(PermissionDenied):
        services.organisation_add_member(
            organisation=membership.organisation, by=users.outsider, email=users.sponsor.email
        )


def test_coordinators_maintain_the_directory_of_their_own_regions_only(users, directory):
    client = Client()
    client.force_login(users.coordinator)
    orebro = CareProvider.objects.filter(region__slug="orebro").first()
    assert orebro is not None
    before = DirectoryEntry.objects.count()
    response = client.post(
        "/forfragningar/katalog/",
        {
            "care_provider": str(orebro.pk),
            "unit_name": "Ny klinik",
            "investigator": "Prövare",
            "email": "ny@example.se",
            "specialty": "Kardiologi",
            "therapy_areas": ["IX"],
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form refuses a provider outside Uppsala
    assert DirectoryEntry.objects.count() == before
    assert client.get(f"/forfragningar/katalog/{directory['orebro_heart'].pk}/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.directory_entry_save(entry=directory["orebro_heart"], by=users.coordinator)
    response = client.post(
        "/forfragningar/katalog/",
        {
            "care_provider": str(CareProvider.objects.get(slug="akademiska").pk),
            "unit_name": "Ny klinik",
            "investigator": "Prövare",
            "email": "ny@example.se",
            "specialty": "Kardiologi",
            "therapy_areas": ["IX", "X"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert DirectoryEntry.objects.get(unit_name="Ny klinik").therapy_areas == ["IX", "X"]
