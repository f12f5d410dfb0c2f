"""Hostile registry files: each is read with flat memory, its bad records rejected with a
reason, and the good records around them read as usual.

Each file is read in a process of its own, whose peak resident memory is measured (the
command line and the background worker read files the same way, through
``iter_path_records`` and the CTIS CSV reader)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.interop import in_sweden

PEAK_LIMIT_MB = 200
RECORD = in_sweden(
    {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT01234567", "briefTitle": "A good record"},
            "statusModule": {"overallStatus": "RECRUITING"},
        }
    }
)
GOOD = json.dumps(RECORD).encode()

READER = """
import json, resource, sys
from pathlib import Path
import django
django.setup()
from django.utils import translation
translation.activate("en")  # the reasons as the rest of the suite reads them
from trialnode.interop import ctis
from trialnode.interop.files import iter_path_records
from trialnode.interop.upsert import Unreadable

path = Path(sys.argv[1])
if path.suffix == ".csv":
    with path.open("rb") as stream:
        records = list(ctis.iter_csv_records(stream, path.name))
else:
    records = list(iter_path_records(path))
def peak_mb():
    # VmHWM is this process's own peak; ru_maxrss may carry the parent's peak over a fork.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

print(json.dumps({
    "peak_mb": peak_mb(),
    "good": sum(1 for r in records if not isinstance(r, Unreadable)),
    "rejected": [r["error"] for r in records if isinstance(r, Unreadable)],
}))
"""


def _read_in_own_process(path: Path) -> dict:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", READER, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _write(path: Path, *parts: bytes) -> Path:
    with path.open("wb") as out:
        for part in parts:
            out.write(part)
    return path


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _files(folder: Path) -> dict[str, tuple[Path, int, str]]:
    """name → (file, good records expected, a word of the expected rejection)."""
    zipped = folder / "whitespace-bomb.zip"
    with (
        zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("study.json", "w") as member,
    ):
        for _ in range(300):
            member.write(b" " * (1 << 20))
        member.write(b"[" + GOOD + b"]")
    csv_header = b"Trial number,Title of the trial,Overall trial status\n"
    good_row = b"2024-512345-11-00,A trial,Ongoing recruiting\n"
    return {
        "nested arrays in an array": (
            _write(folder / "deep.json", b"[", GOOD, b",", _deep(200_000), b",", GOOD, b"]"),
            2,
            "deeply",
        ),
        "one object nested deeply": (
            _write(folder / "deep-object.json", b'{"a": ', _deep(200_000), b"}"),
            0,
            "JSON",
        ),
        "nested arrays in NDJSON": (
            _write(folder / "deep.ndjson", GOOD, b"\n", _deep(200_000), b"\n", GOOD, b"\n"),
            2,
            "not JSON",
        ),
        "a number of a million digits": (
            _write(
                folder / "number.json", b"[", GOOD, b',{"n": ', b"9" * 1_000_000, b"},", GOOD, b"]"
            ),
            2,
            "digits",
        ),
        "thirty megabytes of leading whitespace": (
            _write(folder / "space.json", b" " * (30 << 20), b"[", GOOD, b"]"),
            1,
            "",
        ),
        "an NDJSON line of forty megabytes": (
            _write(
                folder / "long.ndjson", GOOD, b"\n", b'{"x": "', b"a" * (40 << 20), b'"}\n', GOOD
            ),
            2,
            "longer than any",
        ),
        "an array element of forty megabytes": (
            _write(folder / "big.json", b'[{"x": "', b"a" * (40 << 20), b'"},', GOOD, b"]"),
            1,
            "larger than any",
        ),
        "an array element of twenty million escapes": (
            _write(folder / "escapes.json", b'[{"x": "', b'\\"' * (20 << 20), b'"},', GOOD, b"]"),
            1,
            "larger than any",
        ),
        "three hundred megabytes of whitespace in a zip": (zipped, 1, ""),
        "a CSV row of thirty megabytes": (
            _write(folder / "ctis.csv", csv_header, b"x" * (30 << 20), b"\n", good_row),
            1,
            "longer than a megabyte",
        ),
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize(
    "name",
    [
        "nested arrays in an array",
        "one object nested deeply",
        "nested arrays in NDJSON",
        "a number of a million digits",
        "thirty megabytes of leading whitespace",
        "an NDJSON line of forty megabytes",
        "an array element of forty megabytes",
        "an array element of twenty million escapes",
        "three hundred megabytes of whitespace in a zip",
        "a CSV row of thirty megabytes",
    ],
)
def test_a_hostile_file_is_read_with_flat_memory_and_a_reason(hostile, name):
    path, good, reason = hostile[name]
    outcome = _read_in_own_process(path)
    assert outcome["peak_mb"] < PEAK_LIMIT_MB, outcome
    assert outcome["good"] == good, outcome
    if reason:
        assert len(outcome["rejected"]) == 1 and reason in outcome["rejected"][0], outcome
    else:
        assert outcome["rejected"] == [], outcome


def test_malformed_records_are_rejected_with_their_reason_and_the_others_import(
    reference_data, tmp_path
):
    from trialnode.interop.files import import_ctgov_paths
    from trialnode.studies.models import Study

    def record(nct: str, **changes) -> dict:
        study = json.loads(GOOD)
        study["protocolSection"]["identificationModule"]["nctId"] = nct
        for path, value in changes.items():
            module, key = path.split(".")
            study["protocolSection"].setdefault(module, {})[key] = value
        return study

    records = [
        record("NCT00000001"),
        record("NCT00000002", **{"contactsLocationsModule.locations": "Uppsala"}),
        record("NCT00000003", **{"identificationModule.briefTitle": "Titel\x00 med NUL"}),
        record("NCT00000004", **{"identificationModule.briefTitle": "x" * 700}),
        record("NCT00000005", **{"conditionsModule.conditions": ["Astma", {"a": 1}]}),
        record("NCT00000006", **{"conditionsModule.conditions": [None, 12]}),
        record("NCT00000007"),
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(records))
    summary = import_ctgov_paths([path])
    reasons = dict(summary.rejected)
    assert set(Study.objects.values_list("nct_id", flat=True)) == {
        "NCT00000001",
        "NCT00000003",
        "NCT00000007",
    }
    assert Study.objects.get(nct_id="NCT00000003").title_en == "Titel med NUL"
    assert reasons["NCT00000002"] == "locations must be a list, not text"
    assert reasons["NCT00000004"] == "briefTitle is 700 characters long; at most 600 fit"
    assert reasons["NCT00000005"] == "conditions must be text, not an object"
    assert reasons["NCT00000006"] == "conditions must be text, not a number"
