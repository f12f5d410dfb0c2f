"""Failed logins: counted in the database per user name and address together, with a
wait that grows, taken from a trusted proxy's header only, audited, and liftable by the
node admin of the user's node."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from trialnode.audit.models import AuditEvent
from trialnode.organisations.login_protection import cool_off_for, lockouts_visible_to

LOGIN = "/accounts/login/"


def _login(client, username, password, address="198.51.100.7", **headers):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def _fail(client, username, times, address="198.51.100.7", **headers):
    for _attempt in range(times):
        _login(client, username, "wrong", address, **headers)


def test_failures_are_counted_in_the_database(client, users):
    _fail(client, "registrant", 2)
    attempt = AccessAttempt.objects.get(username="registrant")
    assert (attempt.ip_address, attempt.failures_since_start) == ("198.51.100.7", 2)


def test_five_failures_lock_the_user_name_from_that_address_with_a_wait(client, users):
    _fail(client, "registrant", 5)
    response = _login(client, "registrant", "pw-registrant")
    assert response.status_code == 429
    assert "Wait 5 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_locked_user_logs_in_from_another_address(client, users):
    _fail(client, "registrant", 5, address="198.51.100.7")
    response = _login(client, "registrant", "pw-registrant", address="203.0.113.9")
    assert response.status_code == 302


def test_failures_for_made_up_names_lock_out_nobody_else_from_that_address(client, users):
    for number in range(30):
        _login(client, f"made-up-{number}", "wrong")
    response = _login(client, "registrant", "pw-registrant")
    assert response.status_code == 302


def test_trying_again_during_the_wait_does_not_make_it_longer(client, users):
    _fail(client, "registrant", 5)
    for _attempt in range(3):
        response = _login(client, "registrant", "pw-registrant")
    assert "Wait 5 minutes" in response.content.decode()
    assert AccessAttempt.objects.get().failures_since_start == 5


def test_each_further_lockout_doubles_the_wait(client, users, settings):
    settings.LOGIN_COOLOFF_MINUTES = 5
    assert [cool_off_for(n) for n in (1, 2, 3)] == [
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=10),
        dt.timedelta(minutes=20),
    ]
    assert cool_off_for(100) == dt.timedelta(hours=settings.LOGIN_COOLOFF_MAX_HOURS)
    for _lockout in range(3):
        _fail(client, "registrant", 5)
        response = _login(client, "registrant", "wrong")
        AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    assert "Wait 20 minutes" in response.content.decode()


def test_after_the_wait_the_right_password_works_again(client, users):
    _fail(client, "registrant", 5)
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    assert _login(client, "registrant", "pw-registrant").status_code == 302


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(client, users, settings):
    _fail(client, "registrant", 2, address="10.0.0.5", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert AccessAttempt.objects.get().ip_address == "10.0.0.5"
    AccessAttempt.objects.all().delete()

    settings.TRIALNODE_TRUSTED_PROXIES = ["10.0.0.0/24"]
    _fail(
        client,
        "registrant",
        2,
        address="10.0.0.5",
        HTTP_X_FORWARDED_FOR="192.0.2.99, 192.0.2.1, 10.0.0.4",
    )
    assert AccessAttempt.objects.get().ip_address == "192.0.2.1"


def test_a_lockout_is_recorded_in_the_audit_trail(client, users):
    _fail(client, "registrant", 5)
    event = AuditEvent.objects.filter(action=AuditEvent.Action.LOCKOUT).get()
    assert event.object_id == str(users.registrant.pk)
    assert '"address":"198.51.100.7"' in event.payload


def test_the_node_admin_sees_and_lifts_the_lockout_of_a_user_of_their_node(client, users):
    _fail(client, "registrant", 5)
    _fail(client, "made-up-name", 5)
    client.force_login(users.node_admin)
    page = client.get(reverse("lockouts")).content.decode()
    assert "registrant" in page
    assert "made-up-name" not in page

    attempt = AccessAttempt.objects.get(username="registrant")
    response = client.post(reverse("lockout_lift", args=[attempt.pk]))
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="registrant").exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOCKOUT_LIFTED).count() == 1
    client.logout()
    assert _login(client, "registrant", "pw-registrant").status_code == 302


@pytest.mark.parametrize("actor", ["other_node_admin", "auditor", "coordinator"])
def test_others_cannot_lift_the_lockout(client, users, actor):
    from tests.organisations.url_access import _lockout

    attempt = _lockout(None)
    user = getattr(users, actor)
    assert not lockouts_visible_to(user).exists()
    client.force_login(user)
    assert client.post(reverse("lockout_lift", args=[attempt.pk])).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
