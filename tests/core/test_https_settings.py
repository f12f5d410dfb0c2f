"""TRIALNODE_HTTPS=true turns on secure cookies and HSTS; without it they are off."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

PROBE = (
    "import json; from trialnode import settings as s; print(json.dumps({"
    "'session': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE,"
    "'hsts': s.SECURE_HSTS_SECONDS, 'redirect': s.SECURE_SSL_REDIRECT}))"
)


def _settings_with(tmp_path: Path, **environment: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TRIALNODE_HTTPS", "SECURE_COOKIES")
    }
    env.update(SECRET_KEY="x", TRIALNODE_DATA_DIR=str(tmp_path), **environment)
    output = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_https_true_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path):
    assert _settings_with(tmp_path, TRIALNODE_HTTPS="true") == {
        "session": True,
        "csrf": True,
        "hsts": 31_536_000,
        "redirect": True,
    }


def test_without_https_cookies_are_not_marked_secure(tmp_path):
    assert _settings_with(tmp_path) == {
        "session": False,
        "csrf": False,
        "hsts": 0,
        "redirect": False,
    }


@pytest.mark.django_db
def test_over_https_the_login_page_sends_hsts_and_a_secure_cookie(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_SECURE = True
    response = client.get(reverse("login"), secure=True)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.cookies["csrftoken"]["secure"] is True
