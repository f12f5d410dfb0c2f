"""The `trialnode` command as a user runs it: a fresh demo database, then the same data served."""

import os
import sqlite3
import subprocess
import sys


def _run(tmp_path, *args, **variables):
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")},
        "TRIALNODE_DATA_DIR": str(tmp_path),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-m", "trialnode.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_loads_real_records_users_and_local_studies(tmp_path, sample_data):
    result = _run(tmp_path, "demo", "--no-serve", TRIALNODE_SAMPLE_DATA=str(sample_data))
    assert result.returncode == 0, result.stderr
    assert "18 real studies with Swedish sites" in result.stdout
    assert "Generated local registrations for the statistics: 200." in result.stdout
    for username in ("registrant", "coordinator", "sponsor", "nodeadmin", "auditor"):
        assert username in result.stdout
    with sqlite3.connect(tmp_path / "trialnode.sqlite3") as db:
        states = dict(
            db.execute(
                "SELECT registration_state, count(*) FROM studies_study GROUP BY 1"
            ).fetchall()
        )
    assert set(states) == {"draft", "submitted", "returned", "published"}
    assert states["published"] >= 18


def test_demo_without_sample_data_generates_studies(tmp_path):
    result = _run(tmp_path, "demo", "--no-serve", TRIALNODE_SAMPLE_DATA=str(tmp_path / "none"))
    assert result.returncode == 0, result.stderr
    assert "generated studies instead" in result.stdout
    with sqlite3.connect(tmp_path / "trialnode.sqlite3") as db:
        (count,) = db.execute("SELECT count(*) FROM studies_study").fetchone()
    assert count > 100


def test_demo_starts_fresh_each_time(tmp_path):
    variables = {"TRIALNODE_SAMPLE_DATA": str(tmp_path / "none")}

    def rows() -> tuple[int, int]:
        with sqlite3.connect(tmp_path / "trialnode.sqlite3") as db:
            (users,) = db.execute("SELECT count(*) FROM organisations_user").fetchone()
            (studies,) = db.execute("SELECT count(*) FROM studies_study").fetchone()
        return users, studies

    assert _run(tmp_path, "demo", "--no-serve", **variables).returncode == 0
    first = rows()
    assert _run(tmp_path, "demo", "--no-serve", **variables).returncode == 0
    assert rows() == first


def test_import_ctgov_reports_rejected_records_and_exits_1(tmp_path, sample_data):
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"protocolSection": {}}\nnot json\n')
    variables = {"TRIALNODE_SAMPLE_DATA": str(tmp_path / "none")}
    assert _run(tmp_path, "manage", "migrate", "-v", "0", **variables).returncode == 0
    assert _run(tmp_path, "manage", "load_reference_data", **variables).returncode == 0
    good = _run(
        tmp_path, "import", "ctgov", str(sample_data / "ctgov" / "sweden.json"), **variables
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "18 new" in good.stdout
    result = _run(tmp_path, "import", "ctgov", str(bad), **variables)
    assert result.returncode == 1
    # The reasons are in the site's language (Swedish unless configured otherwise), as the
    # rejections a web upload keeps.
    assert "bad.ndjson rad 2: inte JSON" in result.stdout and "rejected" in result.stdout
