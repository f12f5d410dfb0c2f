"""Security headers, session time-out, login protection and the deployment check."""

import os
import subprocess
import sys


def test_pages_carry_a_content_security_policy_and_security_headers(client, reference_data):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_api_documentation_uses_no_outside_scripts(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


def test_a_session_ends_after_thirty_idle_minutes(client, users):
    client.post("/accounts/login/", {"username": "registrant", "password": "pw-registrant"})
    assert client.session.get_expiry_age() == 30 * 60
    assert client.session.get_expire_at_browser_close()


def test_an_expired_session_must_log_in_again(client, users):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.post("/accounts/login/", {"username": "registrant", "password": "pw-registrant"})
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/arbetsyta/").status_code == 302


def test_repeated_failed_logins_pause_further_attempts(client, users):
    for _attempt in range(5):
        client.post("/accounts/login/", {"username": "registrant", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "registrant", "password": "pw-registrant"}
    )
    assert "Too many failed attempts" in response.content.decode()
    assert client.get("/arbetsyta/").status_code == 302


def test_a_successful_login_clears_earlier_failures(client, users):
    for _attempt in range(4):
        client.post("/accounts/login/", {"username": "registrant", "password": "wrong"})
    client.post("/accounts/login/", {"username": "registrant", "password": "pw-registrant"})
    client.post("/accounts/logout/")
    for _attempt in range(4):
        client.post("/accounts/login/", {"username": "registrant", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "registrant", "password": "pw-registrant"}
    )
    assert response.status_code == 302


def test_the_deployment_check_is_clean_with_production_settings(tmp_path):
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
        },
        "SECRET_KEY": "x7#Kp2!vQ9zL$mN4@wR8^tY6&uI0*oP3-aS5+dF1=gH7~jK9Zq2",
        "TRIALNODE_HTTPS": "true",
        "ALLOWED_HOSTS": "trialnode.example.se",
        "TRIALNODE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/deploy.sqlite3",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "trialnode.cli",
            "manage",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
