"""Patient counts on the records they are for: per region and protected in a feasibility
inquiry's answer, on a study plan's page; only those who handle a record may attach one."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from tests.counts import test_pages_and_api
from tests.counts.conftest import load_cohort
from tests.feasibility import conftest as feasibility
from trialnode.counts.federation import count_request_create
from trialnode.counts.models import CountRequest
from trialnode.feasibility import services
from trialnode.feasibility.models import Inquiry

# Fixtures of the count pages and of the feasibility tests.
self_node = test_pages_and_api.self_node
organisation = feasibility.organisation
directory = feasibility.directory
submit_site = feasibility.submit_site


def _answered(inquiry: Inquiry, coordinator) -> Inquiry:
    services.inquiry_triage(inquiry=inquiry, by=coordinator)
    entries = services.proposal_entries(Inquiry.objects.get(pk=inquiry.pk), coordinator)
    services.inquiry_dispatch(inquiry=inquiry, by=coordinator, entries=entries)
    services.inquiry_compile(inquiry=inquiry, by=coordinator, text="Två regioner kan delta.")
    return Inquiry.objects.get(pk=inquiry.pk)


def test_the_sponsor_sees_the_released_count_per_region_in_the_answer(
    client, users, organisation, directory, self_node
):
    inquiry = submit_site(users.sponsor)
    request = count_request_create(
        by=users.coordinator,
        title="Celekoxib, män över 40",
        definition=load_cohort("cg_celecoxibAge40Male.json"),
        target_type="feasibility.inquiry",
        target_id=str(inquiry.pk),
    )
    (result,) = request.results.all()
    assert result.state == "answered"

    client.force_login(users.sponsor)
    page = client.get(reverse("feasibility:detail", args=[inquiry.pk])).content.decode()
    assert "Celekoxib, män över 40" not in page  # not before the answer is sent

    _answered(inquiry, users.coordinator)
    page = client.get(reverse("feasibility:detail", args=[inquiry.pk])).content.decode()
    assert "Celekoxib, män över 40" in page
    assert ">266<" not in page  # the exact count never leaves the region
    assert reverse("counts:detail", args=[request.pk]) not in page

    client.force_login(users.coordinator)
    page = client.get(reverse("feasibility:detail", args=[inquiry.pk])).content.decode()
    assert reverse("counts:detail", args=[request.pk]) in page


@pytest.mark.parametrize("target_type", ["feasibility.inquiry", "datarequests.datarequest", "x.y"])
def test_a_count_cannot_be_put_on_a_record_its_author_does_not_handle(
    users, organisation, self_node, target_type
):
    inquiry = submit_site(users.sponsor, regions=("uppsala",))
    with pytest.raises(PermissionDenied):
        count_request_create(
            by=users.other_coordinator,
            title="Inskjuten",
            definition=load_cohort("cg_celecoxib.json"),
            target_type=target_type,
            target_id=str(inquiry.pk),
        )
    assert not CountRequest.objects.exists()


def test_the_counts_of_a_study_plan_are_on_its_page_for_those_who_work_on_it(
    client, users, self_node, make_study
):
    study = make_study(title_sv="Celekoxibstudien")
    count_request_create(
        by=users.coordinator,
        title="Planens antal",
        definition=load_cohort("cg_celecoxib.json"),
        study=study,
    )
    client.force_login(users.coordinator)
    assert (
        "Planens antal" in client.get(reverse("studies:detail", args=[study.pk])).content.decode()
    )
    client.logout()
    assert (
        "Planens antal"
        not in client.get(reverse("studies:detail", args=[study.pk])).content.decode()
    )
