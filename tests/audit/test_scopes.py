"""An auditor reads the trail of their node's organisations, a national auditor all of it;
client addresses only reach security auditors; the access review is the node's own."""

import pytest
from django.urls import reverse

from trialnode.audit.context import AuditContext, _current
from trialnode.audit.models import AuditEvent
from trialnode.audit.permissions import events_readable_by
from trialnode.audit.selectors import readable
from trialnode.organisations.models import Node, Region, Role, RoleAssignment, User
from trialnode.organisations.permissions import assignments_reviewable_by


@pytest.fixture
def two_studies(make_study):
    return make_study(title_sv="Uppsalastudie"), make_study(
        title_sv="Skånestudie", regions=("skane",)
    )


def _study_event_ids(user, study):
    return set(
        events_readable_by(user)
        .filter(object_type="studies.study", object_id=str(study.pk))
        .values_list("seq", flat=True)
    )


def _national(role):
    node = Node.objects.create(name="Kliniska Studier Sverige", slug="kss-test")
    node.regions.set(Region.objects.all())
    user = User.objects.create_user(
        username=f"national_{role}", email=f"national-{role}@example.se"
    )
    RoleAssignment.objects.create(user=user, role=role, node=node)
    return user


def test_an_auditor_reads_the_events_of_their_nodes_studies_only(users, two_studies):
    uppsala, skane = two_studies
    assert _study_event_ids(users.auditor, uppsala)
    assert not _study_event_ids(users.auditor, skane)
    assert _study_event_ids(users.other_auditor, skane)
    assert not _study_event_ids(users.other_auditor, uppsala)


def test_an_auditor_reads_the_changes_to_sites_of_their_nodes_studies(users, two_studies):
    uppsala, skane = two_studies
    readable_types = set(
        events_readable_by(users.auditor)
        .filter(object_type="studies.studysite")
        .values_list("object_id", flat=True)
    )
    assert str(uppsala.sites.get().pk) in readable_types
    assert str(skane.sites.get().pk) not in readable_types


def test_a_national_auditor_reads_every_event(users, two_studies):
    national = _national(Role.AUDITOR)
    assert events_readable_by(national).count() == AuditEvent.objects.count()


def test_the_event_list_shows_only_the_auditors_scope(client, users, two_studies):
    client.force_login(users.auditor)
    page = client.get(reverse("audit:events"), {"object_type": "studies.study"}).content
    assert "Uppsalastudie" in page.decode()
    assert "Skånestudie" not in page.decode()


def test_client_addresses_reach_security_auditors_only(users, make_study):
    token = _current.set(AuditContext(ip="192.0.2.44", request_id="r", via="web"))
    try:
        make_study(title_sv="Med adress")
    finally:
        _current.reset(token)
    event = AuditEvent.objects.filter(payload__contains="192.0.2.44").first()
    security = User.objects.create_user(username="security", email="security@example.se")
    RoleAssignment.objects.create(
        user=security, role=Role.SECURITY_AUDITOR, node=Node.objects.get(slug="forum-mellansverige")
    )
    assert readable(event, reader=users.auditor).ip is None
    assert readable(event, reader=security).ip == "192.0.2.44"
    assert events_readable_by(security).filter(pk=event.pk).exists()


def test_the_access_review_lists_the_node_admins_node_only(client, users):
    mine = set(assignments_reviewable_by(users.node_admin).values_list("user__username", flat=True))
    assert {"coordinator", "coordinator_orebro", "registrant", "auditor"} <= mine
    assert "nodeadmin_soder" not in mine and "auditor_soder" not in mine
    client.force_login(users.other_node_admin)
    page = client.get(reverse("access_review")).content.decode()
    assert "coordinator_orebro" not in page
    assert "auditor_soder" in page


def test_a_national_node_admin_reviews_every_role(users):
    national = _national(Role.NODE_ADMIN)
    assert assignments_reviewable_by(national).count() == RoleAssignment.objects.count()
