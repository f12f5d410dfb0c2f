"""Login, logout, password change and reset by e-mail."""

import re

from django.core import mail


def test_a_user_logs_in_and_out(client, users):
    response = client.post(
        "/accounts/login/", {"username": "registrant", "password": "pw-registrant"}
    )
    assert response.status_code == 302
    assert client.get("/arbetsyta/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/arbetsyta/").status_code == 302


def test_a_wrong_password_does_not_log_in(client, users):
    response = client.post("/accounts/login/", {"username": "registrant", "password": "wrong"})
    assert response.status_code == 200
    assert client.get("/arbetsyta/").status_code == 302


def test_a_deactivated_user_cannot_log_in(client, users):
    users.registrant.is_active = False
    users.registrant.save()
    client.post("/accounts/login/", {"username": "registrant", "password": "pw-registrant"})
    assert client.get("/arbetsyta/").status_code == 302


def test_a_password_is_reset_by_email(client, users):
    client.post("/accounts/reset/", {"email": "registrant@example.se"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(
        form_url,
        {"new_password1": "ett-nytt-langt-losenord", "new_password2": "ett-nytt-langt-losenord"},
    )
    assert response.status_code == 302
    response = client.post(
        "/accounts/login/", {"username": "registrant", "password": "ett-nytt-langt-losenord"}
    )
    assert response.status_code == 302
    assert client.get("/arbetsyta/").status_code == 200


def test_a_password_is_changed_after_login(client, users):
    client.force_login(users.registrant)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "pw-registrant",
            "new_password1": "ett-annat-langt-losenord",
            "new_password2": "ett-annat-langt-losenord",
        },
    )
    assert response.status_code == 302
    users.registrant.refresh_from_db()
    assert users.registrant.check_password("ett-annat-langt-losenord")
