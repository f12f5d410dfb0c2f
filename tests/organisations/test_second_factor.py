"""TOTP as second factor: required for roles that see personal data, and when signing."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.fixture(autouse=True)
def _required(settings):
    settings.REQUIRE_SECOND_FACTOR = True
    # django-otp pauses verification after a wrong code; these tests retry at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def _login(client, username):
    return client.post("/accounts/login/", {"username": username, "password": f"pw-{username}"})


def test_a_coordinator_without_an_authenticator_must_set_one_up(client, users):
    _login(client, "coordinator")
    response = client.get("/arbetsyta/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/tvafaktor/ny/")
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=users.coordinator)
    assert client.post("/accounts/tvafaktor/ny/", {"token": "000000"}).status_code == 200
    response = client.post("/accounts/tvafaktor/ny/", {"token": _code(device)})
    assert response.status_code == 302
    assert client.get("/arbetsyta/").status_code == 200


def test_a_registrant_needs_no_second_factor(client, users):
    _login(client, "registrant")
    assert client.get("/arbetsyta/").status_code == 200


def test_with_an_authenticator_the_code_is_asked_after_the_password(client, users):
    device = TOTPDevice.objects.create(user=users.coordinator, name="app", confirmed=True)
    _login(client, "coordinator")
    response = client.get("/arbetsyta/")
    assert response["Location"].startswith("/accounts/tvafaktor/")
    wrong = client.post("/accounts/tvafaktor/", {"token": "123456", "next": "/arbetsyta/"})
    assert "The code is not right." in wrong.content.decode()
    assert client.get("/arbetsyta/").status_code == 302
    right = client.post("/accounts/tvafaktor/", {"token": _code(device), "next": "/arbetsyta/"})
    assert right["Location"] == "/arbetsyta/"
    assert client.get("/arbetsyta/").status_code == 200


def test_an_unverified_session_cannot_write_through_the_api(client, users):
    TOTPDevice.objects.create(user=users.coordinator, name="app", confirmed=True)
    _login(client, "coordinator")
    response = client.post("/api/v1/studies", {}, content_type="application/json")
    assert response.status_code == 403


def test_signing_asks_for_the_code_when_the_signer_has_an_authenticator(users, make_study):
    from django.core.exceptions import ValidationError

    from trialnode.studies import services
    from trialnode.studies.models import RegistrationState

    device = TOTPDevice.objects.create(user=users.coordinator, name="app", confirmed=True)
    study = make_study(
        registration_state=RegistrationState.SUBMITTED,
        sponsor_name="S",
        summary_sv="S",
        epm_dnr="2024-00001-01",
        icd10=("J45.9",),
        study_type="OBSERVATIONAL",
    )
    study.contacts.create(name="Studiekontakt")
    with pytest.raises(ValidationError, match="authenticator"):
        services.study_publish(
            study=study, by=users.coordinator, password="pw-coordinator", reason="OK"
        )
    published = services.study_publish(
        study=study,
        by=users.coordinator,
        password="pw-coordinator",
        reason="OK",
        otp_token=_code(device),
    )
    assert published.registration_state == RegistrationState.PUBLISHED


def test_setting_up_an_authenticator_is_in_the_audit_trail(client, users):
    from trialnode.audit.models import AuditEvent

    _login(client, "coordinator")
    client.get("/accounts/tvafaktor/ny/")
    device = TOTPDevice.objects.get(user=users.coordinator)
    client.post("/accounts/tvafaktor/ny/", {"token": _code(device)})
    assert AuditEvent.objects.filter(
        object_type="organisations.user", payload__contains="second_factor"
    ).exists()
