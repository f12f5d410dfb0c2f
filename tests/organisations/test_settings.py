import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from trialnode import env


def test_booleans_are_parsed_strictly(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "yes")
    assert env.env_bool("SOME_FLAG", False) is True
    monkeypatch.setenv("SOME_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env.env_bool("SOME_FLAG", False)


def test_integers_are_parsed_strictly(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "12a")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER"):
        env.env_int("SOME_NUMBER", 1)


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("SOME_SECRET_FILE", str(secret))
    assert env.env_str("SOME_SECRET") == "from-a-file"


def _start(tmp_path, **variables):
    environment = {"PATH": "/usr/bin:/bin", "TRIALNODE_DATA_DIR": str(tmp_path), **variables}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
            "'trialnode.settings'; django.setup()",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_start_up_stops_without_a_secret_key_outside_debug(tmp_path):
    result = _start(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_start_up_stops_on_a_bad_database_url(tmp_path):
    result = _start(tmp_path, SECRET_KEY="x", DATABASE_URL="mysql-ish://nowhere")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_passwords_are_hashed_with_argon2():
    from trialnode import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
