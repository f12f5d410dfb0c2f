"""Who sees a case and its attachments."""

from __future__ import annotations

import pytest

from tests.datarequests.conftest import ready_application, run_to_decision
from trialnode.audit.models import AuditEvent
from trialnode.datarequests import services
from trialnode.datarequests.models import DataRequest

pytestmark = pytest.mark.django_db


def _visible(user):
    return set(DataRequest.objects.visible_to(user).values_list("pk", flat=True))


def test_a_researcher_sees_only_their_own_cases(users, staff, draft):
    other = ready_application(users.other_registrant)
    assert _visible(users.registrant) == {draft.pk}
    assert _visible(users.other_registrant) == {other.pk}
    assert _visible(users.outsider) == set()


def test_staff_do_not_see_drafts(users, staff, draft):
    assert _visible(staff.officer) == set()


def test_reviewers_see_only_cases_at_their_stage_and_organisation(users, staff, draft):
    case = services.datarequest_submit(case=draft, by=users.registrant)
    assert _visible(staff.officer) == {case.pk}
    assert _visible(staff.legal) == set()  # not at pre-qualification yet
    assert _visible(staff.other_officer) == set()  # another node's regions
    case = services.datarequest_accept_complete(case=case, by=staff.officer)
    assert _visible(staff.legal) == {case.pk}
    assert _visible(staff.engineer) == {case.pk}
    assert _visible(staff.other_legal) == set()
    case = run_to_decision(ready_application(users.registrant), users, staff)
    assert case.pk not in _visible(staff.legal)  # the decision is not the legal reviewer's


def test_attachments_are_served_only_within_the_case_and_each_download_is_audited(
    client, users, staff, draft
):
    attachment = draft.attachments.first()
    url = f"/datauttag/{draft.pk}/bilagor/{attachment.pk}/"
    for outsider in (users.other_registrant, staff.officer, staff.other_officer, users.outsider):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    client.force_login(users.registrant)
    before = AuditEvent.objects.filter(action="export").count()
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert response["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(action="export").count() == before + 1
    other = ready_application(users.other_registrant)
    wrong_case = f"/datauttag/{draft.pk}/bilagor/{other.attachments.first().pk}/"
    assert client.get(wrong_case).status_code == 404


def test_the_api_refuses_a_step_to_someone_without_the_role(client, users, staff, draft):
    services.datarequest_submit(case=draft, by=users.registrant)
    client.force_login(users.registrant)
    response = client.post(
        f"/api/v1/datarequests/{draft.pk}/accept", data="{}", content_type="application/json"
    )
    assert response.status_code == 403
    client.force_login(staff.officer)
    response = client.post(
        f"/api/v1/datarequests/{draft.pk}/decide",
        data='{"outcome": "approved", "password": "pw-caseofficer"}',
        content_type="application/json",
    )
    assert response.status_code == 400  # out of order: not yet at the decision
    response = client.post(
        f"/api/v1/datarequests/{draft.pk}/accept", data="{}", content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["stage"] == "prequalification"
    assert response.json()["standing"]["expected_by"] is not None
